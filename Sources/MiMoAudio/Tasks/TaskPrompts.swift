/// The reference's prompt recipes (`MimoAudio.get_*_prompt`, docs/model.md §6), as segment lists.
public enum TaskPrompts {
    static let thinkOff = "<think>\n\n</think>\n"
    static let thinkOn = "<think>\n"
    static let ttsSystem = "你需要根据指定的风格指令和文本内容来生成语音。"
    static let ttsSystemWithVoice = "你需要根据指定的风格指令和文本内容来生成和语音prompt具有相同音色的语音。你的音色应该是："

    public static func asr(_ audio: LMAudio, template: String) -> [PromptSegment] {
        [
            .text("<|im_start|>user\n"), .audio(audio), .text(template), .text("<|im_end|>\n"),
            .text("<|im_start|>assistant\n"), .text(thinkOff),
        ]
    }

    /// Every TTS variant (§6.2). Plain TTS (no `instruct`, not `natural`) ignores `voice`, as the
    /// reference does. `template` is required unless `natural`.
    public static func tts(_ text: String, template: String?, instruct: String?, voice: LMAudio?, natural: Bool)
        -> [PromptSegment]
    {
        let text = PythonText.normalizeForTTS(text)
        if !natural && instruct == nil {
            return [
                .text("<|im_start|>user\n\(template ?? ""): \(text)<|im_end|>\n"),
                .text("<|im_start|>assistant\n<|sostm|>"),
            ]
        }
        var segments: [PromptSegment] = [.text("<|im_start|>system\n")]
        if let voice {
            segments += [.text(ttsSystemWithVoice), .audio(voice)]
        } else {
            segments.append(.text(ttsSystem))
        }
        segments.append(.text("<|im_end|>\n"))
        let user = natural ? text : "\(template ?? ""): \(text)(\(instruct ?? ""))"
        segments += [.text("<|im_start|>user\n\(user)<|im_end|>\n"), .text("<|im_start|>assistant\n<think>\n")]
        return segments
    }

    public static func audioUnderstanding(_ audio: LMAudio, question: String, thinking: Bool) -> [PromptSegment] {
        [
            .text("<|im_start|>user\n"), .audio(audio), .text(question), .text("<|im_end|>\n"),
            .text("<|im_start|>assistant\n"), .text(thinking ? thinkOn : thinkOff),
        ]
    }

    /// A turn of a dialogue with audio input.
    public enum Turn: Sendable, Equatable {
        case user(LMAudio)
        /// Ours: a typed user turn, and speech then text in one user turn (as the audio question).
        case userText(String)
        case userAudioAndText(LMAudio, String)
        /// Speech-to-text dialogue history: the assistant's text.
        case assistantText(String)
        /// Spoken dialogue history: the assistant's text and speech.
        case assistantSpeech(text: String, audio: LMAudio)
    }

    /// Speech in, text out (§6.4), single or multi-turn; `system` as the spoken dialogue places it
    /// (ours: the reference's recipe has none).
    public static func speechToTextDialogue(_ turns: [Turn], system: String? = nil, thinking: Bool) -> [PromptSegment] {
        var segments: [PromptSegment] = []
        for (i, turn) in turns.enumerated() {
            switch turn {
            case .user, .userText, .userAudioAndText:
                segments += userTurn(turn, system: i == 0 ? system : nil)
            case .assistantText(let text), .assistantSpeech(let text, _):
                segments += [.text("<|im_start|>assistant\n"), .text(text), .text("<|im_end|>\n")]
            }
        }
        return segments + [.text("<|im_start|>assistant\n"), .text(thinking ? thinkOn : thinkOff)]
    }

    /// New user turns after a speech-to-text dialogue's whole previous sequence (ours).
    static func speechToTextDialogueNextTurns(_ turns: [Turn], thinking: Bool) -> [PromptSegment] {
        turns.flatMap { userTurn($0, system: nil) } + [
            .text("<|im_start|>assistant\n"), .text(thinking ? thinkOn : thinkOff),
        ]
    }

