import XCTest

@testable import TextTokenizer

/// The tiny fixture vocabulary (990 ids, merges as [a, b] pairs, added tokens also in the vocab).
final class TinyGoldenTests: XCTestCase {
    func testEveryTinyCaseMatches() throws {
        let tokenizer = try TokenizerFixtures.tiny.get()
        let goldens = try Goldens.tinyEncodings()
        XCTAssertEqual(goldens.count, 6)
        for golden in goldens {
            XCTAssertEqual(tokenizer.encode(golden.text), golden.ids, golden.text.debugDescription)
            XCTAssertEqual(tokenizer.tokens(golden.ids), golden.tokens, golden.text.debugDescription)
            XCTAssertSameScalars(tokenizer.decode(golden.ids), golden.decoded, golden.text.debugDescription)
        }
    }

    func testTinySpecialIDs() throws {
        let tokenizer = try TokenizerFixtures.tiny.get()
        XCTAssertEqual(tokenizer.vocabularySize, 990)
        XCTAssertEqual(try tokenizer.specialTokens.id("<|empty|>"), 984)
        XCTAssertEqual(tokenizer.decode([961, 421, 962], skipSpecialTokens: true), "Hello")
    }
}
