import ArgumentParser
import Foundation
import MiMoAudio

/// Spoken dialogue (speech in, speech and text out) and speech-to-text dialogue (`--text-only`).
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Spoken dialogue: a WAV path per line on stdin, or --conversation FILE.json plus one new turn.")

    @OptionGroup var task: TaskOptions
    @OptionGroup var audioModel: AudioModelOptions
    @OptionGroup var audio: AudioOutputOptions
    @Option(
        help:
            "JSON conversation {\"system\", \"voice\", \"turns\": [{\"role\", \"audio\", \"text\"}]} ending with a user turn."
    )
    var conversation: String?
    @Option(help: "Voice prompt WAV for the assistant's speech.") var voice: String?
    @Option(help: "System prompt (the reference puts it into the first user turn).") var system: String?
    @Flag(name: .customLong("text-only"), help: "Speech-to-text dialogue: answer in text only.") var textOnly = false
    @Flag(help: "Let the model think before answering (with --text-only).") var think = false

    struct ConversationFile: Decodable {
        struct Turn: Decodable {
            let role: String
            let audio: String?
            let text: String?
        }
        let system: String?
        let voice: String?
        let turns: [Turn]
    }

    func validate() throws {
        if think && !textOnly { throw ValidationError("--think applies to --text-only dialogue") }
        if !textOnly && audio.output == nil {
            throw ValidationError("spoken dialogue writes audio: give -o OUT.wav (or --text-only)")
        }
    }

    func run() throws {
        let engine = try task.loadEngine(audio: audioModel)
        if let conversation { return try replay(URL(fileURLWithPath: conversation), engine) }
        try interactive(engine)
    }

    private func dialogue(_ conversation: MiMoAudio.Conversation) -> TaskRequest.Task {
        textOnly ? .speechToTextDialogue(conversation, thinking: think) : .spokenDialogue(conversation)
    }

    private func replay(_ url: URL, _ engine: Engine) throws {
        let data: Data
        do { data = try FileAccess.read(url) } catch {
            throw ValidationError("cannot read conversation file \(url.path): \(FileAccess.describe(error))")
        }
        let file: ConversationFile
        do { file = try JSONValueDecoder().decode(ConversationFile.self, from: data) } catch {
            throw ValidationError("\(url.path) is not a conversation file: \(JSONValueDecoder.describe(error))")
        }
        guard file.turns.last?.role == "user" else {
            throw ValidationError("the conversation must end with a user turn to answer")
        }
        let base = url.deletingLastPathComponent()
        var turns: [DialogueTurn] = []
        for (i, turn) in file.turns.enumerated() {
            switch turn.role {
            case "user":
                guard let path = turn.audio else { throw ValidationError("turn \(i): a user turn needs \"audio\"") }
                turns.append(.user(try audioInput(resolve(path, base), engine)))
            case "assistant":
                guard let text = turn.text else { throw ValidationError("turn \(i): an assistant turn needs \"text\"") }
                if textOnly {
                    turns.append(.assistant(text: text, audio: nil))
                } else {
                    guard let path = turn.audio else {
                        throw ValidationError("turn \(i): a spoken assistant turn needs \"audio\"")
                    }
                    turns.append(.assistant(text: text, audio: try audioInput(resolve(path, base), engine)))
                }
            default:
                throw ValidationError("turn \(i): role must be \"user\" or \"assistant\", not \"\(turn.role)\"")
            }
        }
        let voicePath = voice.map { URL(fileURLWithPath: $0) } ?? file.voice.map { resolve($0, base) }
        let conversation = MiMoAudio.Conversation(
            turns: turns, system: textOnly ? nil : system ?? file.system,
            voice: textOnly ? nil : try voicePath.map { try audioInput($0, engine) })
        try TaskRunner(engine: engine, options: task, audio: textOnly ? nil : audio).run(
            dialogue(conversation), seed: task.effectiveSeed)
    }

    /// One WAV path per line. Spoken dialogue continues the whole previous sequence (the
    /// reference's `add_history`), so each turn only prefills what is new.
    private func interactive(_ engine: Engine) throws {
        let seed = task.effectiveSeed
        let reporter = Reporter(quiet: task.quiet)
        var turns: [DialogueTurn] = []
        var history: TokenGrid?
        var index = 0
        var answered = 0
        let voiceAudio = textOnly ? nil : try voice.map { try audioInput($0, engine) }
        let prompt = isatty(0) == 1 && isatty(2) == 1
        reporter.line("enter a WAV path per turn (end with Ctrl-D)")
        while true {
            if prompt { Console.shared.err("you> ") }
            guard let line = readLine() else { break }
            let path = line.trimmingCharacters(in: .whitespaces)
            if path.isEmpty { continue }
            index += 1
            let user: AudioSource
            do { user = try audioInput(path, engine) } catch {
                reporter.warning("\(error)")
                continue
            }
            var turnAudio = audio
            if let output = audio.output, output != "-" { turnAudio.output = Self.numbered(output, index) }
            let runner = TaskRunner(engine: engine, options: task, audio: textOnly ? nil : turnAudio)
            if textOnly {
                turns.append(.user(user))
                let result = try runner.run(dialogue(MiMoAudio.Conversation(turns: turns)), seed: seed &+ UInt64(index))
                turns.append(.assistant(text: result.text, audio: nil))
            } else {
                let conversation = MiMoAudio.Conversation(
                    turns: [.user(user)], system: system, voice: voiceAudio, history: history)
                history = try runner.run(dialogue(conversation), seed: seed &+ UInt64(index)).sequence
            }
            answered += 1
        }
        if index > 0 && answered == 0 {
            throw RuntimeFailure("no turn was answered: every one of the \(index) WAV paths failed to load")
        }
    }
    /// `out.wav` → `out-3.wav` for turn 3.
    static func numbered(_ path: String, _ n: Int) -> String {
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension
        let stem = url.deletingPathExtension().lastPathComponent
        return url.deletingLastPathComponent().appendingPathComponent("\(stem)-\(n)" + (ext.isEmpty ? "" : ".\(ext)"))
            .path
    }
}
