import MiMoAudio
import TestSupport
import XCTest

/// Encoder parity with the reference (fp32 goldens of the tiny tokenizer on test_audio.wav).
final class EncoderParityTests: XCTestCase {
    func testMelMatchesReference() throws {
        let g = try Fixtures.goldens("tokenizer_goldens.safetensors")
        let tokenizer = try Fixtures.tokenizer()
        let wav = try AudioInput.load(Fixtures.url("test_audio.wav"), sampleRate: 24000)
        XCTAssertEqual(wav, try g.floats("wav"), "s16 → float is exact")
        let mel = try tokenizer.logMel(wav)
        // The reference's f32 FFT vs our f64 DFT: log-mel values (|x| up to ~17) agree to
        // f32 rounding of the spectrum, ~1e-5 relative; quiet bins near the 1e-7 clamp are the
        // most sensitive, hence 1e-4 absolute.
        assertClose(mel, try g.matrix("mel").transposed(), tolerance: 1e-4, "mel")
    }

    func testEveryEncoderTapAndAllTwentyCodeLevels() throws {
        let g = try Fixtures.goldens("tokenizer_goldens.safetensors")
        let tokenizer = try Fixtures.tokenizer()
        let mel = try g.matrix("mel").transposed()
        var taps: [String: Matrix] = [:]
        let result = tokenizer.encodePacked(mel: mel, lengths: [mel.rows], codebooks: 20) { taps[$0] = $1 }
        // Activations are O(1)–O(10); f32 GEMMs summing in a different order than MKL and our
        // rational erf (rel. error < 1.2e-7) leave a few f32 ulps per op (measured ≤ 2.4e-6).
        // 2e-5 keeps a 10× margin and is far below any real error (a wrong mask, RoPE or norm
        // moves values by > 1e-2).
        for name in [
            "encoder.conv1_out", "encoder.conv2_out", "encoder.layer0_out", "encoder.layer1_out",
            "encoder.layer2_out", "encoder.layer_norm_out", "encoder.down_sample_out", "encoder.features",
        ] {
            let tap = try XCTUnwrap(taps[name], "no tap \(name)")
            assertClose(tap, try g.matrix(name), tolerance: 2e-5, name)
        }
        XCTAssertEqual(result.tokens, try g.ints("encoder.output_length"))
        // Codes are an argmax: they must match exactly, every level.
        XCTAssertEqual(result.codes, try g.intRows("rvq.codes"))
        // Dequantised sum of 20 codebook rows: the same f32 additions in the same order, so exact.
        assertClose(
            try tokenizer.dequantize(result.codes), try g.matrix("rvq.dequantized"), tolerance: 0, "rvq.dequantized")
    }

    func testEndToEndEncodeFromWAV() throws {
        let g = try Fixtures.goldens("tokenizer_goldens.safetensors")
        let tokenizer = try Fixtures.tokenizer()
        let wav = try AudioInput.load(Fixtures.url("test_audio.wav"), sampleRate: 24000)
        let codes = try tokenizer.encode(samples: wav, codebooks: 20)
        XCTAssertEqual(codes, try g.intRows("rvq.codes"))
        // Fewer levels give the leading levels unchanged (the quantiser is residual).
        XCTAssertEqual(try tokenizer.encode(samples: wav, codebooks: 8), Array(codes.prefix(8)))
    }

    func testPackedTwoSegmentEncode() throws {
        let g = try Fixtures.goldens("tokenizer_goldens.safetensors")
        let tokenizer = try Fixtures.tokenizer()
        let mel = try g.matrix("mel").transposed()
        let lengths = try g.ints("two_segments.input_lens")
        let result = tokenizer.encodePacked(mel: mel, lengths: lengths, codebooks: 20)
        XCTAssertEqual(result.tokens, try g.ints("two_segments.output_length"))
        XCTAssertEqual(result.codes, try g.intRows("two_segments.codes"))
        assertClose(
            try tokenizer.dequantize(result.codes), try g.matrix("two_segments.dequantized"),
            tolerance: 0, "two_segments.dequantized")
    }

    func testResampledInputsEncodeLikeTheReference() throws {
        let g = try Fixtures.goldens("resample_goldens.safetensors")
        let tokenizer = try Fixtures.tokenizer()
        for (file, prefix) in [("stereo_44k1_16bit.wav", "stereo_44k1"), ("mono_16k_16bit.wav", "mono_16k")] {
            let wav = try AudioInput.load(Fixtures.url(file), sampleRate: 24000)
            // Polyphase FIR in f32 with the same taps; only the summation order differs.
            XCTAssertLessThanOrEqual(maxAbsDifference(wav, try g.floats("\(prefix).resampled_24k")), 1e-6, prefix)
            // The reference's f32 FFT has errors of ~1e-7 of each frame's peak; in the log of a
            // band 50 dB below the peak (a 16 kHz source has nothing above 8 kHz) that is ~1e-3,
            // and an independent f64 numpy computation differs from the golden by the same
            // 8.4e-4. So compare linear mel energies relative to each frame's peak instead, with
            // the 1e-4 the log-domain check allows at loud bins (measured: 1.1e-5).
            let mel = try tokenizer.logMel(try g.floats("\(prefix).resampled_24k"))
            let reference = try g.matrix("\(prefix).mel").transposed()
            XCTAssertEqual(mel.rows, reference.rows)
            var worst: Float = 0
            for f in 0..<min(mel.rows, reference.rows) {
                let peak = reference.row(f).map { expf($0) }.max() ?? 1
                for m in 0..<mel.cols { worst = max(worst, abs(expf(mel[f, m]) - expf(reference[f, m])) / peak) }
            }
            XCTAssertLessThanOrEqual(worst, 1e-4, "\(prefix).mel: worst error relative to the frame peak")
            XCTAssertEqual(try tokenizer.encode(samples: wav, codebooks: 20), try g.intRows("\(prefix).codes"), prefix)
        }
    }

    func testSegmentBatchingFollowsTheReference() {
        XCTAssertEqual(AudioTokenizer.batches([6000, 6000, 100], maxFrames: 12000), [[6000, 6000], [100]])
        XCTAssertEqual(AudioTokenizer.batches([6000, 10], maxFrames: 256_000), [[6000, 10]])
    }
}
