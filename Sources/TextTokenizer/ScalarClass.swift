/// The only distinctions the Qwen2 pre-tokenizer regex draws between characters. Stored as raw
/// bytes so a whole text can be classified into a compact array before scanning.
enum ScalarClass {
    /// Anything that is not a letter, number or whitespace: punctuation, symbols, emoji, marks.
    static let other: UInt8 = 0
    /// `\p{L}`: general categories Lu, Ll, Lt, Lm, Lo.
    static let letter: UInt8 = 1
    /// `\p{N}`: general categories Nd, Nl, No.
    static let number: UInt8 = 2
    /// `\s` other than CR and LF.
    static let space: UInt8 = 3
    /// `[\r\n]`, which is also `\s`.
    static let lineBreak: UInt8 = 4

    static func isWhitespace(_ value: UInt8) -> Bool { value >= space }

    /// Classes for U+0000...U+FFFF, computed once: a table lookup is several times faster than
    /// asking the standard library for a general category, and almost all text is in the BMP.
    private static let basicPlane: [UInt8] = {
        var table = [UInt8](repeating: other, count: 0x10000)
        for value in 0..<0x10000 {
            guard let scalar = Unicode.Scalar(UInt32(value)) else { continue }  // surrogates
            table[value] = computeClass(scalar)
        }
        return table
    }()

    @inline(__always)
    static func of(_ value: UInt32) -> UInt8 {
        if value < 0x10000 { return basicPlane[Int(value)] }
        guard let scalar = Unicode.Scalar(value) else { return other }
        return computeClass(scalar)
    }

    private static func computeClass(_ scalar: Unicode.Scalar) -> UInt8 {
        if scalar == "\r" || scalar == "\n" { return lineBreak }
        if isRegexWhitespace(scalar.value) { return space }
        // Characters newer than the regex engine's tables are unassigned to it.
        if UnicodeVersionCutoff.isNewer(scalar, than: UnicodeVersionCutoff.preTokenizer) { return other }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return number
        default:
            return other
        }
    }

    /// Unicode's White_Space property, which is what the regex engines behind Hugging Face
    /// mean by `\s`. Spelled out because the set is tiny and has been stable since Unicode 6.3.
    static func isRegexWhitespace(_ value: UInt32) -> Bool {
        switch value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }
}
