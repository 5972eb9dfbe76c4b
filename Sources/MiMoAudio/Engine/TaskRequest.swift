import Foundation

/// Audio given to a task: 24 kHz mono samples (encoded by the engine's codec) or codes the LM
/// takes as they are.
public enum AudioSource: Sendable, Equatable {
    case samples([Float])
    case codes(LMAudio)

    /// The rate of `samples`.
    public static let sampleRate = 24000.0
}

/// A turn of a dialogue with audio input.
public enum DialogueTurn: Sendable, Equatable {
    case user(AudioSource)
    /// A typed user turn, or speech followed by typed text in one turn (ours: the reference's
    /// dialogue recipes take speech only; these render as its text dialogue and audio question do).
    case userText(String)
    case userAudioAndText(AudioSource, String)
    /// An earlier reply: its text, and its speech when the dialogue is spoken (without it, a
    /// spoken dialogue renders the reply as text).
    case assistant(text: String, audio: AudioSource?)
}

/// A conversation, passed whole with every request: nothing is kept in the model, so any
/// replica can serve any turn (the engine's prefix cache only saves work).
public struct Conversation: Sendable, Equatable {
    public var turns: [DialogueTurn]
    /// Text put at the start of the first user turn (the reference's spoken dialogue; ours for
    /// speech-to-text dialogue).
    public var system: String?
    /// Spoken dialogue: the assistant's voice prompt.
    public var voice: AudioSource?
    /// The reference's `add_history`: the whole previous sequence (`TaskResult.sequence`); `turns`
    /// are then the new user turns only, appended to it.
    public var history: TokenGrid?

    public init(turns: [DialogueTurn], system: String? = nil, voice: AudioSource? = nil, history: TokenGrid? = nil) {
        self.turns = turns
        self.system = system
        self.voice = voice
        self.history = history
    }
}

public struct ICLExample: Sendable, Equatable {
    public var input: AudioSource
    public var output: AudioSource
    /// The text spoken in `output`.
    public var transcript: String

    public init(input: AudioSource, output: AudioSource, transcript: String) {
        self.input = input
        self.output = output
        self.transcript = transcript
    }
}

/// A flag a caller sets to end a generation early but cleanly (see `TaskRequest.stopSignal`).
public final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false

    public init() {}

    public func stop() { lock.withLock { set = true } }
    public var isSet: Bool { lock.withLock { set } }
}

/// Testing only: the first `count` groups take a fixed text token: `<|empty|>` (speech patches, so
/// a random-weight model speaks) or an ordinary word (cheap steps, so it runs as long as a test
/// needs without producing audio).
public struct ForcedSteps: Sendable, Equatable {
    public enum Token: Sendable, Equatable { case speech, text }
    public var token: Token
    public var count: Int
    public init(_ token: Token, count: Int) { (self.token, self.count) = (token, count) }
}

/// One task to run: what to do, how to sample, how long, and how audio comes back. A plain
/// value: front ends build it from their input, the engine does the rest.
public struct TaskRequest: Sendable {
    public enum Task: Sendable {
        /// Speech recognition (Instruct model).
        case asr(AudioSource)
        /// Text to speech: plain, with a style instruction, with a voice prompt (used with an
        /// instruction or `natural`, ignored by plain TTS as the reference does), or natural
        /// (the text carries its own instruction).
        case tts(text: String, instruct: String? = nil, voice: AudioSource? = nil, natural: Bool = false)
        /// A question about audio, optionally thinking first.
        case audioQuestion(AudioSource, question: String, thinking: Bool = false)
        /// Speech in, speech and text out.
        case spokenDialogue(Conversation)
        /// Speech in, text out.
        case speechToTextDialogue(Conversation, thinking: Bool = false)
        /// Text in, text out.
        case textDialogue([TaskPrompts.ChatMessage], thinking: Bool = false)
        /// Few-shot speech-to-speech with the Base model.
        case inContextLearning(instruction: String, examples: [ICLExample], query: AudioSource)
        /// More of the same speech, with the Base model (our format, docs/model.md §6.9).
        case continuation(AudioSource)
        /// A prompt grid as it is, with the reference's default samplers and these stop ids.
        case grid(TokenGrid, stops: Set<Int>)
    }

    /// Overrides of one channel's sampler preset.
    public struct SamplerOverrides: Sendable, Equatable {
        public var temperature: Float?
        public var topP: Float?
        public var topK: Int?
        public init(temperature: Float? = nil, topP: Float? = nil, topK: Int? = nil) {
            self.temperature = temperature
            self.topP = topP
            self.topK = topK
        }
        var isEmpty: Bool { temperature == nil && topP == nil && topK == nil }
    }

    /// How generated speech comes back as `TaskEvent.audio`.
    public enum AudioDelivery: Sendable, Equatable {
        /// Codes only (in the result).
        case none
        /// One chunk when generation ends: the reference's whole decode, or 1 s of silence
        /// when no speech was generated, as the reference writes.
        case whole
        /// Chunks while generating, through the streaming decoder every `chunkFrames` frames
        /// (the reference's schedule: 10 s of left context, 1.6 s held back).
        case streamed(chunkFrames: Int)
    }

    public var task: Task
    /// Greedy text and audio, whatever the preset.
    public var greedy: Bool
    /// Text-channel overrides; any of them turns sampling on for a greedy preset.
    public var text: SamplerOverrides
    public var audio: SamplerOverrides
    /// Seeds sampling and the instruction-template draw.
    public var seed: UInt64
    /// Groups before a stop token may end generation, and the most to generate.
    public var minNewTokens: Int
    public var maxNewTokens: Int
    /// Pins entry N of the instruction-template list the reference draws from (ASR, TTS).
    public var templateIndex: Int?
    /// ASR without `templateIndex`: the evaluation toolkit's fixed instruction in this language
    /// instead of a draw from the seed (the same transcript every run).
    public var fixedTemplate: TemplateLanguage?
    public var audioDelivery: AudioDelivery
    /// Strings that end the answer (OpenAI's `stop`): generation ends after the step whose text
    /// completes one, and neither the events nor `TaskResult.answer` contain it or what follows.
    public var stopTexts: [String] = []
    /// Set it to end generation after the current step with a result (a barge-in), unlike
    /// cancelling, which ends without one.
    public var stopSignal: StopSignal?
    /// Testing only: the first groups' text tokens, whatever the model samples.
    public var forcedSteps: ForcedSteps?

    public init(
        _ task: Task, seed: UInt64 = 0, greedy: Bool = false, text: SamplerOverrides = .init(),
        audio: SamplerOverrides = .init(), minNewTokens: Int = 0, maxNewTokens: Int = 8192,
        templateIndex: Int? = nil, audioDelivery: AudioDelivery = .none
    ) {
        self.task = task
        self.seed = seed
        self.greedy = greedy
        self.text = text
        self.audio = audio
        self.minNewTokens = minNewTokens
        self.maxNewTokens = maxNewTokens
        self.templateIndex = templateIndex
        self.audioDelivery = audioDelivery
    }
}
