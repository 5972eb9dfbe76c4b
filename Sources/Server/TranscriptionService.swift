import Audio
import Foundation
import MiMoAudio

/// Runs a checked transcription request: the upload decoded as the CLI decodes files, then ASR.
enum TranscriptionService {
    /// The upload as 24 kHz mono samples; an undecodable or overlong file is a 400 on `file`.
    static func samples(_ request: TranscriptionRequest, engine: Engine) throws -> [Float] {
        try samples(of: request.audio, named: request.filename, param: "file", engine: engine)
    }

    /// Audio bytes from a client as 24 kHz mono samples, decoded as the CLI decodes files; at
    /// most the model's context long. Anything undecodable is a 400 on `param`.
    static func samples(of data: Data, named name: String, param: String, engine: Engine) throws -> [Float] {
        let codec = try engine.pipeline.requireCodec()
        let lm = engine.pipeline.lm.config
        let contextSeconds = Double(lm.maxPositions * lm.groupSize) / engine.pipeline.frameRate
        // FFmpeg probes the container from the bytes; the name's extension only helps it.
        let ext = URL(fileURLWithPath: name).pathExtension
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mimo-upload-\(UUID().uuidString)" + (ext.isEmpty ? "" : "." + ext))
        defer { try? FileManager.default.removeItem(at: file) }
        do { try data.write(to: file) } catch {
            throw APIError.internalError("cannot stage the upload: \(error.localizedDescription)")
        }
        do {
            return try AudioInput.load(file, sampleRate: codec.sampleRate, maxSeconds: contextSeconds + 1)
        } catch {
            let reason = String(describing: error).replacingOccurrences(of: file.path, with: name)
            throw APIError.invalid(
                "'\(param)' could not be read as audio: \(reason)", param: param, code: "invalid_audio")
        }
    }

    /// ASR with the evaluation toolkit's fixed instruction in the request's language (English by
    /// default) and seed 0: the same audio gives the same transcript. A temperature above 0 samples.
    static func taskRequest(_ request: TranscriptionRequest, samples: [Float]) -> TaskRequest {
        taskRequest(samples: samples, language: request.language, temperature: request.temperature)
    }

    /// The same for audio from elsewhere (a realtime session's committed turn).
    static func taskRequest(samples: [Float], language: String?, temperature: Double? = nil) -> TaskRequest {
        var task = TaskRequest(.asr(.samples(samples)), seed: 0)
        if let t = temperature, t > 0 { task.text = .init(temperature: Float(t)) }
        task.fixedTemplate = language == "zh" ? .chinese : .english
        return task
    }
}
