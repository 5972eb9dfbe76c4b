import ArgumentParser
import Foundation
import MiMoAudio

/// Options every task command shares.
struct TaskOptions: ParsableArguments {
    @Option(
        help:
            "MiMo-Audio LM: a checkpoint directory or a Hugging Face repo id (default: \(DefaultModels.instruct), -Base for icl and continue)."
    )
    var model: String?
    @Option(parsing: .unconditional, help: "Seed for sampling and for the instruction template draw (default: random).")
    var seed: UInt64?
    @Flag(help: "Greedy decoding for text and audio.") var greedy = false
    @Option(parsing: .unconditional, help: "Text sampler temperature (default: the task's preset).") var temperature:
        Float?
    @Option(name: .customLong("top-p"), parsing: .unconditional, help: "Text sampler top-p.") var topP: Float?
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Text sampler top-k.") var topK: Int?
    @Option(name: .customLong("audio-temperature"), parsing: .unconditional, help: "Patch-decoder temperature.")
    var audioTemperature: Float?
    @Option(name: .customLong("audio-top-p"), parsing: .unconditional, help: "Patch-decoder top-p.") var audioTopP:
        Float?
    @Option(name: .customLong("audio-top-k"), parsing: .unconditional, help: "Patch-decoder top-k.") var audioTopK: Int?
    @Option(
        name: .customLong("min-new-tokens"), parsing: .unconditional,
        help: "Groups before a stop token may end generation.") var minNewTokens = 0
    @Option(name: .customLong("max-new-tokens"), parsing: .unconditional, help: "Maximum groups to generate.")
    var maxNewTokens = 8192
    @Option(
        name: .customLong("prefix-cache"), parsing: .unconditional,
        help: "MiB of KV prefixes kept so a turn that repeats earlier context prefills only what is new (0: none).")
    var prefixCache = 1024
    @Flag(help: "Print one JSON object with the result on stdout.") var json = false
    @Flag(help: "No progress on stderr.") var quiet = false
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var loading: LMLoadOptions
    @OptionGroup var hub: HubOptions

    func validate() throws {
        guard minNewTokens >= 0 else { throw ValidationError("--min-new-tokens must be ≥ 0") }
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be ≥ 1") }
        for (flag, t) in [("--temperature", temperature), ("--audio-temperature", audioTemperature)] {
            if let t, !(t > 0 && t.isFinite) { throw ValidationError("\(flag) must be a positive number, got \(t)") }
        }
        for (flag, p) in [("--top-p", topP), ("--audio-top-p", audioTopP)] {
            if let p, !(p > 0 && p <= 1) { throw ValidationError("\(flag) must be in (0, 1], got \(p)") }
        }
        for (flag, k) in [("--top-k", topK), ("--audio-top-k", audioTopK)] {
            if let k, k < 1 { throw ValidationError("\(flag) must be ≥ 1, got \(k)") }
        }
        guard minNewTokens <= maxNewTokens else {
            throw ValidationError(
                "--min-new-tokens (\(minNewTokens)) must not exceed --max-new-tokens (\(maxNewTokens))")
        }
        if let seed, seed > Self.maxSeed {
            throw ValidationError("--seed must be in 0...\(Self.maxSeed) (2^53 − 1, exact in JSON)")
        }
        guard (0...(1 << 20)).contains(prefixCache) else {
            throw ValidationError("--prefix-cache must be in 0...1048576 MiB")
        }
    }

    /// Seeds stay below 2^53 so the one reported in --json is exact in any JSON reader.
    static let maxSeed: UInt64 = (1 << 53) - 1

    /// The effective seed: the one given, else a random one (reported in --json).
    var effectiveSeed: UInt64 { seed ?? UInt64.random(in: 0...Self.maxSeed) }

    /// The request these options describe for `task` (the engine applies the task's presets).
    func request(_ task: TaskRequest.Task, seed: UInt64) -> TaskRequest {
        TaskRequest(
            task, seed: seed, greedy: greedy,
            text: .init(temperature: temperature, topP: topP, topK: topK),
            audio: .init(temperature: audioTemperature, topP: audioTopP, topK: audioTopK),
            minNewTokens: minNewTokens, maxNewTokens: maxNewTokens)
    }

