import ArgumentParser
import Foundation
import MiMoAudio

/// Spoken dialogue (speech in, speech and text out) and speech-to-text dialogue (`--text-only`).
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Spoken dialogue: a WAV path per line on stdin, or --conversation FILE.json plus one new turn.")

    @OptionGroup var task: TaskOptions
    @OptionGroup var audio: AudioOutputOptions
    @Option(help: "JSON conversation {\"system\", \"voice\", \"turns\": [{\"role\", \"audio\", \"text\"}]} ending with a user turn.")
    var conversation: String?
    @Option(help: "Voice prompt WAV for the assistant's speech.") var voice: String?
    @Option(help: "System prompt (the reference puts it into the first user turn).") var system: String?
    @Flag(name: .customLong("text-only"), help: "Speech-to-text dialogue: answer in text only.") var textOnly = false
    @Flag(help: "Let the model think before answering (with --text-only).") var think = false

    struct Conversation: Decodable {
        struct Turn: Decodable { let role: String; let audio: String?; let text: String? }
        let system: String?
        let voice: String?
        let turns: [Turn]
    }

    func validate() throws {
        if think && !textOnly { throw ValidationError("--think applies to --text-only dialogue") }
        if !textOnly && audio.output == nil { throw ValidationError("spoken dialogue writes audio: give -o OUT.wav (or --text-only)") }
    }

    func run() throws {
        let pipeline = try task.loadPipeline(needsAudio: true)
        if let conversation { return try replay(URL(fileURLWithPath: conversation), pipeline) }
        try interactive(pipeline)
    }

    private func replay(_ url: URL, _ pipeline: Pipeline) throws {
        let file: Conversation
        do { file = try JSONDecoder().decode(Conversation.self, from: Data(contentsOf: url)) } catch {
            throw ValidationError("\(url.path) is not a conversation file: \(error.localizedDescription)")
        }
        guard file.turns.last?.role == "user" else { throw ValidationError("the conversation must end with a user turn to answer") }
        let base = url.deletingLastPathComponent()
        var turns: [TaskPrompts.Turn] = []
        for (i, turn) in file.turns.enumerated() {
            switch turn.role {
            case "user":
                guard let path = turn.audio else { throw ValidationError("turn \(i): a user turn needs \"audio\"") }
                turns.append(.user(try pipeline.lmAudio(resolve(path, base))))
            case "assistant":
                guard let text = turn.text else { throw ValidationError("turn \(i): an assistant turn needs \"text\"") }
                if textOnly {
                    turns.append(.assistantText(text))
                } else {
                    guard let path = turn.audio else { throw ValidationError("turn \(i): a spoken assistant turn needs \"audio\"") }
                    turns.append(.assistantSpeech(text: text, audio: try pipeline.lmAudio(resolve(path, base))))
                }
            default:
                throw ValidationError("turn \(i): role must be \"user\" or \"assistant\", not \"\(turn.role)\"")
            }
        }
        let voicePath = voice.map { URL(fileURLWithPath: $0) } ?? file.voice.map { resolve($0, base) }
        let segments = try prompt(turns, system: system ?? file.system, voice: voicePath, pipeline)
        try TaskRunner(pipeline: pipeline, options: task, audio: textOnly ? nil : audio)
            .run(prompt: try pipeline.prompts.grid(segments), stops: textOnly ? textStops : speechStops,
                 preset: .spokenDialogue, seed: task.effectiveSeed)
    }

    private func prompt(_ turns: [TaskPrompts.Turn], system: String?, voice: URL?, _ pipeline: Pipeline) throws -> [PromptSegment] {
        if textOnly { return TaskPrompts.speechToTextDialogue(turns, thinking: think) }
        return TaskPrompts.spokenDialogue(turns, system: system, voice: try voice.map { try pipeline.lmAudio($0) })
    }

    /// One WAV path per line. Spoken dialogue continues the whole previous sequence (the
    /// reference's `add_history`), so each turn only prefills what is new.
    private func interactive(_ pipeline: Pipeline) throws {
        let session = LMSession(model: pipeline.lm)
        let seed = task.effectiveSeed
        let reporter = Reporter(quiet: task.quiet)
        var turns: [TaskPrompts.Turn] = []
        var sequence: TokenGrid?
        var index = 0
        reporter.line("enter a WAV path per turn (end with Ctrl-D)")
        while let line = readLine() {
            let path = line.trimmingCharacters(in: .whitespaces)
            if path.isEmpty { continue }
            index += 1
            let user: LMAudio
            do { user = try pipeline.lmAudio(URL(fileURLWithPath: path)) } catch {
                reporter.warning("\(error)")
                continue
            }
            var turnAudio = audio
            if let output = audio.output, output != "-" { turnAudio.output = Self.numbered(output, index) }
            let runner = TaskRunner(pipeline: pipeline, options: task, audio: textOnly ? nil : turnAudio)
            if textOnly {
                turns.append(.user(user))
                let outcome = try runner.run(prompt: try pipeline.prompts.grid(TaskPrompts.speechToTextDialogue(turns, thinking: think)),
                                             session: session, stops: textStops, preset: .spokenDialogue, seed: seed &+ UInt64(index))
                turns.append(.assistantText(outcome.text))
            } else {
                var prompt: TokenGrid
                if var history = sequence {
                    history.append(try pipeline.prompts.grid(TaskPrompts.spokenDialogueNextTurn(user)))
                    prompt = history
                } else {
                    prompt = try pipeline.prompts.grid(TaskPrompts.spokenDialogue([.user(user)], system: system,
                                                                                   voice: try voice.map { try pipeline.lmAudio(URL(fileURLWithPath: $0)) }))
                }
                let outcome = try runner.run(prompt: prompt, session: session, stops: speechStops, preset: .spokenDialogue,
                                             seed: seed &+ UInt64(index))
                prompt.append(outcome.result.newIDs)
                sequence = prompt
            }
        }
    }

    /// `out.wav` → `out-3.wav` for turn 3.
    static func numbered(_ path: String, _ n: Int) -> String {
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension
        let stem = url.deletingPathExtension().lastPathComponent
        return url.deletingLastPathComponent().appendingPathComponent("\(stem)-\(n)" + (ext.isEmpty ? "" : ".\(ext)")).path
    }
}
