// The standard library's own NFC (the one behind String comparison) is exposed only as SPI.
// It is used instead of Foundation's `precomposedStringWithCanonicalMapping` because the
// latter is wrong on Linux (swift-foundation in Swift 6.3): it does not compose a Hangul LV
// syllable with a trailing jamo (U+C5B4 U+11A8 stays, instead of U+C5B5) and it truncates
// supplementary characters to 16 bits when composing (U+E0041 U+0308 becomes U+00C4).
// Both differences change token ids; the differential goldens cover them.
@_spi(_Unicode) import Swift

/// The NFC normalizer step, with a shortcut for text that NFC cannot change.
enum NFCNormalizer {
    /// Whether NFC might change `bytes` (valid UTF-8). Every character below U+0300 is its own
    /// NFC form and never composes with a neighbour (the first combining mark is U+0300), and a
    /// UTF-8 byte below 0xCC is either such a character or a continuation byte, so text made
    /// only of those bytes, which includes all ASCII, can skip normalization.
    static func mayChange(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.contains { $0 >= 0xCC }
    }

    static func normalize(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        String(decoding: bytes, as: UTF8.self)._nfcCodeUnits
    }

    static func normalize(_ text: String) -> String {
        String(decoding: text._nfcCodeUnits, as: UTF8.self)
    }
}
