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

    /// NFC as Hugging Face computes it: characters newer than its Unicode tables are left
    /// alone and, being starters that compose with nothing, cut the text into runs that are
    /// normalized independently.
    static func normalize(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + bytes.count / 8)
        var run: [UInt8] = []
        run.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let (value, length) = UTF8Text.decodeScalar(at: index, in: bytes)
            if UnicodeVersionCutoff.isUnknownToNormalizer(value) {
                appendStandardNFC(run, to: &output)
                run.removeAll(keepingCapacity: true)
                output.append(contentsOf: bytes[index..<(index + length)])
            } else if (0x0F73...0x0F81).contains(value), let marks = tibetanVowelDecompositions[value] {
                run.append(contentsOf: marks)
            } else {
                run.append(contentsOf: bytes[index..<(index + length)])
            }
            index += length
        }
        appendStandardNFC(run, to: &output)
        return output
    }

    /// The only characters whose combining class is 0 but whose canonical decomposition
    /// starts with a combining mark. The standard library's normalizer treats them as
    /// starters and so fails to reorder the marks they decompose into with the marks before
    /// them (U+0306 U+0F73 must become U+0F71 U+0F72 U+0306). Decomposing them up front fixes
    /// that; NFC never recomposes them, as they are composition exclusions.
    private static let tibetanVowelDecompositions: [UInt32: [UInt8]] = [
        0x0F73: Array("\u{0F71}\u{0F72}".utf8),
        0x0F75: Array("\u{0F71}\u{0F74}".utf8),
        0x0F81: Array("\u{0F71}\u{0F80}".utf8),
    ]

    static func normalize(_ text: String) -> String {
        var text = text
        let bytes = text.withUTF8 { normalize($0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func appendStandardNFC(_ bytes: [UInt8], to output: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        output.append(contentsOf: String(decoding: bytes, as: UTF8.self)._nfcCodeUnits)
    }
}
