/// What a running task reports, in order: progress, text as it is generated (already
/// detokenised, never half a UTF-8 character), thinking apart from the answer, audio, and
/// `finished` last.
public enum TaskEvent: Sendable {
    case progress(TaskProgress)
    /// Answer text.
    case text(String)
    /// Text the model writes while thinking (before `</think>`).
    case thinking(String)
    /// 24 kHz mono samples.
    case audio([Float])
    /// Something the caller should know (an ignored input, a fallback taken).
    case warning(String)
    case finished(TaskResult)
}

public enum TaskProgress: Sendable, Equatable {
    /// Prompt groups prefilled so far of those not found in the prefix cache (0 as it starts).
    case prefill(done: Int, total: Int)
    /// After each generated group: groups so far, audio generated so far, seconds since generation began.
    case step(groups: Int, audioSeconds: Double, elapsed: Double)
}

public struct TaskUsage: Sendable, Equatable, Codable {
    /// Groups of the prompt, and of those the ones taken from the prefix cache.
    public var promptGroups = 0
    public var cachedGroups = 0
    public var generatedGroups = 0
    public var audioSecondsIn = 0.0
    public var audioSecondsOut = 0.0

    public init(
        promptGroups: Int = 0, cachedGroups: Int = 0, generatedGroups: Int = 0, audioSecondsIn: Double = 0,
        audioSecondsOut: Double = 0
    ) {
        self.promptGroups = promptGroups
        self.cachedGroups = cachedGroups
        self.generatedGroups = generatedGroups
        self.audioSecondsIn = audioSecondsIn
        self.audioSecondsOut = audioSecondsOut
    }

    enum CodingKeys: String, CodingKey {
        case promptGroups = "prompt_groups"
        case cachedGroups = "cached_groups"
        case generatedGroups = "generated_groups"
        case audioSecondsIn = "audio_seconds_in"
        case audioSecondsOut = "audio_seconds_out"
    }
}

public struct StreamStats: Sendable, Equatable {
    /// Audio delivered through the streaming decoder, and the wall time it took.
    public var audioSeconds: Double
    public var decodeSeconds: Double
}

public struct TaskResult: Sendable {
    /// The text channel as the reference returns it: decoded with special tokens, stripped,
    /// `<|empty|>`, `<|eot|>` and `<|eostm|>` removed (thinking included).
    public var text: String
    /// With thinking on: what the model wrote before `</think>` (all of it if it never closed).
    public var thinking: String?
    /// The text after the thinking (the whole text without thinking).
    public var answer: String
    /// The generated grid (the stop group included) and the generated text ids (without it).
    public var newIDs: TokenGrid
    public var textIDs: [Int]
    /// Extracted audio codes `[channels][frames]`.
    public var codes: [[Int]]
    /// The prompt followed by `newIDs`: the history of the reference's `add_history`.
    public var sequence: TokenGrid
    public var stopReason: StopReason
    /// The stop token's name (or id when it has none).
    public var stopToken: String?
    public var timings: GenerationTimings
    public var usage: TaskUsage
    public var seed: UInt64
    /// The instruction template drawn (ASR, TTS).
    public var template: String?
    public var stream: StreamStats?
}

extension TaskEvent {
    /// What closes the model's thinking; the engine takes it out of the text events.
    public static let thinkingEnd = "</think>"
}

extension TaskUsage {
    /// Two requests' usage, added up.
    public static func + (a: TaskUsage, b: TaskUsage) -> TaskUsage {
        TaskUsage(
            promptGroups: a.promptGroups + b.promptGroups, cachedGroups: a.cachedGroups + b.cachedGroups,
            generatedGroups: a.generatedGroups + b.generatedGroups, audioSecondsIn: a.audioSecondsIn + b.audioSecondsIn,
            audioSecondsOut: a.audioSecondsOut + b.audioSecondsOut)
    }
}

extension TaskResult {
    /// This result and the next piece's, as one (long TTS text spoken in pieces): texts joined,
    /// grids, codes, timings and usage added up; the stop and the sequence are the last piece's.
    func followed(by next: TaskResult) -> TaskResult {
        var r = next
        r.text = [text, next.text].filter { !$0.isEmpty }.joined(separator: " ")
        r.answer = [answer, next.answer].filter { !$0.isEmpty }.joined(separator: " ")
        if thinking != nil || next.thinking != nil {
            r.thinking = [thinking, next.thinking].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "\n")
        }
        r.newIDs = newIDs
        r.newIDs.append(next.newIDs)
        r.textIDs = textIDs + next.textIDs
        r.codes = zip(codes, next.codes).map { $0 + $1 }
        r.timings = timings + next.timings
        r.usage = usage + next.usage
        if let a = stream, let b = next.stream {
            r.stream = StreamStats(
                audioSeconds: a.audioSeconds + b.audioSeconds, decodeSeconds: a.decodeSeconds + b.decodeSeconds)
        }
        return r
    }
}
