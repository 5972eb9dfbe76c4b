import XCTest

@testable import TextTokenizer

/// Pieces of the hand-written Qwen2 regex scanner, checked against what the regex yields.
final class PreTokenizerTests: XCTestCase {
    private func pieces(_ text: String) -> [String] {
        var text = text
        return text.withUTF8 { bytes in
            var ranges: [Range<Int>] = []
            Qwen2PreTokenizer().split(bytes, into: &ranges)
            return ranges.map { String(decoding: UnsafeBufferPointer(rebasing: bytes[$0]), as: UTF8.self) }
        }
    }

    func testContractionsAreCaseInsensitiveAndGreedyOnlyForTheirLetters() {
        XCTAssertEqual(pieces("I'M"), ["I", "'M"])
        XCTAssertEqual(pieces("WE'LL"), ["WE", "'LL"])
        XCTAssertEqual(pieces("'see"), ["'s", "ee"])
        XCTAssertEqual(pieces("rock'n'roll"), ["rock", "'n", "'roll"])
        // U+017F LONG S case-folds to s.
        XCTAssertEqual(pieces("x'ſ"), ["x", "'ſ"])
    }

    func testWhitespaceRunsLeaveTheirLastSpaceToTheNextWord() {
        XCTAssertEqual(pieces("a  b"), ["a", " ", " b"])
        XCTAssertEqual(pieces("a   b"), ["a", "  ", " b"])
        XCTAssertEqual(pieces("trailing   "), ["trailing", "   "])
        XCTAssertEqual(pieces("a \t b"), ["a", " \t", " b"])
        XCTAssertEqual(pieces("x  !"), ["x", " ", " !"])
    }

    func testLineBreaksEndTheirWhitespaceRun() {
        XCTAssertEqual(pieces("a\n\nb"), ["a", "\n\n", "b"])
        XCTAssertEqual(pieces("  \r\n  x"), ["  \r\n", " ", " x"])
        XCTAssertEqual(pieces("x \n \n y"), ["x", " \n \n", " y"])
        XCTAssertEqual(pieces("!!\r\n"), ["!!\r\n"])
    }

    func testDigitsAreSingleAndSymbolsGlueToLetters() {
        XCTAssertEqual(pieces("2025"), ["2", "0", "2", "5"])
        XCTAssertEqual(pieces("$1.5"), ["$", "1", ".", "5"])
        XCTAssertEqual(pieces("@example"), ["@example"])
        XCTAssertEqual(pieces("😀hi"), ["😀hi"])
        XCTAssertEqual(pieces(" ..."), [" ..."])
        XCTAssertEqual(pieces("\u{3000}你好"), ["\u{3000}你好"])
    }
}
