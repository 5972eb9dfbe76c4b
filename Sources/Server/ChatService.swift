import Audio
import Foundation
import Logging
import MiMoAudio

/// Turns a checked chat request into the engine's task, and the task's events into OpenAI's
/// chat completion (or its chunks).
///
/// The task follows from the messages and `modalities`:
/// - no audio in, text out: text dialogue;
/// - one user message with audio and a question, text out: audio understanding;
/// - other conversations with audio, text out: speech-to-text dialogue;
/// - `modalities` with "audio": spoken dialogue, the voice's style (or voice prompt) included.
/// Typed user turns in a conversation with audio are text user turns of the same recipe, and
/// system messages go at the start of the first user turn (both ours: the reference has neither).
struct ChatService: Sendable {
    let maxNewTokens: Int
    let voices: VoiceBook
    let replies: ReplyAudioCache
    let logger: Logger

    func taskRequest(_ chat: ChatRequest, engine: Engine) throws -> TaskRequest {
        let system = chat.messages.filter { $0.role == .system || $0.role == .developer }.map(\.text)
            .filter { !$0.isEmpty }.joined(separator: "\n")
        let dialogue = chat.messages.filter { $0.role == .user || $0.role == .assistant }
        let maxTokens = chat.maxTokens ?? maxNewTokens
        guard maxTokens <= maxNewTokens else {
            throw APIError.invalid(
                "'max_completion_tokens' is \(maxTokens); this server allows at most \(maxNewTokens).",
                param: "max_completion_tokens")
        }
        let task: TaskRequest.Task
        if chat.speaks {
            let voice = try voices.voice(chat.voice)
            let question = dialogue.last { $0.role == .user }?.text ?? ""
            let style = voice.prompt == nil ? voice.instruction(for: question) : nil
            let voicePrompt = try voice.prompt.map { url -> AudioSource in
                let codec = try engine.pipeline.requireCodec()
                return .samples(try AudioInput.load(url, sampleRate: codec.sampleRate, maxSeconds: 60))
            }
            let system = [system, style].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "\n")
            task = .spokenDialogue(
                Conversation(
                    turns: try turns(dialogue, engine: engine, speech: true), system: system.isEmpty ? nil : system,
                    voice: voicePrompt))
        } else if !chat.hearsAudio {
            var messages = dialogue.map { message -> TaskPrompts.ChatMessage in
                message.role == .user ? .user(message.text) : .assistant(transcript(message))
            }
            if !system.isEmpty, case .user(let first)? = messages.first {
                messages[0] = .user(system + "\n\n" + first)
            }
            task = .textDialogue(messages, thinking: chat.thinking)
        } else if dialogue.count == 1, system.isEmpty, let audio = dialogue[0].audio, !dialogue[0].text.isEmpty {
            task = .audioQuestion(
                try source(audio, at: dialogue[0].index, engine: engine), question: dialogue[0].text,
                thinking: chat.thinking)
        } else {
            task = .speechToTextDialogue(
                Conversation(
                    turns: try turns(dialogue, engine: engine, speech: false), system: system.isEmpty ? nil : system),
                thinking: chat.thinking)
        }
        var request = TaskRequest(task, seed: chat.seed ?? UInt64.random(in: 0..<(1 << 53)), maxNewTokens: maxTokens)
        request.text = .init(temperature: chat.temperature.map(Float.init), topP: chat.topP.map(Float.init))
        request.stopTexts = chat.stop
        if chat.speaks { request.audioDelivery = chat.stream ? .streamed(chunkFrames: 20) : .whole }
        return request
    }

    /// The dialogue as turns; with `speech`, earlier replies named by audio id are given as the
    /// speech the model produced when this replica still has it, else as their transcript.
    func turns(_ messages: [ChatRequest.Message], engine: Engine, speech: Bool) throws -> [DialogueTurn] {
        try messages.map { message -> DialogueTurn in
            if message.role == .assistant {
                if speech, let id = message.audioID {
                    if let kept = replies.lookup(id) {
                        return .assistant(text: kept.transcript, audio: .codes(kept.audio))
                    }
                    logger.notice(
                        "audio id of messages[\(message.index)] is unknown here (expired, or from another replica): the turn is given as its transcript"
                    )
                }
                return .assistant(text: transcript(message), audio: nil)
            }
            guard let audio = message.audio else { return .userText(message.text) }
            let samples = try source(audio, at: message.index, engine: engine)
            return message.text.isEmpty ? .user(samples) : .userAudioAndText(samples, message.text)
        }
    }

    /// An assistant message's text: its content, or the transcript its audio id carries.
    func transcript(_ message: ChatRequest.Message) -> String {
        if !message.text.isEmpty { return message.text }
        return message.audioID.flatMap(ReplyAudioCache.transcript(in:)) ?? ""
    }

    func source(_ audio: ChatRequest.InputAudio, at index: Int, engine: Engine) throws -> AudioSource {
        let param = "messages[\(index)].content.input_audio.data"
        return .samples(
            try TranscriptionService.samples(
                of: audio.data, named: "input." + audio.format, param: param, engine: engine))
    }

    /// Keeps a spoken reply's codes for later turns; its id and expiry.
    func keep(_ result: TaskResult, engine: Engine) -> (id: String, expires: Date) {
        let id = ReplyAudioCache.newID(transcript: result.answer)
        let config = engine.pipeline.lm.config
        let audio = LMAudio(codes: result.codes, channels: config.audioChannels, groupSize: config.groupSize)
        guard !audio.frames.isEmpty else {
            return (id, Date().addingTimeInterval(replies.lifetime))
        }
        return (id, replies.store(audio, transcript: result.answer, id: id))
    }

    static func finishReason(_ result: TaskResult) -> String {
        switch result.stopReason {
        case .maxNewTokens, .maxLength: return "length"
        case .stopToken, .stopRequested: return "stop"
        }
    }

    static func usage(_ usage: TaskUsage) -> [String: Any] {
        [
            "prompt_tokens": usage.promptGroups, "completion_tokens": usage.generatedGroups,
            "total_tokens": usage.promptGroups + usage.generatedGroups,
            "prompt_tokens_details": ["cached_tokens": usage.cachedGroups],
            // Ours: seconds of audio heard and spoken.
            "audio_seconds_in": usage.audioSecondsIn, "audio_seconds_out": usage.audioSecondsOut,
        ]
    }

    static func audioFormat(_ format: ChatRequest.AudioFormat) -> AudioFileFormat {
        switch format {
        case .wav: return .wav
        case .mp3: return .mp3
        case .flac: return .flac
        case .opus: return .opus
        case .pcm16: return .pcm
        }
    }

    static func completionID() -> String { "chatcmpl-" + UUID().uuidString.replacingOccurrences(of: "-", with: "") }
}
