import XCTest

@testable import TextTokenizer

/// The 151k-vocabulary goldens produced by Hugging Face tokenizers 0.21.4.
final class RealGoldenTests: XCTestCase {
    func testEveryCaseEncodesToGoldenIDs() throws {
        let tokenizer = try TokenizerFixtures.real.get()
        let goldens = try Goldens.realEncodings()
        XCTAssertEqual(goldens.count, 378)
        var mismatches = 0
        for golden in goldens {
            let ids = tokenizer.encode(golden.text)
            if ids != golden.ids {
                mismatches += 1
                XCTFail(
                    "[\(golden.category ?? "")] \(golden.text.debugDescription): got \(ids), expected \(golden.ids)")
            }
        }
        XCTAssertEqual(mismatches, 0)
    }

    func testEveryCaseHasGoldenTokens() throws {
        let tokenizer = try TokenizerFixtures.real.get()
        for golden in try Goldens.realEncodings() {
            let tokens = tokenizer.tokens(golden.ids)
            XCTAssertEqual(tokens.count, golden.tokens.count)
            for (token, expected) in zip(tokens, golden.tokens) {
                XCTAssertSameScalars(token, expected, "token of \(golden.text.debugDescription)")
            }
        }
    }

    func testEveryCaseDecodesToGoldenText() throws {
        let tokenizer = try TokenizerFixtures.real.get()
        for golden in try Goldens.realEncodings() {
            XCTAssertSameScalars(
                tokenizer.decode(golden.ids), golden.decoded, "decode of \(golden.text.debugDescription)")
        }
    }

    func testEveryDecodeCaseMatchesForItsSkipSetting() throws {
        let tokenizer = try TokenizerFixtures.real.get()
        let goldens = try Goldens.realDecodings()
        XCTAssertEqual(goldens.count, 48)
        XCTAssertEqual(Set(goldens.map(\.skipSpecialTokens)), [false, true])
        for golden in goldens {
            let decoded = tokenizer.decode(golden.ids, skipSpecialTokens: golden.skipSpecialTokens)
            XCTAssertSameScalars(decoded, golden.decoded, "decode(\(golden.ids), skip: \(golden.skipSpecialTokens))")
            XCTAssertEqual(tokenizer.tokens(golden.ids), golden.tokens)
        }
    }

    func testSpecialTokensListEveryAddedToken() throws {
        let tokenizer = try TokenizerFixtures.real.get()
        XCTAssertEqual(tokenizer.specialTokens.idsByName.count, 30)
        XCTAssertEqual(try tokenizer.specialTokens.id("<|endoftext|>"), 151643)
        XCTAssertEqual(try tokenizer.specialTokens.id("<|empty|>"), 151667)
        XCTAssertEqual(try tokenizer.specialTokens.id("<tool_call>"), 151657)
        XCTAssertEqual(tokenizer.specialTokens.namesByID[151672], "<|eot|>")
        XCTAssertThrowsError(try tokenizer.specialTokens.id("<think>")) { error in
            XCTAssertEqual(error as? SpecialTokensError, .unknownToken("<think>"))
        }
        XCTAssertEqual(tokenizer.specialTokens, try SpecialTokens(directory: TokenizerFixtures.realDirectory))
    }

    func testLookupsAndVocabularySize() throws {
        let tokenizer = try TokenizerFixtures.real.get()
        XCTAssertEqual(tokenizer.vocabularySize, 151673)
        XCTAssertEqual(tokenizer.id(of: "Ġworld"), 1879)
        XCTAssertEqual(tokenizer.id(of: "<|im_end|>"), 151645)
        XCTAssertNil(tokenizer.id(of: " world"))
        XCTAssertEqual(tokenizer.tokens([9707, 151645]), ["Hello", "<|im_end|>"])
    }

    func testLoadTimeIsReasonable() throws {
        let start = Date()
        _ = try TextTokenizer(directory: TokenizerFixtures.realDirectory)
        let elapsed = Date().timeIntervalSince(start)
        print("loading the 151k tokenizer.json took \(String(format: "%.3f", elapsed)) s")
        // Generous: debug builds are several times slower than release.
        XCTAssertLessThan(elapsed, 10)
    }
}
