/// Splits text the way Hugging Face's `Split(Regex, Isolated)` does with the Qwen2 pattern
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// without a regex engine. Every character is covered by some alternative, so matches tile the
/// text; at each position the alternatives are tried in order and the first that matches wins
/// (leftmost-first, as in Oniguruma, which `tokenizers` uses for Split, and Rust's `regex`),
/// with greedy quantifiers backtracking as a backtracking engine would. Each alternative below
/// is reduced to what that backtracking yields on character classes.
struct Qwen2PreTokenizer {
    /// Appends the byte ranges of the pieces of `bytes` (valid UTF-8) to `pieces`.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, into pieces: inout [Range<Int>]) {
        guard !bytes.isEmpty else { return }
        let text = ClassifiedText(bytes)
        let count = text.classes.count
        text.classes.withUnsafeBufferPointer { classes in
            text.offsets.withUnsafeBufferPointer { offsets in
                let scanner = Scanner(bytes: bytes, classes: classes, offsets: offsets)
                var position = 0
                while position < count {
                    let end = scanner.matchEnd(at: position)
                    pieces.append(offsets[position]..<offsets[end])
                    position = end
                }
            }
        }
    }
}

/// UTF-8 text decoded once into per-character classes and byte offsets, so the scanner can look
/// ahead and back cheaply.
private struct ClassifiedText {
    var classes: [UInt8] = []
    /// `offsets[i]` is where character `i` starts; one extra entry holds the total length.
    var offsets: [Int] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        classes.reserveCapacity(bytes.count)
        offsets.reserveCapacity(bytes.count + 1)
        var index = 0
        while index < bytes.count {
            offsets.append(index)
            let (value, length) = UTF8Text.decodeScalar(at: index, in: bytes)
            classes.append(ScalarClass.of(value))
            index += length
        }
        offsets.append(bytes.count)
    }
}

private struct Scanner {
    let bytes: UnsafeBufferPointer<UInt8>
    let classes: UnsafeBufferPointer<UInt8>
    let offsets: UnsafeBufferPointer<Int>

    private var count: Int { classes.count }

    /// End (exclusive, in characters) of the match starting at `start`; always > `start`.
    func matchEnd(at start: Int) -> Int {
        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if let end = contractionEnd(at: start) { return end }

        let kind = classes[start]
        // [^\r\n\p{L}\p{N}]?\p{L}+ : the optional prefix is tried first, so a non-letter,
        // non-digit, non-line-break character glues onto a following run of letters.
        if kind == ScalarClass.letter { return letterRunEnd(from: start) }
        if kind == ScalarClass.other || kind == ScalarClass.space,
            start + 1 < count, classes[start + 1] == ScalarClass.letter
        {
            return letterRunEnd(from: start + 1)
        }
        // \p{N} : one digit-like character at a time.
        if kind == ScalarClass.number { return start + 1 }
        // " ?[^\s\p{L}\p{N}]+[\r\n]*" : an optional ASCII space, a run of symbols, trailing
        // line breaks.
        var symbolsStart = start
        if bytes[offsets[start]] == 0x20, start + 1 < count, classes[start + 1] == ScalarClass.other {
            symbolsStart = start + 1
        }
        if classes[symbolsStart] == ScalarClass.other {
            var end = symbolsStart + 1
            while end < count, classes[end] == ScalarClass.other { end += 1 }
            while end < count, classes[end] == ScalarClass.lineBreak { end += 1 }
            return end
        }

        // Only whitespace can start here.
        var runEnd = start + 1
        while runEnd < count, ScalarClass.isWhitespace(classes[runEnd]) { runEnd += 1 }
        // \s*[\r\n]+ : \s* backs off until [\r\n]+ can match, so the match ends just after the
        // last line break of the whitespace run.
        var lastBreak = runEnd - 1
        while lastBreak >= start, classes[lastBreak] != ScalarClass.lineBreak { lastBreak -= 1 }
        if lastBreak >= start { return lastBreak + 1 }
        // \s+(?!\S) : the whole run at the end of the text, otherwise the run minus its last
        // character (which is left to precede the next word), if that leaves anything.
        if runEnd == count { return runEnd }
        if runEnd - 1 > start { return runEnd - 1 }
        // \s+ : a single whitespace character before a non-space.
        return runEnd
    }

    private func letterRunEnd(from start: Int) -> Int {
        var end = start + 1
        while end < count, classes[end] == ScalarClass.letter { end += 1 }
        return end
    }

    /// Matches an ASCII apostrophe followed case-insensitively by s, t, re, ve, m, ll or d.
    /// Case folding is Unicode's: `s` also matches U+017F LONG S (confirmed against
    /// `tokenizers`); no other character folds onto these letters.
    private func contractionEnd(at start: Int) -> Int? {
        guard bytes[offsets[start]] == 0x27, start + 1 < count else { return nil }
        let first = folded(start + 1)
        switch first {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
            return start + 2
        case UInt8(ascii: "r"), UInt8(ascii: "v"):
            return start + 2 < count && folded(start + 2) == UInt8(ascii: "e") ? start + 3 : nil
        case UInt8(ascii: "l"):
            return start + 2 < count && folded(start + 2) == UInt8(ascii: "l") ? start + 3 : nil
        default:
            return nil
        }
    }

    /// The lowercase ASCII letter character `index` folds to, or 0.
    private func folded(_ index: Int) -> UInt8 {
        let offset = offsets[index]
        let byte = bytes[offset]
        // Setting bit 5 lowercases an ASCII letter, and the only bytes it maps onto a
        // lowercase letter are that letter's two cases.
        if byte < 0x80 { return byte | 0x20 }
        // U+017F LONG S is C5 BF in UTF-8.
        if byte == 0xC5, offset + 1 < bytes.count, bytes[offset + 1] == 0xBF { return UInt8(ascii: "s") }
        return 0
    }
}
