import Foundation
import MiMoAudio
import TestSupport
import XCTest

/// Compressed audio in, through FFmpeg's decoders: `Tests/Fixtures/formats/` holds
/// `test_audio.wav` (24 kHz mono, 1.5 s) encoded by FFmpeg 5.1 with each codec's defaults.
final class AudioFormatTests: XCTestCase {
    let wav = Fixtures.url("test_audio.wav")
    func format(_ ext: String) -> URL { Fixtures.url("formats/test_audio.\(ext)") }

    func testFLACDecodesToExactlyTheWAVSamplesAndCodes() throws {
        let reference = try AudioInput.load(wav, sampleRate: 24000)
        let flac = try AudioInput.load(format("flac"), sampleRate: 24000)
        // Lossless 16-bit: FFmpeg's s16 → float is the same exact scaling by 2^-15 as our WAV reader's.
        XCTAssertEqual(flac, reference)
        let codec = try Fixtures.tokenizer()
        XCTAssertEqual(
            try codec.encode(samples: flac, codebooks: 8), try codec.encode(samples: reference, codebooks: 8))
    }

    /// Lossy codecs give the same clip back, aligned and at the right rate (Opus decodes at 48 kHz
    /// and goes through our resampler). Bound: 10 dB SNR against the WAV; measured 15–21 dB on
    /// this noise-like clip at the codecs' default bit rates, while a shifted, wrongly scaled or
    /// wrong-rate decode measures ≤ 0 dB. AAC's decoder keeps the encoder's last-frame padding
    /// (864 samples here), hence the length allowance of one 1024-sample AAC frame.
    func testLossyFormatsDecodeToTheSameClip() throws {
        let reference = try AudioInput.load(wav, sampleRate: 24000)
        for ext in ["mp3", "ogg", "opus", "m4a", "webm"] {
            let x = try AudioInput.load(format(ext), sampleRate: 24000)
            XCTAssertGreaterThanOrEqual(x.count, reference.count, ext)
            XCTAssertLessThanOrEqual(x.count, reference.count + 1024, ext)
            let n = min(x.count, reference.count)
            XCTAssertGreaterThan(snr(Array(x[0..<n]), reference: Array(reference[0..<n])), 10, ext)
        }
    }

    func testDecodingStopsPastTheLimit() throws {
        let x = try AudioInput.load(format("ogg"), sampleRate: 24000, maxSeconds: 0.5)
        // 0.5 s at the file's 24 kHz, the resampler being the identity here.
        XCTAssertEqual(x.count, 12000)
    }

    func testNonAudioIsNamedAsSuch() throws {
        for file in ["lm/config.json", "lm/model.safetensors"] {
            XCTAssertThrowsError(try AudioInput.load(Fixtures.url(file), sampleRate: 24000)) { error in
                XCTAssertTrue("\(error)".contains("is not an audio file ("), "\(error)")
            }
        }
    }
}
