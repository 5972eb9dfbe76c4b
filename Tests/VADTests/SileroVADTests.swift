import Audio
import Foundation
import JSON
import XCTest

@testable import VAD

/// The Silero VAD port against the reference: per-chunk speech probabilities that the official
/// package's `OnnxWrapper` (onnxruntime) computed for espeak-ng speech with pauses and for
/// near-silence (`Fixtures/vad_goldens.json`, made by `Tools/make_vad_goldens.py`).
final class SileroVADTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// A 16 kHz fixture's samples (int16 / 32768, as the reference scales them).
    func load(_ name: String) throws -> [Float] {
        let audio = try WAVReader.readMono(contentsOf: Self.fixtures.appendingPathComponent(name))
        XCTAssertEqual(audio.sampleRate, 16000)
        return audio.samples
    }

    func testProbabilitiesMatchTheReference() throws {
        let goldens = try JSONParser.parse(
            Array(Data(contentsOf: Self.fixtures.appendingPathComponent("vad_goldens.json"))))
        guard case .object(let root) = goldens, case .object(let files)? = root["files"] else {
            return XCTFail("unexpected goldens layout")
        }
        var worst: Float = 0
        for (name, value) in files.sorted(by: { $0.key < $1.key }) {
            guard case .object(let entry) = value, case .array(let expected)? = entry["probabilities"] else {
                return XCTFail("no probabilities for \(name)")
            }
            let samples = try load(name)
            let vad = try SileroVAD()
            let chunk = SileroVAD.chunkSamples
            XCTAssertEqual(expected.count, (samples.count + chunk - 1) / chunk, name)
            for (i, value) in expected.enumerated() {
                // The reference zero-pads the last chunk.
                var piece = Array(samples[(i * chunk)..<min(samples.count, (i + 1) * chunk)])
                piece += [Float](repeating: 0, count: chunk - piece.count)
                let p = vad.probability(piece)
                let reference = Float(value.doubleValue ?? .nan)
                worst = max(worst, abs(p - reference))
                // float32 throughout, as onnxruntime; only the order of the sums differs (256-term
                // STFT dot products, 387-term convolutions, 256-term LSTM rows).
                XCTAssertEqual(p, reference, accuracy: 2e-5, "\(name) chunk \(i)")
            }
        }
        print("Silero VAD: max |p − reference| = \(worst)")
    }

    func testSpeechAndSilenceAreTold() throws {
        let vad = try SileroVAD()
        let silence = try load("silence_16k.wav")
        let chunk = SileroVAD.chunkSamples
        let quiet = stride(from: 0, to: silence.count - chunk, by: chunk).map {
            vad.probability(Array(silence[$0..<($0 + chunk)]))
        }
        XCTAssertLessThan(quiet.max() ?? 1, 0.1)
        vad.reset()
        let speech = try load("speech_16k.wav")
        let loud = stride(from: 0, to: speech.count - chunk, by: chunk).map {
            vad.probability(Array(speech[$0..<($0 + chunk)]))
        }
        XCTAssertGreaterThan(loud.max() ?? 0, 0.9)
    }
}
