import Foundation
import MiMoAudio
import TestSupport
import XCTest

/// Audio out in every format, written chunk by chunk as the engine produces it, and read back.
final class AudioOutputFormatTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mimo-formats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    func clip() throws -> [Float] { try AudioInput.load(Fixtures.url("test_audio.wav"), sampleRate: 24000) }

    func write(_ samples: [Float], _ format: AudioFileFormat, to destination: AudioStreamWriter.Destination) throws {
        let writer = try AudioStreamWriter(format: format, sampleRate: 24000, destination: destination)
        // Uneven chunks, as a streaming decoder hands them over.
        var offset = 0
        var chunk = 700
        while offset < samples.count {
            try writer.write(Array(samples[offset..<min(samples.count, offset + chunk)]))
            offset += chunk
            chunk = chunk == 700 ? 1913 : 700
        }
        try writer.finish()
    }

    /// Each file format read back: WAV exactly as its 16-bit samples, FLAC within one 16-bit step,
    /// lossy formats aligned within one codec frame of padding and above 10 dB SNR (as for the
    /// decoding tests: measured 15–25 dB on this noise-like clip at 48–64 kbit/s).
    func testEveryFormatWrittenToAFileReadsBack() throws {
        let samples = try clip()
        let sixteenBit = samples.map { Float(WAVWriter.pcm16($0)) / 32768 }
        for format in AudioFileFormat.allCases where format != .pcm {
            let url = scratch.appendingPathComponent("out.\(format == .opus ? "opus" : format.rawValue)")
            try write(samples, format, to: .file(url.path))
            let back = try AudioInput.load(url, sampleRate: 24000)
            switch format {
            case .wav:
                // Our writer's 16-bit samples, read back exactly.
                XCTAssertEqual(back, sixteenBit)
            case .flac:
                XCTAssertEqual(back.count, samples.count)
                // FFmpeg turns float into 16 bits by 32768·x, our WAV writer by 32767·x: they differ by
                // |x| ≤ 0.745 (this clip's peak) before rounding, so by one 16-bit step at most after it.
                XCTAssertLessThanOrEqual(maxAbsDifference(back, sixteenBit), 1.0 / 32768)
            default:
                XCTAssertGreaterThanOrEqual(back.count, samples.count - 1152, format.rawValue)
                XCTAssertLessThanOrEqual(back.count, samples.count + 2048, format.rawValue)
                // ADTS cannot signal the AAC encoder's 1024 priming samples (M4A's edit list
                // does), so its decode starts 1024 samples early; measured 20.3 dB once aligned.
                let shift = format == .aac ? 1024 : 0
                let n = min(back.count - shift, samples.count)
                XCTAssertGreaterThan(
                    snr(Array(back[shift..<(shift + n)]), reference: Array(samples[0..<n])), 10, format.rawValue)
            }
        }
        let pcm = scratch.appendingPathComponent("out.pcm")
        try write(samples, .pcm, to: .file(pcm.path))
        XCTAssertEqual(try Data(contentsOf: pcm).count, 2 * samples.count)
    }

    /// Streamed (never seeking), every format is decodable even when cut off halfway.
    func testStreamsAreDecodableWhenCutOff() throws {
        let samples = try clip()
        for format in AudioFileFormat.allCases where format != .pcm {
            var bytes = Data()
            try write(samples, format, to: .stream { bytes.append($0) })
            let whole = scratch.appendingPathComponent("whole.\(format.rawValue)")
            try bytes.write(to: whole)
            XCTAssertGreaterThan(
                try AudioInput.load(whole, sampleRate: 24000).count, samples.count / 2, format.rawValue)
            let cut = scratch.appendingPathComponent("cut.\(format.rawValue)")
            try bytes.prefix(bytes.count / 2).write(to: cut)
            let partial = try AudioInput.load(cut, sampleRate: 24000)
            XCTAssertGreaterThan(partial.count, samples.count / 8, "\(format): a cut stream still plays its start")
        }
    }

    func testFormatsByExtension() {
        XCTAssertEqual(AudioFileFormat(fileExtension: "MP3"), .mp3)
        XCTAssertEqual(AudioFileFormat(fileExtension: "ogg"), .opus)
        XCTAssertEqual(AudioFileFormat(fileExtension: "m4a"), .m4a)
        XCTAssertNil(AudioFileFormat(fileExtension: "txt"))
    }

    func testAFailingStreamEndsTheWriting() throws {
        struct Gone: Error {}
        let writer = try AudioStreamWriter(format: .mp3, sampleRate: 24000, destination: .stream { _ in throw Gone() })
        XCTAssertThrowsError(
            try {
                try writer.write(try self.clip())
                try writer.finish()
            }()
        ) { XCTAssertTrue($0 is Gone, "\($0)") }
    }
}
