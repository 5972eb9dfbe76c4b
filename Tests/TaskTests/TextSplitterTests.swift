import MiMoAudio
import XCTest

final class TextSplitterTests: XCTestCase {
    func testShortTextIsOnePiece() {
        XCTAssertEqual(TextSplitter.pieces("  Hello there.  "), ["Hello there."])
        XCTAssertEqual(TextSplitter.pieces("   "), [])
    }

    func testLongTextSplitsAtSentenceEndsWithinTheLimit() {
        let sentence = "This sentence has exactly fifty-one characters in it. "
        let text = String(repeating: sentence, count: 20)
        let pieces = TextSplitter.pieces(text, maxCharacters: 300)
        XCTAssertGreaterThan(pieces.count, 3)
        for piece in pieces {
            XCTAssertLessThanOrEqual(piece.count, 300)
            XCTAssertTrue(piece.hasSuffix("."), "cut at a sentence end: \(piece)")
        }
        // Nothing lost or reordered (pieces are trimmed at their joins).
        XCTAssertEqual(pieces.joined(separator: " "), text.trimmingCharacters(in: .whitespaces))
    }

    func testDecimalsStayWholeAndChineseSplitsWithoutSpaces() {
        let english = String(repeating: "Pi is 3.14 and e is 2.71, roughly. ", count: 12)
        XCTAssertTrue(
            TextSplitter.pieces(english, maxCharacters: 100).allSatisfy { !$0.hasSuffix("3.") && !$0.hasSuffix("2.") })
        let chinese = String(repeating: "今天天气真好。我们去公园散步吧！", count: 30)
        let pieces = TextSplitter.pieces(chinese, maxCharacters: 50)
        XCTAssertTrue(pieces.allSatisfy { $0.count <= 50 && ($0.hasSuffix("。") || $0.hasSuffix("！")) })
        XCTAssertEqual(pieces.joined(), chinese)
    }

    func testASentenceLongerThanTheLimitIsCutAtCommasThenSpacesThenAnywhere() {
        let clauses = String(repeating: "one clause, ", count: 40) + "end."
        XCTAssertTrue(TextSplitter.pieces(clauses, maxCharacters: 60).allSatisfy { $0.count <= 60 })
        let word = String(repeating: "x", count: 250)
        let pieces = TextSplitter.pieces(word, maxCharacters: 100)
        XCTAssertEqual(pieces.map(\.count), [100, 100, 50])
    }
}
