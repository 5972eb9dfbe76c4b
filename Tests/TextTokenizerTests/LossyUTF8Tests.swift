import XCTest

@testable import TextTokenizer

/// Invalid UTF-8 must turn into exactly as many U+FFFD as Python's
/// `bytes.decode('utf-8', errors='replace')` produces (expected values generated with it).
final class LossyUTF8Tests: XCTestCase {
    private let cases: [([UInt8], String)] = [
        ([0xF0, 0x80], "\u{FFFD}\u{FFFD}"),
        ([0xE2, 0x82], "\u{FFFD}"),
        ([0xE2, 0x82, 0x41], "\u{FFFD}A"),
        ([0xED, 0xA0, 0x80], "\u{FFFD}\u{FFFD}\u{FFFD}"),
        ([0xF4, 0x90, 0x80, 0x80], "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"),
        ([0xC0, 0xAF], "\u{FFFD}\u{FFFD}"),
        ([0xF8, 0x88, 0x80, 0x80, 0x80], "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"),
        ([0xE0, 0x80, 0x80], "\u{FFFD}\u{FFFD}\u{FFFD}"),
        ([0xF0, 0x9F, 0x98], "\u{FFFD}"),
        ([0xF0, 0x9F, 0x98, 0x41], "\u{FFFD}A"),
        ([0x80, 0x80], "\u{FFFD}\u{FFFD}"),
        ([0xFF], "\u{FFFD}"),
        ([0xC2], "\u{FFFD}"),
        ([0xE1, 0x80, 0xE1, 0x80, 0x80], "\u{FFFD}\u{1000}"),
        ([0xF0, 0x9F, 0x98, 0x80], "\u{1F600}"),
        ([0xEF, 0xBF, 0xBD], "\u{FFFD}"),
        ([0x41, 0xC3], "A\u{FFFD}"),
        ([0xF4, 0x8F, 0xBF, 0xBF], "\u{10FFFF}"),
        ([0xC1, 0xBF], "\u{FFFD}\u{FFFD}"),
        ([0xF5, 0x80], "\u{FFFD}\u{FFFD}"),
    ]

    func testReplacementMatchesPython() {
        for (bytes, expected) in cases {
            XCTAssertSameScalars(LossyUTF8.decode(bytes), expected, "\(bytes)")
        }
    }

    func testCompletePrefixHoldsBackOnlyAnUnfinishedCharacter() {
        XCTAssertEqual(LossyUTF8.completePrefixEnd([0x41, 0xF0, 0x9F, 0x98]), 1)
        XCTAssertEqual(LossyUTF8.completePrefixEnd([0x41, 0xE2, 0x82]), 1)
        XCTAssertEqual(LossyUTF8.completePrefixEnd([0x41, 0xE2, 0x82, 0xAC]), 4)
        // 0xF0 0x80 can never be completed, so nothing is held back.
        XCTAssertEqual(LossyUTF8.completePrefixEnd([0xF0, 0x80]), 2)
        XCTAssertEqual(LossyUTF8.completePrefixEnd([0x80, 0x80, 0x80]), 3)
        XCTAssertEqual(LossyUTF8.completePrefixEnd([UInt8]()), 0)
    }

    /// Splitting any byte string anywhere and decoding the complete prefix first must give the
    /// same text as decoding it whole.
    func testStreamingEqualsWholeDecodeForEverySplit() {
        for (bytes, expected) in cases {
            for split in 0...bytes.count {
                var pending = Array(bytes[0..<split])
                let end = LossyUTF8.completePrefixEnd(pending)
                var text = LossyUTF8.decode(pending[0..<end])
                pending.removeFirst(end)
                pending += bytes[split...]
                text += LossyUTF8.decode(pending)
                XCTAssertSameScalars(text, expected, "\(bytes) split at \(split)")
            }
        }
    }
}
