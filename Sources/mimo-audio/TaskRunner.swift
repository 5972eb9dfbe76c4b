import ArgumentParser
import Foundation
import MiMoAudio

/// Runs one generation for a task and reports it: progress, live text, streamed or final audio,
/// and the JSON result.
struct TaskRunner {
    let pipeline: Pipeline
    let options: TaskOptions
    let audio: AudioOutputOptions?
    let reporter: Reporter

    struct Outcome {
        var result: GenerationResult
        var output: GenerationOutput
        var text: String
    }

    init(pipeline: Pipeline, options: TaskOptions, audio: AudioOutputOptions?) {
        self.pipeline = pipeline
        self.options = options
        self.audio = audio
        reporter = Reporter(quiet: options.quiet)
    }

    @discardableResult
    func run(prompt: TokenGrid, session: LMSession? = nil, stops: [String], preset: TaskSamplers, seed: UInt64) throws -> Outcome {
        let lm = pipeline.lm
        if options.json && audio?.output == "-" {
            throw ValidationError("--json and -o - both write to stdout; write the audio to a file")
        }
        let (textSampler, audioSampler) = options.samplers(preset)
        let generation = GenerationOptions(
            minNewTokens: options.minNewTokens, maxNewTokens: options.maxNewTokens,
            stopTokens: try pipeline.stopTokens(stops), textSampler: textSampler, audioSampler: audioSampler, seed: seed)
        try lm.config.validate(prompt)

        var stream: SpeechStream?
        if let audio, audio.stream, let path = audio.output {
            let destination: SpeechStream.Destination = path == "-"
                ? .standardOutputPCM16 : .wav(URL(fileURLWithPath: path), audio.sampleFormat)
            stream = try SpeechStream(codec: try pipeline.requireCodec(), destination: destination, chunkFrames: audio.streamChunk)
        }
        let liveText = !options.json && audio?.output != "-"
        var decoder = IncrementalDecoder(tokenizer: pipeline.textTokenizer, skipSpecialTokens: true)
        let eostm = pipeline.textTokenizer.specialTokens.idsByName["<|eostm|>"]
        var audioOpen = true
        var steps = 0
        var frames = 0
        let start = DispatchTime.now()
        reporter.line("prefill: \(prompt.groups(size: lm.config.groupSize)) groups")
        let result = try (session ?? LMSession(model: lm)).generate(prompt: prompt, options: generation) { event in
            switch event {
            case .text(let id):
                steps += 1
                if id == eostm { audioOpen = false }
                if liveText {
                    let delta = decoder.push(id)
                    if !delta.isEmpty { FileHandle.standardOutput.write(Data(delta.utf8)) }
                }
            case .audio(let patch):
                guard audioOpen else { return }
                frames += patch.count
                do { try stream?.add(patch: patch) } catch { reporter.warning("streaming audio failed: \(error)") }
            case .finished:
                break
            }
            let elapsed = seconds(since: start)
            let audioSeconds = Double(frames) / pipeline.frameRate
            reporter.status(String(format: "generating: %d steps, %.1f steps/s, %.2f s of audio%@", steps,
                                   Double(steps) / max(elapsed, 1e-9), audioSeconds,
                                   audioSeconds > 0 ? String(format: ", real-time factor %.2f", elapsed / audioSeconds) : ""))
        }
        if liveText { FileHandle.standardOutput.write(Data((decoder.finish() + "\n").utf8)) }
        reporter.status("")
        let output = try lm.extractOutput(result.newIDs)
        let text = pipeline.text(output.textIDs)
        let t = result.timings
        reporter.line(String(format: "prefill %d groups in %.2f s; %d steps in %.2f s (%.2f steps/s, %d speech patches); stop: %@",
                             t.prefillGroups, t.prefillSeconds, t.steps, t.stepSeconds, Double(t.steps) / max(t.stepSeconds, 1e-9),
                             t.patches, result.stopReason.rawValue))

        var streamReport: StreamReport?
        if let stream {
            try stream.finish()
            streamReport = StreamReport(audioSeconds: stream.audioSeconds, decodeSeconds: stream.decodeSeconds)
            reporter.line(String(format: "streamed %.2f s of audio; streaming decode took %.2f s (real-time factor %.2f)",
                                 stream.audioSeconds, stream.decodeSeconds, stream.decodeSeconds / max(stream.audioSeconds, 1e-9)))
        } else if let audio, let path = audio.output {
            let codec = try pipeline.requireCodec()
            var wav = [Float](repeating: 0, count: codec.sampleRate)
            if output.codes.first?.isEmpty == false {
                wav = try codec.decode(codes: output.codes)
            } else {
                reporter.warning("no audio was generated; writing 1 s of silence as the reference does")
            }
            try WAVWriter.write(samples: wav, sampleRate: codec.sampleRate, format: audio.sampleFormat, to: URL(fileURLWithPath: path))
            reporter.line(String(format: "wrote %.2f s of audio to %@", Double(wav.count) / Double(codec.sampleRate), path))
        }
        if options.json {
            let report = TaskReport(text: text, newIDs: result.newIDs.rows, codes: output.codes,
                                    stopReason: result.stopReason.rawValue,
                                    stopToken: result.stopToken.map { pipeline.textTokenizer.specialTokens.namesByID[$0] ?? String($0) },
                                    timings: result.timings, seed: seed, stream: streamReport)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        }
        return Outcome(result: result, output: output, text: text)
    }
}

struct StreamReport: Encodable {
    let audioSeconds: Double
    let decodeSeconds: Double
    enum CodingKeys: String, CodingKey { case audioSeconds = "audio_seconds", decodeSeconds = "decode_seconds" }
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
        case text, newIDs = "new_ids", codes, stopReason = "stop_reason", stopToken = "stop_token", timings, seed, stream
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
