/// UTF-8 decoding that replaces each maximal invalid subpart with one U+FFFD, the Unicode
/// "best practice" followed by Python's `bytes.decode('utf-8', errors='replace')` and Rust's
/// `String::from_utf8_lossy`, which is what Hugging Face's ByteLevel decoder calls. Spelled out
/// here rather than trusting the standard library's repair so the count of U+FFFD is pinned
/// down, and so the same rules can tell a streaming decoder which tail is still incomplete.
enum LossyUTF8 {
    private static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// How one well-formed sequence may start (Unicode Table 3-7): its total length and the
    /// allowed range of its second byte; later bytes are always 80...BF.
    private static func shape(of lead: UInt8) -> (length: Int, second: ClosedRange<UInt8>)? {
        switch lead {
        case 0xC2...0xDF: return (2, 0x80...0xBF)
        case 0xE0: return (3, 0xA0...0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: return (3, 0x80...0xBF)
        case 0xED: return (3, 0x80...0x9F)  // excludes surrogates
        case 0xF0: return (4, 0x90...0xBF)  // excludes overlongs
        case 0xF1...0xF3: return (4, 0x80...0xBF)
        case 0xF4: return (4, 0x80...0x8F)  // stops at U+10FFFF
        default: return nil
        }
    }

    private enum Step {
        /// A well-formed character or a lone ASCII byte of this many bytes.
        case valid(Int)
        /// An invalid subpart of this many bytes, to become one U+FFFD.
        case invalid(Int)
        /// A well-formed-so-far prefix cut off by the end of the buffer.
        case incomplete
    }

    private static func step<Bytes: RandomAccessCollection>(_ bytes: Bytes, at start: Bytes.Index) -> Step
    where Bytes.Element == UInt8, Bytes.Index == Int {
        let lead = bytes[start]
        if lead < 0x80 { return .valid(1) }
        guard let shape = shape(of: lead) else { return .invalid(1) }
        for offset in 1..<shape.length {
            let index = start + offset
            guard index < bytes.endIndex else { return .incomplete }
            let allowed: ClosedRange<UInt8> = offset == 1 ? shape.second : 0x80...0xBF
            guard allowed.contains(bytes[index]) else { return .invalid(offset) }
        }
        return .valid(shape.length)
    }

    /// Decodes `bytes`; an incomplete sequence at the end becomes one U+FFFD.
    static func decode<Bytes: RandomAccessCollection>(_ bytes: Bytes) -> String
    where Bytes.Element == UInt8, Bytes.Index == Int {
        var repaired: [UInt8] = []
        repaired.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            switch step(bytes, at: index) {
            case .valid(let length):
                repaired.append(contentsOf: bytes[index..<(index + length)])
                index += length
            case .invalid(let length):
                repaired.append(contentsOf: replacement)
                index += length
            case .incomplete:
                repaired.append(contentsOf: replacement)
                index = bytes.endIndex
            }
        }
        return String(decoding: repaired, as: UTF8.self)
    }

    /// Where the trailing incomplete sequence of `bytes` starts (`endIndex` if there is none):
    /// everything before it decodes the same whatever bytes follow.
    static func completePrefixEnd<Bytes: RandomAccessCollection>(_ bytes: Bytes) -> Int
    where Bytes.Element == UInt8, Bytes.Index == Int {
        // Decoding never swallows a non-continuation byte into an earlier sequence, so every
        // such byte starts a step, and only the last one can start an unfinished step. It must
        // lie within the last 3 bytes, as no sequence is longer than 4.
        var start = bytes.endIndex - 1
        while start >= bytes.startIndex, start >= bytes.endIndex - 3 {
            if !(0x80...0xBF).contains(bytes[start]) {
                if case .incomplete = step(bytes, at: start) { return start }
                return bytes.endIndex
            }
            start -= 1
        }
        return bytes.endIndex
    }
}
