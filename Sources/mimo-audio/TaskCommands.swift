import ArgumentParser
import Foundation
import MiMoAudio

struct ASRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "asr", abstract: "Transcribe speech (MiMo-Audio-7B-Instruct).", aliases: ["transcribe"])

    @OptionGroup var task: TaskOptions
    @OptionGroup var audioModel: AudioModelOptions
    @OptionGroup var templates: TemplateOptions
    @Option(
        help:
            "Language of the fixed instruction (en or zh); ignored with --template-index or --seed, which draw as the reference does."
    )
    var language: TemplateLanguage = .english
    @Argument(help: "Input audio file (WAV, FLAC, MP3, Ogg, Opus, M4A, WebM, ...; - reads stdin).") var input: String

    func run() throws {
        let engine = try task.loadEngine(audio: audioModel)
        var runner = TaskRunner(engine: engine, options: task, audio: nil)
        runner.templateIndex = templates.templateIndex
        // Reproducible by default: the evaluation toolkit's fixed instruction, unless a draw is asked for.
        let drawn = templates.templateIndex != nil || task.seed != nil
        if !drawn { runner.fixedTemplate = language }
        // ASR's text is greedy; with a fixed seed its (rare) audio patches repeat too.
        try runner.run(.asr(try audioInput(input, engine)), seed: drawn ? task.effectiveSeed : 0)
    }
}

struct TTSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tts",
        abstract: "Text to speech, with optional style instruction and voice prompt (Instruct model).")

    @OptionGroup var task: TaskOptions
    @OptionGroup var audioModel: AudioModelOptions
    @OptionGroup var templates: TemplateOptions
    @OptionGroup var audio: AudioOutputOptions
    @Argument(
        help:
            "Text to speak (with --natural: the instruction and the text in natural language). Longer than 300 characters, it is spoken in pieces split at sentence ends."
    )
    var text: String?
    @Option(name: .customLong("text-file"), help: "Read the text from a file (- reads stdin).") var textFile: String?
    @Option(help: "Style instruction (instruct-TTS).") var instruct: String?
    @Option(help: "Voice prompt WAV (used with --instruct or --natural).") var voice: String?
    @Flag(help: "Natural-instruction TTS: the text carries the instruction itself.") var natural = false

    func validate() throws {
        if natural && instruct != nil {
            throw ValidationError("--natural takes the instruction inside the text; drop --instruct (or --natural)")
        }
    }

    func run() throws {
        guard audio.output != nil else { throw ValidationError("tts writes audio: give -o OUT.wav") }
        let text = try readText(argument: text, file: textFile, what: "text to speak")
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ValidationError("the text to speak is empty")
        }
        let engine = try task.loadEngine(audio: audioModel)
        let voiceAudio = try voice.map { try audioInput($0, engine) }
        var runner = TaskRunner(engine: engine, options: task, audio: audio)
        runner.templateIndex = templates.templateIndex
        try runner.run(
            .tts(text: text, instruct: instruct, voice: voiceAudio, natural: natural), seed: task.effectiveSeed)
    }
}

struct AskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask", abstract: "Ask a question about audio (audio understanding), optionally thinking first.")

    @OptionGroup var task: TaskOptions
    @OptionGroup var audioModel: AudioModelOptions
    @Argument(help: "Input audio file (WAV, FLAC, MP3, Ogg, Opus, M4A, WebM, ...; - reads stdin).") var input: String
    @Argument(help: "The question.") var question: String
    @Flag(help: "Let the model think before answering.") var think = false

    func run() throws {
        let engine = try task.loadEngine(audio: audioModel)
        try TaskRunner(engine: engine, options: task, audio: nil)
            .run(
                .audioQuestion(try audioInput(input, engine), question: question, thinking: think),
                seed: task.effectiveSeed)
    }
}

