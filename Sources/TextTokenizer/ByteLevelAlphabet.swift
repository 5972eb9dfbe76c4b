/// GPT-2's reversible byte-to-character table. Byte-level BPE vocabularies store every token as
/// a string of these stand-in characters so that no token contains whitespace or control
/// characters: printable Latin-1 bytes stand for themselves, the other 68 bytes are shifted to
/// U+0100...U+0143 in byte order.
enum ByteLevelAlphabet {
    /// `scalarForByte[b]` is the stand-in character for byte `b`.
    static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var nextShifted: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                // Safe: nextShifted stays within U+0100...U+0143.
                table[byte] = Unicode.Scalar(nextShifted) ?? "\0"
                nextShifted += 1
            }
        }
        return table
    }()

    /// `byteForScalar[c]` is the byte stand-in character `c` represents, or -1; the table
    /// covers U+0000...U+0143, beyond which no stand-in exists.
    private static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (byte, scalar) in scalarForByte.enumerated() {
            table[Int(scalar.value)] = Int16(byte)
        }
        return table
    }()

    /// The byte a stand-in character represents, or nil for characters outside the table.
    static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let value = Int(scalar.value)
        guard value < byteForScalar.count else { return nil }
        let byte = byteForScalar[value]
        return byte >= 0 ? UInt8(byte) : nil
    }

    /// The stand-in string for raw bytes, i.e. what the ByteLevel pre-tokenizer produces.
    static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(scalarForByte[Int(byte)]) }
        return String(scalars)
    }

    /// The bytes a token string stands for, following the Hugging Face ByteLevel decoder: if
    /// any character is outside the table the token's own UTF-8 is used instead.
    static func decode(_ token: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let byte = byte(for: scalar) else { return Array(token.utf8) }
            bytes.append(byte)
        }
        return bytes
    }
}