    /// A user turn of a dialogue: the system text first (when given), then speech, then text.
    static func userTurn(_ turn: Turn, system: String?) -> [PromptSegment] {
        var segments: [PromptSegment] = [.text("<|im_start|>user\n")]
        if let system, !system.isEmpty { segments += [.text(system), .text("\n\n")] }
        switch turn {
        case .user(let audio): segments.append(.audio(audio))
        case .userText(let text): segments.append(.text(text))
        case .userAudioAndText(let audio, let text): segments += [.audio(audio), .text(text)]
        case .assistantText, .assistantSpeech: break
        }
        return segments + [.text("<|im_end|>\n")]
    }

    /// Speech in, speech and text out (§6.5), single or multi-turn: optional voice prompt in a
    /// system block, optional system prompt inside the first user turn.
    public static func spokenDialogue(_ turns: [Turn], system: String?, voice: LMAudio?) -> [PromptSegment] {
        var segments: [PromptSegment] = []
        if let voice {
            segments += [
                .text("<|im_start|>system\n"), .text("Your voice should be:"), .audio(voice), .text("<|im_end|>\n"),
            ]
        }
        for (i, turn) in turns.enumerated() {
            switch turn {
            case .user, .userText, .userAudioAndText:
                segments += userTurn(turn, system: i == 0 ? system : nil)
            case .assistantSpeech(let text, let audio):
                segments += [
                    .text("<|im_start|>assistant\n"), .stream(text: text, audio: audio), .text("<|im_end|>\n"),
                ]
            case .assistantText(let text):
                segments += [.text("<|im_start|>assistant\n"), .text(text), .text("<|im_end|>\n")]
            }
        }
        return segments + [.text("<|im_start|>assistant\n<|sostm|>")]
    }

    /// The reference's `add_history` continuation of a spoken dialogue: appended to the whole
    /// previous sequence (prompt + generated ids).
    public static func spokenDialogueNextTurn(_ audio: LMAudio) -> [PromptSegment] {
        spokenDialogueNextTurns([.user(audio)])
    }

    /// The same with several new user turns (ours: spoken, typed, or both).
    static func spokenDialogueNextTurns(_ turns: [Turn]) -> [PromptSegment] {
        turns.flatMap { userTurn($0, system: nil) } + [.text("<|im_start|>assistant\n<|sostm|>")]
    }

    public enum ChatMessage: Sendable, Equatable {
        case user(String)
        case assistant(String)
    }

    /// Text dialogue (§6.6), single or multi-turn.
    public static func textDialogue(_ messages: [ChatMessage], thinking: Bool) -> [PromptSegment] {
        var segments: [PromptSegment] = []
        for message in messages {
            switch message {
            case .user(let text): segments += [.text("<|im_start|>user\n"), .text(text), .text("<|im_end|>\n")]
            case .assistant(let text):
                segments += [.text("<|im_start|>assistant\n"), .text(text), .text("<|im_end|>\n")]
            }
        }
        return segments + [.text("<|im_start|>assistant\n"), .text(thinking ? thinkOn : thinkOff)]
    }

    public struct Example: Sendable, Equatable {
        public var input: LMAudio
        public var output: LMAudio
        public var transcript: String
        public init(input: LMAudio, output: LMAudio, transcript: String) {
            self.input = input
            self.output = output
            self.transcript = transcript
        }
    }

    /// Few-shot in-context speech-to-speech with the Base model (§6.7).
    public static func inContextLearning(instruction: String, examples: [Example], query: LMAudio) -> [PromptSegment] {
        var segments: [PromptSegment] = [.text("[Int]:\(instruction)\n")]
        for e in examples {
            segments += [.audio(e.input), .text("\n"), .stream(text: e.transcript, audio: e.output), .text(" \n\n")]
        }
        return segments + [.audio(query), .text("\n"), .text("<|sostm|>")]
    }

    /// Speech continuation with the Base model. No released code has it; this is the format
    /// docs/model.md §6.9 suggests (ours): `<|sosp|>` and the prompt's audio groups with no `<|eosp|>`,
    /// so the model continues the speech with more audio groups.
    public static func continuation(_ audio: LMAudio) -> [PromptSegment] {
        [.text("<|sosp|>"), .audio(audio, boundaries: false)]
    }
}
