import MiMoAudio
import TestSupport
import XCTest

final class BadInputTests: XCTestCase {
    func testAudioShorterThanTheReflectPaddingIsRejected() throws {
        let tokenizer = try Fixtures.tokenizer()
        XCTAssertThrowsError(try tokenizer.encode(samples: [Float](repeating: 0.1, count: 480))) { error in
            XCTAssertEqual(error as? SpectrogramError, .audioTooShort(samples: 480, minimum: 481))
        }
        XCTAssertThrowsError(try tokenizer.encode(samples: [])) { error in
            XCTAssertEqual(error as? SpectrogramError, .audioTooShort(samples: 0, minimum: 481))
        }
        // 481 samples is the shortest input the reference accepts: one token.
        XCTAssertEqual(try tokenizer.encode(samples: [Float](repeating: 0.1, count: 481), codebooks: 8)[0].count, 1)
    }

    func testNonFiniteSamplesAreRejected() throws {
        let tokenizer = try Fixtures.tokenizer()
        var wav = [Float](repeating: 0, count: 2400)
        wav[7] = .nan
        XCTAssertThrowsError(try tokenizer.encode(samples: wav)) { error in
            XCTAssertEqual(error as? SpectrogramError, .nonFiniteSample(index: 7))
        }
    }

    func testCodebookCountIsChecked() throws {
        let tokenizer = try Fixtures.tokenizer()
        let wav = [Float](repeating: 0.1, count: 4800)
        XCTAssertThrowsError(try tokenizer.encode(samples: wav, codebooks: 0))
        XCTAssertThrowsError(try tokenizer.encode(samples: wav, codebooks: 21)) { error in
            XCTAssertEqual(error as? CodecError, .tooManyCodebooks(given: 21, available: 20))
        }
    }

    func testInvalidCodesAreRejectedBeforeDecoding() throws {
        let tokenizer = try Fixtures.tokenizer()
        let good = Array(repeating: [1, 2, 3], count: 8)
        var outOfRange = good
        outOfRange[2][1] = 128  // codebook 2 has 128 entries
        XCTAssertThrowsError(try tokenizer.decode(codes: outOfRange)) { error in
            XCTAssertEqual(error as? CodecError, .codeOutOfRange(codebook: 2, frame: 1, value: 128, bins: 128))
        }
        var negative = good
        negative[0][0] = -1
        XCTAssertThrowsError(try tokenizer.decode(codes: negative))
        var ragged = good
        ragged[5] = [1, 2]
        XCTAssertThrowsError(try tokenizer.decode(codes: ragged)) { error in
            XCTAssertEqual(error as? CodecError, .raggedCodes(codebook: 5, frames: 2, expected: 3))
        }
        XCTAssertThrowsError(try tokenizer.decode(codes: [])) { error in
            XCTAssertEqual(error as? CodecError, .tooFewCodebooks(given: 0, required: 1))
        }
        XCTAssertThrowsError(try tokenizer.decode(codes: Array(repeating: [], count: 8))) { error in
            XCTAssertEqual(error as? CodecError, .noFrames)
        }
        XCTAssertThrowsError(try tokenizer.decode(codes: Array(repeating: [0], count: 21)))
        XCTAssertEqual(try tokenizer.decode(codes: good).count, 3 * 960)
    }

    func testStreamingStateSurvivesARejectedChunk() throws {
        let g = try Fixtures.goldens("streaming_goldens.safetensors")
        let tokenizer = try Fixtures.tokenizer()
        let codes = try g.intRows("codes")
        let chunk = { (k: Int) in codes.map { Array($0[(20 * k)..<(20 * k + 20)]) } }
        let clean = StreamingDecoder(tokenizer: tokenizer)
        let disturbed = StreamingDecoder(tokenizer: tokenizer)
        for k in 0..<4 {
            if k == 2 {
                var bad = chunk(k)
                bad[0][3] = 5000
                XCTAssertThrowsError(try disturbed.feed(codes: bad))
            }
            XCTAssertEqual(try disturbed.feed(codes: chunk(k)), try clean.feed(codes: chunk(k)), "chunk \(k)")
        }
        _ = try clean.feed(codes: chunk(4), last: true)
        XCTAssertThrowsError(try clean.feed(codes: chunk(5))) { error in
            XCTAssertEqual(error as? CodecError, .streamFinished)
        }
    }
}
