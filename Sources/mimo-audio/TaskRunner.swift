import ArgumentParser
import Foundation
import MiMoAudio

/// Runs one request through the engine and shows it: progress, live text, streamed or final
/// audio, and the JSON result. The engine does the task; this is the terminal's sink.
struct TaskRunner {
    let engine: Engine
    let options: TaskOptions
    let audio: AudioOutputOptions?
    let reporter: Reporter
    /// ASR's fixed instruction (see `TaskRequest.fixedTemplate`), and a pinned template.
    var fixedTemplate: TemplateLanguage?
    var templateIndex: Int?

    init(engine: Engine, options: TaskOptions, audio: AudioOutputOptions?) {
        self.engine = engine
        self.options = options
        self.audio = audio
        reporter = Reporter(quiet: options.quiet)
    }

    @discardableResult
    func run(_ task: TaskRequest.Task, seed: UInt64, maxNewTokens: Int? = nil) throws -> TaskResult {
        if options.json && audio?.output == "-" {
            throw ValidationError("--json and -o - both write to stdout; write the audio to a file")
        }
        var request = options.request(task, seed: seed)
        request.fixedTemplate = fixedTemplate
        request.templateIndex = templateIndex
        if let maxNewTokens { request.maxNewTokens = maxNewTokens }
        let path = audio?.output
        let target = try path.map { try audio!.target($0) }
        var sink: AudioStreamWriter?
        if let audio, let target {
            if audio.stream {
                request.audioDelivery = .streamed(chunkFrames: audio.streamChunk)
                sink = try target.writer(sampleRate: try engine.pipeline.requireCodec().sampleRate)
            } else {
                request.audioDelivery = .whole
            }
        }
        let liveText = !options.json && path != "-"
        var whole: [Float] = []
        var thought = false
        // On a terminal, progress shares the screen with the text: it stops (and its line is
        // cleared) once text starts, so it never erases what was printed.
        let textOnTerminal = liveText && isatty(1) == 1
        var textStarted = false
        func status(_ line: String) { if !(textOnTerminal && textStarted) { reporter.status(line) } }
        func show(_ text: String) throws {
            guard liveText, !text.isEmpty else { return }
            if textOnTerminal && !textStarted { reporter.status("") }
            textStarted = true
            try printOut(text)
        }
        let result: TaskResult
        do {
            result = try engine.perform(request) { event in
                switch event {
                case .progress(.prefill(let done, let total)):
                    status("prefill: \(done)/\(total) groups")
                case .progress(.step(let groups, let audioSeconds, let elapsed)):
                    status(
                        String(
                            format: "generating: %d steps, %.1f steps/s, %.2f s of audio%@", groups,
                            Double(groups) / max(elapsed, 1e-9), audioSeconds,
                            audioSeconds > 0 ? String(format: ", real-time factor %.2f", elapsed / audioSeconds) : ""))
                case .thinking(let text):
                    thought = true
                    try show(text)
                case .text(let text):
                    // The terminal shows the marker the engine took out, as the model wrote it.
                    if thought { try show(TaskEvent.thinkingEnd) }
                    thought = false
                    try show(text)
                case .audio(let samples):
                    if let sink { try sink.write(samples) } else { whole += samples }
                case .warning(let message):
                    reporter.warning(message)
                case .finished(let r):
                    // The marker closed the thinking but no answer text followed it.
                    if thought && r.thinking != nil && r.text.contains(TaskEvent.thinkingEnd) {
                        try show(TaskEvent.thinkingEnd)
                    }
                }
            }
        } catch let EngineError.templateIndexOutOfRange(_, count) {
            throw ValidationError("--template-index must be in 0..<\(count) for this task")
        }
        if liveText { try printOut("\n") }
        if !(textOnTerminal && textStarted) { reporter.status("") }
        let t = result.timings
        reporter.line(
            String(
                format:
                    "prefill %d groups in %.2f s (%d from the prefix cache); %d steps in %.2f s (%.2f steps/s, %d speech patches); stop: %@",
                t.prefillGroups, t.prefillSeconds, result.usage.cachedGroups, t.steps, t.stepSeconds,
                Double(t.steps) / max(t.stepSeconds, 1e-9), t.patches, result.stopReason.rawValue))
        if let sink {
            try sink.finish()
            if let stream = result.stream {
                reporter.line(
                    String(
                        format: "streamed %.2f s of audio; streaming decode took %.2f s (real-time factor %.2f)",
                        stream.audioSeconds, stream.decodeSeconds, stream.decodeSeconds / max(stream.audioSeconds, 1e-9)
                    ))
            }
        } else if let target {
            let rate = try engine.pipeline.requireCodec().sampleRate
            try target.write(whole, sampleRate: rate)
            reporter.line(
                String(
                    format: "wrote %.2f s of audio to %@ (%@)", Double(whole.count) / Double(rate), target.path,
                    target.format.rawValue))
        }
        if options.json {
            let report = TaskReport(
                text: result.text, newIDs: result.newIDs.rows, codes: result.codes,
                stopReason: result.stopReason.rawValue, stopToken: result.stopToken,
                timings: result.timings, seed: seed,
                stream: result.stream.map {
                    StreamReport(audioSeconds: $0.audioSeconds, decodeSeconds: $0.decodeSeconds)
                })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            try printOut(String(decoding: try encoder.encode(report), as: UTF8.self) + "\n")
        }
        return result
    }
}

struct StreamReport: Encodable {
    let audioSeconds: Double
    let decodeSeconds: Double
    enum CodingKeys: String, CodingKey {
        case audioSeconds = "audio_seconds"
        case decodeSeconds = "decode_seconds"
    }
}

struct TaskReport: Encodable {
    let text: String
    let newIDs: [[Int]]
    let codes: [[Int]]
    let stopReason: String
    let stopToken: String?
    let timings: GenerationTimings
    let seed: UInt64
    let stream: StreamReport?

    enum CodingKeys: String, CodingKey {
        case text
        case newIDs = "new_ids"
        case codes
        case stopReason = "stop_reason"
        case stopToken = "stop_token"
        case timings, seed, stream
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(text, forKey: .text)
        try c.encode(newIDs, forKey: .newIDs)
        try c.encode(codes, forKey: .codes)
        try c.encode(stopReason, forKey: .stopReason)
        try c.encode(stopToken, forKey: .stopToken)
        try c.encode(timings, forKey: .timings)
        try c.encode(seed, forKey: .seed)
        try c.encodeIfPresent(stream, forKey: .stream)
    }
}
