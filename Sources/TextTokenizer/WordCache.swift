import Foundation

/// Remembers the BPE result of recently seen words. Natural text repeats its words constantly,
/// so most pre-tokens skip merging altogether. Shared by concurrent `encode` calls, hence the
/// lock; bounded, so feeding a long-lived tokenizer endless novel text cannot grow memory.
final class WordCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [[UInt8]: [Int32]] = [:]
    private let capacity: Int

    /// Words longer than this are rare and not worth their memory.
    static let maximumWordLength = 256

    init(capacity: Int) {
        self.capacity = capacity
    }

    func value(for word: [UInt8]) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return entries[word]
    }

    func store(_ ids: [Int32], for word: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        // Starting over is simpler than LRU bookkeeping and keeps hot words cheap to re-learn.
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[word] = ids
    }
}
