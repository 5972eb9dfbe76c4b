import XCTest

@testable import TextTokenizer

final class IncrementalDecoderTests: XCTestCase {
    /// Feeds `ids` one at a time and checks the chunks against the full decode.
    private func checkStreaming(_ tokenizer: TextTokenizer, _ ids: [Int], skip: Bool, label: String) {
        let full = tokenizer.decode(ids, skipSpecialTokens: skip)
        let fullScalars = Array(full.unicodeScalars)
        var decoder = IncrementalDecoder(tokenizer: tokenizer, skipSpecialTokens: skip)
        var emitted: [Unicode.Scalar] = []
        for id in ids {
            let chunk = decoder.push(id)
            let scalars = Array(chunk.unicodeScalars)
            // A chunk may contain U+FFFD only where the full decode has one.
            for (offset, scalar) in scalars.enumerated() where scalar == "\u{FFFD}" {
                let position = emitted.count + offset
                XCTAssertTrue(
                    position < fullScalars.count && fullScalars[position] == "\u{FFFD}",
                    "\(label): premature U+FFFD at \(position)")
            }
            emitted += scalars
            // Everything emitted so far is a prefix of the full decode.
            XCTAssertTrue(fullScalars.starts(with: emitted), "\(label): chunk \(chunk.debugDescription) diverges")
        }
        emitted += decoder.finish().unicodeScalars
        XCTAssertEqual(String(String.UnicodeScalarView(emitted)).unicodeScalars.count, fullScalars.count, label)
        XCTAssertTrue(emitted.elementsEqual(fullScalars), "\(label): streamed text differs from decode")
    }

    func testEveryGoldenCaseStreamsToTheFullDecode() throws {
        let tokenizer = try TokenizerFixtures.real.get()
        let goldens = try Goldens.realEncodings()
        for golden in goldens {
            checkStreaming(tokenizer, golden.ids, skip: false, label: golden.text.debugDescription)
            checkStreaming(tokenizer, golden.ids, skip: true, label: golden.text.debugDescription)
        }
        for golden in try Goldens.realDecodings() {
            checkStreaming(tokenizer, golden.ids, skip: golden.skipSpecialTokens, label: "\(golden.ids)")
        }
    }

    func testEmojiSplitAcrossTokensIsHeldBack() throws {
        let tokenizer = try TokenizerFixtures.real.get()
        // "ĠðŁĺ" + "¶" = " 😶": the first token ends inside the emoji.
        var decoder = IncrementalDecoder(tokenizer: tokenizer)
        XCTAssertEqual(decoder.push(26525), " ")
        XCTAssertEqual(decoder.push(114), "😶")
        XCTAssertEqual(decoder.finish(), "")
    }

    func testUnfinishedTailBecomesOneReplacementOnFinish() throws {
        let tokenizer = try TokenizerFixtures.real.get()
        var decoder = IncrementalDecoder(tokenizer: tokenizer)
        XCTAssertEqual(decoder.push(145367), "👨")
        XCTAssertEqual(decoder.push(378), "")  // "âĢ": first two bytes of U+200D
        XCTAssertEqual(decoder.finish(), "\u{FFFD}")
        // Reusable after finish.
        XCTAssertEqual(decoder.push(9707), "Hello")
    }

    func testInvalidBytesAreEmittedImmediately() throws {
        let tokenizer = try TokenizerFixtures.real.get()
        var decoder = IncrementalDecoder(tokenizer: tokenizer)
        // Token 94 is the lone byte 0xA1, a continuation byte: invalid at once.
        XCTAssertEqual(decoder.push(94), "\u{FFFD}")
        XCTAssertEqual(decoder.push(-5), "")
        XCTAssertEqual(decoder.push(10_000_000), "")
    }
}
