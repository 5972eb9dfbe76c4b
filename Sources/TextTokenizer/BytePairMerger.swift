/// Byte-pair encoding of one pre-tokenized word, on token ids rather than strings.
///
/// Reproduces Hugging Face's `Word::merge_all`: the symbols start as one token per byte and the
/// adjacent pair with the lowest merge rank is merged first, the leftmost pair winning ties,
/// until no adjacent pair has a merge. A min-heap keeps long words (a whole Chinese sentence is
/// one pre-token) at O(n log n).
struct BytePairMerger: Sendable {
    /// `byteTokenIDs[b]` is the id of the single-byte token for byte `b`, or -1 if the
    /// vocabulary lacks it.
    let byteTokenIDs: [Int32]
    /// (left id << 32 | right id) → (rank << 32 | merged id).
    let merges: [UInt64: UInt64]
    /// Replaces bytes without a token (Hugging Face drops them when there is no unk token).
    let unknownID: Int32?
    /// Collapses consecutive unknown bytes into one unk token.
    let fusesUnknown: Bool

    @inline(__always)
    static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    private func merge(_ left: Int32, _ right: Int32) -> (rank: UInt32, id: Int32)? {
        guard let packed = merges[Self.pairKey(left, right)] else { return nil }
        return (UInt32(truncatingIfNeeded: packed >> 32), Int32(truncatingIfNeeded: packed & 0xFFFF_FFFF))
    }

    /// The initial symbols: one token per byte, with unknown bytes handled like Hugging Face.
    private func initialSymbols(_ bytes: UnsafeBufferPointer<UInt8>) -> [Int32] {
        var symbols: [Int32] = []
        symbols.reserveCapacity(bytes.count)
        var previousWasUnknown = false
        for byte in bytes {
            let id = byteTokenIDs[Int(byte)]
            if id >= 0 {
                symbols.append(id)
                previousWasUnknown = false
            } else if let unknownID {
                if !(fusesUnknown && previousWasUnknown) { symbols.append(unknownID) }
                previousWasUnknown = true
            }
        }
        return symbols
    }

    /// The token ids of one word.
    func encode(_ bytes: UnsafeBufferPointer<UInt8>) -> [Int32] {
        var ids = initialSymbols(bytes)
        let count = ids.count
        guard count > 1 else { return ids }

        // A doubly linked list over the symbol slots; a merged-away slot gets id -1. Heap
        // entries are (rank << 32 | left slot), so the smallest entry is the lowest rank and,
        // among equal ranks, the leftmost pair.
        var previous = [Int](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = index - 1 }
            initialized = count
        }
        var next = [Int](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = index + 1 }
            initialized = count
        }
        var queue = MinHeap()
        for slot in 0..<(count - 1) {
            if let found = merge(ids[slot], ids[slot + 1]) {
                queue.push(UInt64(found.rank) << 32 | UInt64(slot))
            }
        }

        while let entry = queue.pop() {
            let slot = Int(entry & 0xFFFF_FFFF)
            let rank = UInt32(entry >> 32)
            let right = next[slot]
            // Skip entries made stale by an earlier merge: the slot was merged away, is now
            // last, or now forms a different pair.
            guard ids[slot] >= 0, right < count,
                let found = merge(ids[slot], ids[right]), found.rank == rank
            else { continue }

            ids[slot] = found.id
            ids[right] = -1
            let afterRight = next[right]
            next[slot] = afterRight
            if afterRight < count { previous[afterRight] = slot }

            let before = previous[slot]
            if before >= 0, let left = merge(ids[before], found.id) {
                queue.push(UInt64(left.rank) << 32 | UInt64(before))
            }
            if afterRight < count, let following = merge(found.id, ids[afterRight]) {
                queue.push(UInt64(following.rank) << 32 | UInt64(slot))
            }
        }
        ids.removeAll { $0 < 0 }
        return ids
    }
}

/// A binary min-heap of packed (rank, position) keys.
private struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ item: UInt64) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < items.count else { break }
            let right = left + 1
            let smaller = right < items.count && items[right] < items[left] ? right : left
            guard items[smaller] < items[parent] else { break }
            items.swapAt(parent, smaller)
            parent = smaller
        }
        return top
    }
}
