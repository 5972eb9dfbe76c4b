/// A piece of input after added tokens have been cut out: either an added token's id or a run of
/// ordinary text (a byte range of the scanned buffer) still to be pre-tokenized.
enum TextSegment: Equatable {
    case addedToken(id: Int)
    case text(Range<Int>)
}

/// Finds added tokens in UTF-8 text the way Hugging Face's `AddedVocabulary::find_matches`
/// does: non-overlapping, leftmost-longest matches (its Aho-Corasick automaton's semantics),
/// then the single_word / lstrip / rstrip adjustments. Added tokens are few and nearly all
/// start with `<`, so bucketing candidates by first byte makes a plain scan fast.
struct AddedTokenSplitter: Sendable {
    private struct Pattern: Sendable {
        let bytes: [UInt8]
        let token: AddedToken
    }

    /// Candidates by first byte, longest first so the first hit is the longest match.
    private let buckets: [[Pattern]]
    private let firstBytes: [Bool]
    let isEmpty: Bool

    /// `contentFor` gives the string to match for a token (its content, normalized or not).
    init(tokens: [AddedToken], contentFor: (AddedToken) -> String) {
        var buckets = [[Pattern]](repeating: [], count: 256)
        var firstBytes = [Bool](repeating: false, count: 256)
        for token in tokens {
            let bytes = Array(contentFor(token).utf8)
            guard let first = bytes.first else { continue }
            // Two entries with equal content: Hugging Face keeps one; the first listed here.
            guard !buckets[Int(first)].contains(where: { $0.bytes == bytes }) else { continue }
            buckets[Int(first)].append(Pattern(bytes: bytes, token: token))
            firstBytes[Int(first)] = true
        }
        for index in buckets.indices {
            buckets[index].sort { $0.bytes.count > $1.bytes.count }
        }
        self.buckets = buckets
        self.firstBytes = firstBytes
        isEmpty = !firstBytes.contains(true)
    }

    /// Splits `bytes` (valid UTF-8) into added tokens and the text between them.
    func split(_ bytes: UnsafeBufferPointer<UInt8>) -> [TextSegment] {
        var segments: [TextSegment] = []
        var textStart = 0
        var position = 0
        while position < bytes.count {
            guard firstBytes[Int(bytes[position])], let pattern = longestMatch(in: bytes, at: position) else {
                position += 1
                continue
            }
            var start = position
            var stop = position + pattern.bytes.count
            // Whatever happens to this match, scanning resumes after it, as Aho-Corasick's
            // non-overlapping iteration does even when the match is then discarded.
            position = stop
            let token = pattern.token

            if token.singleWord {
                let gluedBefore = start > 0 && UTF8Text.isWordCharacter(UTF8Text.scalar(endingAt: start, in: bytes))
                let gluedAfter =
                    stop < bytes.count && UTF8Text.isWordCharacter(UTF8Text.scalar(startingAt: stop, in: bytes))
                if gluedBefore || gluedAfter { continue }
            }
            if token.leftStrip {
                // Spaces already consumed by the previous match's rstrip are not taken twice.
                start = max(UTF8Text.whitespaceRunStart(endingAt: start, in: bytes), textStart)
            }
            if token.rightStrip {
                // Scanning still resumes at the unstripped end, as in Hugging Face.
                stop = UTF8Text.whitespaceRunEnd(startingAt: stop, in: bytes)
            }
            if textStart < start { segments.append(.text(textStart..<start)) }
            segments.append(.addedToken(id: token.id))
            textStart = stop
        }
        if textStart < bytes.count { segments.append(.text(textStart..<bytes.count)) }
        return segments
    }

    private func longestMatch(in bytes: UnsafeBufferPointer<UInt8>, at position: Int) -> Pattern? {
        let remaining = bytes.count - position
        for pattern in buckets[Int(bytes[position])] where pattern.bytes.count <= remaining {
            var matches = true
            for offset in 1..<pattern.bytes.count where bytes[position + offset] != pattern.bytes[offset] {
                matches = false
                break
            }
            if matches { return pattern }
        }
        return nil
    }
}
