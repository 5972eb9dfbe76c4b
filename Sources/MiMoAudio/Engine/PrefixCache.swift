import Foundation

/// KV prefixes of earlier requests, so a request whose token grid starts with an earlier one's
/// (a chat resent whole each turn, a fixed system prompt, the same voice prompt) prefills only
/// what is new. Bounded by bytes of keys and values, least recently used evicted first.
final class PrefixCache: @unchecked Sendable {
    private struct Entry {
        var state: LMState
        var lastUse: UInt64
    }

    let capacity: Int
    private let groupSize: Int
    private var entries: [Entry] = []
    private var clock: UInt64 = 0
    private var storedBytes = 0
    private let lock = NSLock()

    init(capacityBytes: Int, groupSize: Int) {
        capacity = capacityBytes
        self.groupSize = groupSize
    }

    var count: Int { locked { entries.count } }
    var bytes: Int { locked { storedBytes } }

    private func locked<R>(_ body: () -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// A copy of the longest cached prefix of `prompt` (nil when nothing matches); the entry
    /// stays cached, and counts as used.
    func longestPrefix(of prompt: TokenGrid) -> LMState? { locked { find(prompt) } }

    private func find(_ prompt: TokenGrid) -> LMState? {
        let groups = prompt.groups(size: groupSize)
        var best: (index: Int, groups: Int)?
        for (i, entry) in entries.enumerated() {
            let n = commonPrefix(
                entry.state.grid, prompt, groups: min(entry.state.groups, groups), groupSize: groupSize)
            if n > 0 && n > (best?.groups ?? 0) { best = (i, n) }
        }
        guard let best else { return nil }
        clock += 1
        entries[best.index].lastUse = clock
        return entries[best.index].state.prefix(best.groups, groupSize: groupSize)
    }

    /// Keeps `state`, replacing entries it extends, then evicts the least recently used until
    /// the cache fits. A state larger than the whole cache is not kept.
    func insert(_ state: LMState) { locked { store(state) } }

    private func store(_ state: LMState) {
        guard state.groups > 0, state.bytes <= capacity else { return }
        entries.removeAll { entry in
            let n = entry.state.groups
            let covered =
                n <= state.groups
                && commonPrefix(entry.state.grid, state.grid, groups: n, groupSize: groupSize) == n
            if covered { storedBytes -= entry.state.bytes }
            return covered
        }
        clock += 1
        entries.append(Entry(state: state, lastUse: clock))
        storedBytes += state.bytes
        while storedBytes > capacity,
            let oldest = entries.indices.min(by: { entries[$0].lastUse < entries[$1].lastUse })
        {
            storedBytes -= entries[oldest].state.bytes
            entries.remove(at: oldest)
        }
    }
}
