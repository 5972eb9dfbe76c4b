import Audio
import Foundation
import TestSupport
import XCTest

/// Compares the load → downmix → resample path with torchaudio goldens (Tests/Fixtures, copied from the shared
/// fixtures; generated with torch/torchaudio 2.6.0, soundfile backend).
final class GoldenAudioTests: XCTestCase {
    private func goldens() throws -> GoldenFile {
        try GoldenFile(contentsOf: fixture("resample_goldens.safetensors"))
    }

    // Tolerance 0: int16/32768 is exact in float32, the sum of two such values is exact (17 significant
    // bits), and halving is exact, so our downmix must be bit-identical to torch's mean(dim=0).
    func testStereoDownmixMatchesTorchExactly() throws {
        let wav = try WAVReader.read(contentsOf: fixture("stereo_44k1_16bit.wav"))
        XCTAssertEqual(wav.sampleRate, 44100)
        XCTAssertEqual(wav.channels, 2)
        XCTAssertEqual(wav.format, .signed16)
        XCTAssertEqual(wav.monoSamples(), try goldens().floats("stereo_44k1.downmix"))
    }

    func testMonoDownmixMatchesTorchExactly() throws {
        let wav = try WAVReader.read(contentsOf: fixture("mono_16k_16bit.wav"))
        XCTAssertEqual(wav.sampleRate, 16000)
        XCTAssertEqual(wav.channels, 1)
        XCTAssertEqual(wav.monoSamples(), try goldens().floats("mono_16k.downmix"))
    }

    func testTokenizerTestAudioMatchesTorchExactly() throws {
        let audio = try WAVReader.readMono(contentsOf: fixture("test_audio.wav"))
        XCTAssertEqual(audio.sampleRate, 24000)
        XCTAssertEqual(
            audio.samples, try GoldenFile(contentsOf: fixture("tokenizer_goldens.safetensors")).floats("wav"))
    }

    // Tolerance 5e-7: we rebuild torchaudio's float32 kernel step by step, but sin/cos come from glibc
    // rather than ATen's SIMD (Sleef) routines (≤1 ulp apart) and the dot products are summed in a
    // different order than oneDNN's conv1d. On these signals (|x| < 1, ~12-23 taps of |h| ≤ 0.5) that
    // accounts for a few float32 ulps of the output (ulp(0.5) = 6e-8); measured 1.2e-7 and 1.8e-7.
    // A wrong phase, width, pi rounding or a Double kernel shows up as ≥ 2e-6.
    func testStereo44k1ResampledTo24kMatchesTorchaudio() throws {
        try checkResample(input: "stereo_44k1.downmix", golden: "stereo_44k1.resampled_24k", from: 44100)
    }

    func testMono16kResampledTo24kMatchesTorchaudio() throws {
        try checkResample(input: "mono_16k.downmix", golden: "mono_16k.resampled_24k", from: 16000)
    }

    private func checkResample(input: String, golden: String, from rate: Int) throws {
        let goldens = try goldens()
        let expected = try goldens.floats(golden)
        let actual = try resample(try goldens.floats(input), from: rate, to: 24000)
        XCTAssertEqual(actual.count, expected.count)
        let error = maxAbsDifference(actual, expected)
        print("\(golden): max |swift - torchaudio| = \(error)")
        XCTAssertLessThanOrEqual(error, 5e-7)
    }
}