    /// Loads the models (the codec too for `audio`) and starts the engine; models given as repo
    /// ids come from the hub cache (downloaded on first use).
    func loadEngine(audio: AudioModelOptions?, defaultModel: String = DefaultModels.instruct) throws -> Engine {
        let reporter = Reporter(quiet: quiet)
        let compute = try runtime.compute()
        let locator = ModelLocator(hub: hub, reporter: .notices(quiet: quiet))
        let model = model ?? defaultModel
        let (lmDirectory, quantize) = try locator.locate(
            model, role: .lm, quantize: try loading.format(), compute: compute)
        let codecDirectory = try audio.map { try locator.locate($0.audioTokenizer, role: .audioTokenizer).0 }
        let start = DispatchTime.now()
        reporter.line("loading \(model)\(audio.map { " and \($0.audioTokenizer)" } ?? "")")
        let pipeline = try Pipeline(
            model: lmDirectory, audioTokenizer: codecDirectory, compute: compute, quantize: quantize,
            kvPrecision: loading.kvPrecision(), codecQuantize: audio?.codecLoading.format())
        reporter.line(String(format: "loaded in %.1f s", seconds(since: start)))
        return Engine(pipeline: pipeline, options: EngineOptions(prefixCacheBytes: prefixCache << 20))
    }
}

/// The audio tokenizer, for the tasks with audio in or out.
struct AudioModelOptions: ParsableArguments {
    @Option(
        name: .customLong("audio-tokenizer"),
        help: "MiMo-Audio-Tokenizer: a checkpoint directory or a Hugging Face repo id.")
    var audioTokenizer: String = DefaultModels.audioTokenizer
    @OptionGroup var codecLoading: CodecLoadOptions
}

/// The instruction template, for the tasks whose prompt the reference draws one for (ASR, TTS).
struct TemplateOptions: ParsableArguments {
    @Option(
        name: .customLong("template-index"), parsing: .unconditional,
        help: "Pin entry N of the instruction-template list the reference draws from.")
    var templateIndex: Int?

    func validate() throws {
        if let templateIndex, templateIndex < 0 { throw ValidationError("--template-index must be ≥ 0") }
    }
}

/// A WAV file as a task's audio input (24 kHz mono samples; the engine encodes them).
func audioInput(_ path: String, _ engine: Engine) throws -> AudioSource {
    let lm = engine.pipeline.lm.config
    // Decoding stops a little past the longest audio the context could hold; the engine refuses
    // what is still too long, with the limit.
    let contextSeconds = Double(lm.maxPositions * lm.groupSize) / engine.pipeline.frameRate
    return .samples(
        try AudioInput.load(
            URL(fileURLWithPath: path), sampleRate: try engine.pipeline.requireCodec().sampleRate,
            maxSeconds: contextSeconds + 1))
}

func audioInput(_ url: URL, _ engine: Engine) throws -> AudioSource { try audioInput(url.path, engine) }

/// Where audio output goes.
struct AudioOutputOptions: ParsableArguments {
    @Option(
        name: .shortAndLong,
        help:
            "Output audio file, its format from the extension (wav, pcm, flac, mp3, opus/ogg, aac, m4a); '-' is stdout (raw s16le 24 kHz PCM unless --audio-format)."
    )
    var output: String?
    @OptionGroup var format: AudioFormatOptions
    @Flag(help: "Write audio while it is generated (the reference's streaming-decode schedule).") var stream = false
    @Option(name: .customLong("stream-chunk"), parsing: .unconditional, help: "Frames per streaming-decode call.")
    var streamChunk = 20

    func validate() throws {
        guard streamChunk >= 1 && streamChunk <= 1500 else {
            throw ValidationError("--stream-chunk must be in 1...1500")
        }
        if let output { _ = try format.target(output) }
    }

    func target(_ path: String) throws -> AudioTarget { try format.target(path) }
}

/// `--audio-format` and `--sample-format`, for every command that writes audio.
struct AudioFormatOptions: ParsableArguments {
    @Option(
        name: .customLong("audio-format"),
        help: "wav, pcm, flac, mp3, opus, aac or m4a (default: from the output's extension).")
    var audioFormat: AudioFileFormat?
    @Option(name: .customLong("sample-format"), help: "WAV samples: s16 or f32.")
    var sampleFormat: WAVWriter.SampleFormat = .s16

    func target(_ path: String) throws -> AudioTarget {
        try AudioTarget(path, format: audioFormat, sampleFormat: sampleFormat)
    }
}

/// A file (or stdout, `-`) and the format audio is written in there: `--audio-format`, else the
/// file's extension — never a WAV under another format's name.
struct AudioTarget {
    let path: String
    let format: AudioFileFormat
    let sampleFormat: WAVWriter.SampleFormat