struct TextChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text-chat",
        abstract: "Text dialogue: one message, or interactive with no message (one line per turn).")

    @OptionGroup var task: TaskOptions
    @Argument(help: "The message (omit, and no --text-file, for an interactive session on stdin).") var message: String?
    @Option(name: .customLong("text-file"), help: "Read the message from a file (- reads stdin).") var textFile: String?
    @Flag(help: "Let the model think before answering.") var think = false

    func run() throws {
        let engine = try task.loadEngine(audio: nil)
        let runner = TaskRunner(engine: engine, options: task, audio: nil)
        let seed = task.effectiveSeed
        var history: [TaskPrompts.ChatMessage] = []
        // Each turn sends the whole history; the engine's prefix cache prefills only what is new.
        func turn(_ text: String) throws {
            history.append(.user(text))
            let result = try runner.run(.textDialogue(history, thinking: think), seed: seed &+ UInt64(history.count))
            history.append(.assistant(result.text))
        }
        if message != nil || textFile != nil {
            return try turn(try readText(argument: message, file: textFile, what: "message"))
        }
        let prompt = isatty(0) == 1 && isatty(2) == 1
        while true {
            if prompt { Console.shared.err("you> ") }
            guard let line = readLine() else { break }
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            try turn(text)
        }
    }
}

struct ICLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "icl",
        abstract: "Few-shot in-context speech-to-speech (voice/style conversion) with the Base model.")

    @OptionGroup var task: TaskOptions
    @OptionGroup var audioModel: AudioModelOptions
    @OptionGroup var audio: AudioOutputOptions
    @Option(
        help: "JSON list of {\"input\": a.wav, \"output\": b.wav, \"transcript\": text of b} (paths relative to it).")
    var examples: String
    @Option(help: "Instruction after the [Int]: prefix.") var instruction = ""
    @Argument(help: "Input audio file to convert (any format; - reads stdin).") var input: String

    struct Example: Decodable {
        let input: String
        let output: String
        let transcript: String
    }

    func run() throws {
        guard audio.output != nil else { throw ValidationError("icl writes audio: give -o OUT.wav") }
        let url = URL(fileURLWithPath: examples)
        let data: Data
        do { data = try FileAccess.read(url) } catch {
            throw ValidationError("cannot read --examples \(examples): \(FileAccess.describe(error))")
        }
        let list: [Example]
        do { list = try JSONValueDecoder().decode([Example].self, from: data) } catch {
            throw ValidationError(
                "--examples \(examples) must be a JSON list of {\"input\", \"output\", \"transcript\"}: \(JSONValueDecoder.describe(error))"
            )
        }
        guard !list.isEmpty else { throw ValidationError("--examples \(examples) has no examples") }
        let engine = try task.loadEngine(audio: audioModel, defaultModel: DefaultModels.base)
        let base = url.deletingLastPathComponent()
        let shots = try list.map {
            ICLExample(
                input: try audioInput(resolve($0.input, base), engine),
                output: try audioInput(resolve($0.output, base), engine),
                transcript: $0.transcript)
        }
        try TaskRunner(engine: engine, options: task, audio: audio)
            .run(
                .inContextLearning(instruction: instruction, examples: shots, query: try audioInput(input, engine)),
                seed: task.effectiveSeed)
    }
}

struct ContinueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "continue",
        abstract: "Continue a speech recording with the Base model (our format: no released code has this task).")

    @OptionGroup var task: TaskOptions
    @OptionGroup var audioModel: AudioModelOptions
    @OptionGroup var audio: AudioOutputOptions
    @Argument(help: "Input audio file (WAV, FLAC, MP3, Ogg, Opus, M4A, WebM, ...; - reads stdin).") var input: String
    @Option(help: "Cap on the new audio, in seconds.") var seconds: Double?

    func run() throws {
        guard audio.output != nil else { throw ValidationError("continue writes audio: give -o OUT.wav") }
        var maxNewTokens = task.maxNewTokens
        if let seconds {
            guard seconds > 0 && seconds <= 3600 else { throw ValidationError("--seconds must be in (0, 3600]") }
            // One speech group is 4 frames = 0.16 s.
            maxNewTokens = min(maxNewTokens, Int((seconds * 25 / 4).rounded(.up)))
        }
        let engine = try task.loadEngine(audio: audioModel, defaultModel: DefaultModels.base)
        try TaskRunner(engine: engine, options: task, audio: audio)
            .run(.continuation(try audioInput(input, engine)), seed: task.effectiveSeed, maxNewTokens: maxNewTokens)
    }
}

func resolve(_ path: String, _ base: URL) -> URL {
    path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
}

extension TemplateLanguage: ExpressibleByArgument {}
