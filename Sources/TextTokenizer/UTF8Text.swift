/// Character-level helpers on valid UTF-8 buffers, which the hot paths scan as bytes.
enum UTF8Text {
    /// The scalar value and encoded length at `offset`. The input comes from a Swift String,
    /// so it is valid UTF-8; the bounds check only keeps a truncated sequence from reading
    /// past the end.
    @inline(__always)
    static func decodeScalar(at offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (value: UInt32, length: Int) {
        let lead = bytes[offset]
        if lead < 0x80 { return (UInt32(lead), 1) }
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
        var value = UInt32(lead) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
        var consumed = 1
        while consumed < length, offset + consumed < bytes.count {
            value = (value << 6) | (UInt32(bytes[offset + consumed]) & 0x3F)
            consumed += 1
        }
        return (value, consumed)
    }

    /// The scalar whose encoding starts at `offset`.
    static func scalar(startingAt offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Unicode.Scalar? {
        var iterator = bytes[offset...].makeIterator()
        var decoder = Unicode.UTF8()
        if case .scalarValue(let scalar) = decoder.decode(&iterator) { return scalar }
        return nil
    }

    /// The scalar whose encoding ends just before `offset`.
    static func scalar(endingAt offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Unicode.Scalar? {
        var start = offset - 1
        while start > 0, bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard start >= 0 else { return nil }
        return scalar(startingAt: start, in: bytes)
    }

    /// Rust `regex`'s Unicode `\w`, which Hugging Face uses to decide whether a single_word
    /// token is glued to a word: Alphabetic, marks, decimal digits, connector punctuation and
    /// the joiners U+200C / U+200D.
    static func isWordCharacter(_ scalar: Unicode.Scalar?) -> Bool {
        guard let scalar else { return false }
        if scalar.properties.isAlphabetic || scalar.properties.isJoinControl { return true }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// Start of the whitespace run that ends at `offset` (`offset` itself if there is none).
    static func whitespaceRunStart(endingAt offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var start = offset
        while start > 0, let scalar = scalar(endingAt: start, in: bytes), scalar.properties.isWhitespace {
            start -= UTF8.width(scalar)
        }
        return start
    }

    /// End of the whitespace run that starts at `offset` (`offset` itself if there is none).
    static func whitespaceRunEnd(startingAt offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var end = offset
        while end < bytes.count, let scalar = scalar(startingAt: end, in: bytes), scalar.properties.isWhitespace {
            end += UTF8.width(scalar)
        }
        return end
    }
}
