import MiMoAudio
import TestSupport
import XCTest

final class DecoderParityTests: XCTestCase {
    func testEveryDecoderAndVocoderTap() throws {
        let g = try Fixtures.goldens("tokenizer_goldens.safetensors")
        let tokenizer = try Fixtures.tokenizer()
        let codes = Array(try g.intRows("rvq.codes").prefix(8))
        let q = try tokenizer.dequantize(codes)
        assertClose(q, try g.matrix("decoder.vq_in"), tolerance: 0, "decoder.vq_in")  // same additions, same order
        var taps: [String: Matrix] = [:]
        let wav = tokenizer.decode(features: q) { taps[$0] = $1 }
        // Same reasoning as the encoder taps: f32 re-association only (measured ≤ 2.9e-6), so
        // 2e-5 everywhere, a 7× margin.
        let names = [
            "decoder.dconv1_out", "decoder.layer0_out", "decoder.layer1_out", "decoder.layer_norm_out",
            "decoder.coarse_mel", "vocoder.embeddings_out", "vocoder.layer0_out", "vocoder.layer1_out",
            "vocoder.layer_norm_out", "vocoder.head_out",
        ]
        for name in names {
            let tap = try XCTUnwrap(taps[name], "no tap \(name)")
            assertClose(tap, try g.matrix(name), tolerance: 2e-5, name)
        }
        let reference = try g.floats("decoded_wav_q8")
        XCTAssertEqual(wav.count, reference.count)
        // The bar: within 60 dB SNR of the reference waveform.
        XCTAssertGreaterThan(snr(wav, reference: reference), 60)
    }

    func testDecodedWaveformsFrom8And20Codebooks() throws {
        let g = try Fixtures.goldens("tokenizer_goldens.safetensors")
        let tokenizer = try Fixtures.tokenizer()
        let codes = try g.intRows("rvq.codes")
        for (n, name) in [(8, "decoded_wav_q8"), (20, "decoded_wav_q20")] {
            let wav = try tokenizer.decode(codes: Array(codes.prefix(n)))
            let reference = try g.floats(name)
            XCTAssertEqual(wav.count, 960 * codes[0].count)
            XCTAssertGreaterThan(snr(wav, reference: reference), 60, name)
        }
    }

    func testStreamingDecodeMatchesReferenceChunks() throws {
        let g = try Fixtures.goldens("streaming_goldens.safetensors")
        let tokenizer = try Fixtures.tokenizer()
        let codes = try g.intRows("codes")
        let stream = StreamingDecoder(tokenizer: tokenizer)
        var total = 0
        for call in 0..<16 {
            let chunk = codes.map { Array($0[(20 * call)..<(20 * call + 20)]) }
            let out = try stream.feed(codes: chunk, last: call == 15)
            let name = String(format: "chunk%02d", call)
            guard g.contains(name) else {
                XCTAssertTrue(out.isEmpty, "call \(call) emits nothing in the reference")
                continue
            }
            let reference = try g.floats(name)
            XCTAssertEqual(out.count, reference.count, name)
            guard out.count == reference.count else { continue }
            XCTAssertGreaterThan(snr(out, reference: reference), 60, name)
            total += out.count
        }
        XCTAssertEqual(total, 320 * 960, "every sample of the 320 frames is emitted once")
    }
}
