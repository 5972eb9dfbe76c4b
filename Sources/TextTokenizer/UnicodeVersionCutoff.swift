/// Hugging Face's pipeline is built on older Unicode data than Swift's standard library, and a
/// character unknown to an older table behaves as an unassigned one: no combining class, no
/// decomposition, not a letter. Measured against tokenizers 0.21.4 over every code point:
/// its NFC normalizer knows Unicode 9.0 (marks from 10.0 on are not reordered) and its
/// pre-tokenizer regex knows Unicode 16.0 (letters from 17.0 on are "other").
enum UnicodeVersionCutoff {
    static let normalizer = (major: 9, minor: 0)
    static let preTokenizer = (major: 16, minor: 0)

    /// Whether `scalar` was assigned after `version` (unassigned scalars are not).
    static func isNewer(_ scalar: Unicode.Scalar, than version: (major: Int, minor: Int)) -> Bool {
        guard let age = scalar.properties.age else { return false }
        return (age.major, age.minor) > version
    }

    /// `isNewer(_, than: normalizer)` for U+0000...U+FFFF, computed once because the
    /// normalizer asks for every character of the text.
    private static let newerThanNormalizerInBasicPlane: [Bool] = (0..<0x10000).map { value in
        guard let scalar = Unicode.Scalar(UInt32(value)) else { return false }
        return isNewer(scalar, than: normalizer)
    }

    static func isUnknownToNormalizer(_ value: UInt32) -> Bool {
        // Everything below U+0300 dates from Unicode 1.1 to 5.0.
        if value < 0x300 { return false }
        if value < 0x10000 { return newerThanNormalizerInBasicPlane[Int(value)] }
        guard let scalar = Unicode.Scalar(value) else { return false }
        return isNewer(scalar, than: normalizer)
    }
}