    init(_ path: String, format explicit: AudioFileFormat?, sampleFormat: WAVWriter.SampleFormat) throws {
        self.path = path
        self.sampleFormat = sampleFormat
        let formats = AudioFileFormat.allCases.map(\.rawValue).joined(separator: ", ")
        if path == "-" {
            format = explicit ?? .pcm
        } else {
            let ext = URL(fileURLWithPath: path).pathExtension
            let named = AudioFileFormat(fileExtension: ext)
            if let explicit, let named, explicit != named {
                throw ValidationError(
                    "'\(path)' is named as \(named.rawValue) but --audio-format is \(explicit.rawValue)")
            }
            guard let chosen = explicit ?? named else {
                throw ValidationError(
                    "cannot tell the audio format of '\(path)' from its extension; give --audio-format (\(formats))")
            }
            format = chosen
        }
        if sampleFormat == .f32 && format != .wav {
            throw ValidationError(
                "--sample-format f32 applies to WAV; \(format.rawValue) output is written from 16-bit or float by its encoder"
            )
        }
    }

    /// A writer that takes samples as they come.
    func writer(sampleRate: Int) throws -> AudioStreamWriter {
        let destination: AudioStreamWriter.Destination =
            path == "-" ? .stream { try Console.shared.write($0, to: .output) } : .file(path)
        return try AudioStreamWriter(
            format: format, sampleRate: sampleRate, destination: destination, sampleFormat: sampleFormat)
    }

    /// All of it at once; a WAV file is written beside its destination and renamed into place.
    func write(_ samples: [Float], sampleRate: Int) throws {
        if let bad = samples.firstIndex(where: { !$0.isFinite }) { throw AudioWriteError.nonFiniteSample(index: bad) }
        if format == .wav && path != "-" {
            return try WAVWriter.write(
                samples: samples, sampleRate: sampleRate, format: sampleFormat, to: URL(fileURLWithPath: path))
        }
        let writer = try writer(sampleRate: sampleRate)
        try writer.write(samples)
        try writer.finish()
    }
}

extension AudioFileFormat: ExpressibleByArgument {}

/// Progress on stderr (for the task commands only when it is a terminal, and not --quiet): the one reporter of the CLI.
struct Reporter {
    let enabled: Bool

    init(quiet: Bool) { enabled = !quiet && isatty(2) == 1 }

    private init(enabled: Bool) { self.enabled = enabled }

    /// Always on: the codec, generate, convert and bench commands report every stage.
    static let always = Reporter(enabled: true)

    /// On unless --quiet, terminal or not: the one-time work a task command does before it runs
    /// (downloading and converting models), which a user should see even in a log.
    static func notices(quiet: Bool) -> Reporter { Reporter(enabled: !quiet) }

    func line(_ message: String) {
        guard enabled else { return }
        Console.shared.err(message + "\n")
    }

    func status(_ message: String) {
        guard enabled else { return }
        Console.shared.err("\r\u{1B}[K" + message)
    }

    func warning(_ message: String) {
        // Warnings are shown even when progress is off.
        Console.shared.err("warning: " + message + "\n")
    }
}

/// Text given on the command line, or read from a file or stdin (`--text-file`), so long texts
/// are not capped by the argument-length limit. Invalid UTF-8 is refused with its byte offset.
func readText(argument: String?, file: String?, what: String) throws -> String {
    switch (argument, file) {
    case (let text?, nil): return text
    case (nil, let path?):
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw RuntimeFailure("cannot read '\(path)': \(FileAccess.describe(error))")
            }
        }
        switch strictUTF8(data) {
        case .success(let text): return text
        case .failure(let bad):
            throw RuntimeFailure(
                "\(path == "-" ? "standard input" : path) is not UTF-8 text (invalid byte at offset \(bad.offset))")
        }
    case (_?, _?): throw ValidationError("give the \(what) or --text-file, not both")
    case (nil, nil): throw ValidationError("give the \(what), or --text-file PATH (- reads stdin)")
    }
}

struct InvalidUTF8: Error { let offset: Int }

/// Strict UTF-8 decoding, or the offset of the first byte that is not valid UTF-8.
func strictUTF8(_ data: Data) -> Result<String, InvalidUTF8> {
    var iterator = data.makeIterator()
    var decoder = UTF8()
    var scalars = String.UnicodeScalarView()
    var offset = 0
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue(let s):
            scalars.append(s)
            offset += UTF8.width(s)
        case .emptyInput: return .success(String(scalars))
        case .error: return .failure(InvalidUTF8(offset: offset))
        }
    }
}
