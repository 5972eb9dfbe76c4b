/// What the engine runs for a request, in one place per task: the prompt recipe (docs/model.md §6), the
/// stop set, the sampler preset, whether generation starts inside a thinking block and whether
/// the task speaks.
struct TaskRecipe {
    var prompt: TokenGrid
    var stops: Set<Int>
    var preset: TaskSamplers
    var startsThinking = false
    var speaks = false
    var template: String?
    var warnings: [String] = []
    var audioSecondsIn = 0.0

    static let textStops = ["<|endoftext|>", "<|im_end|>"]
    static let speechStops = ["<|endoftext|>", "<|eostm|>", "<|im_end|>"]

    /// `audio` turns an input into the LM's codes (encoding samples with the codec).
    init(_ request: TaskRequest, prompts: PromptBuilder, audio: (AudioSource) throws -> LMAudio) throws {
        func stops(_ names: [String]) throws -> Set<Int> { try prompts.tokenizer.specialTokens.ids(names) }
        var audioSeconds = 0.0
        func lmAudio(_ source: AudioSource) throws -> LMAudio {
            if case .samples(let s) = source { audioSeconds += Double(s.count) / AudioSource.sampleRate }
            return try audio(source)
        }
        func template(_ list: [String]) throws -> String {
            if let index = request.templateIndex {
                guard list.indices.contains(index) else {
                    throw EngineError.templateIndexOutOfRange(index: index, count: list.count)
                }
                return list[index]
            }
            return list[Self.templateDraw(count: list.count, seed: request.seed)]
        }
        let segments: [PromptSegment]
        switch request.task {
        case .asr(let input):
            let fixed = request.templateIndex == nil ? request.fixedTemplate.map(Templates.asrEvaluation) : nil
            let drawn = try fixed ?? template(Templates.asr)
            self.template = drawn
            segments = TaskPrompts.asr(try lmAudio(input), template: drawn)
            self.stops = try stops(Self.textStops)
            preset = .asr
        case .tts(let text, let instruct, let voice, let natural):
            var voiceAudio: LMAudio?
            if let voice {
                if instruct == nil && !natural {
                    warnings.append(
                        "plain TTS ignores the voice prompt, as the reference does; give an instruction or use natural TTS to apply it"
                    )
                } else {
                    voiceAudio = try lmAudio(voice)
                }
            }
            let drawn = natural ? nil : try template(Templates.tts(for: text))
            self.template = drawn
            segments = TaskPrompts.tts(text, template: drawn, instruct: instruct, voice: voiceAudio, natural: natural)
            self.stops = try stops(Self.speechStops)
            preset = .tts
            startsThinking = natural || instruct != nil
            speaks = true
        case .audioQuestion(let input, let question, let thinking):
            segments = TaskPrompts.audioUnderstanding(try lmAudio(input), question: question, thinking: thinking)
            self.stops = try stops(Self.textStops)
            preset = .audioUnderstanding
            startsThinking = thinking
        case .spokenDialogue(let conversation):
            if let history = conversation.history {
                let turns = try Self.turns(conversation, assistantSpeech: true, audio: lmAudio)
                var grid = history
                grid.append(try prompts.grid(TaskPrompts.spokenDialogueNextTurns(turns)))
                prompt = grid
                self.stops = try stops(Self.speechStops)
                preset = .spokenDialogue
                speaks = true
                audioSecondsIn = audioSeconds
                return
            }
            let turns = try Self.turns(conversation, assistantSpeech: true, audio: lmAudio)
            segments = TaskPrompts.spokenDialogue(
                turns, system: conversation.system, voice: try conversation.voice.map(lmAudio))
            self.stops = try stops(Self.speechStops)
            preset = .spokenDialogue
            speaks = true
        case .speechToTextDialogue(let conversation, let thinking):
            let turns = try Self.turns(conversation, assistantSpeech: false, audio: lmAudio)
            self.stops = try stops(Self.textStops)
            preset = .spokenDialogue
            startsThinking = thinking
            if let history = conversation.history {
                // As the spoken dialogue continues one (ours for this recipe).
                var grid = history
                grid.append(try prompts.grid(TaskPrompts.speechToTextDialogueNextTurns(turns, thinking: thinking)))
                prompt = grid
                audioSecondsIn = audioSeconds
                return
            }
            segments = TaskPrompts.speechToTextDialogue(turns, system: conversation.system, thinking: thinking)
        case .textDialogue(let messages, let thinking):
            guard case .user? = messages.last else { throw EngineError.noUserTurn }
            segments = TaskPrompts.textDialogue(messages, thinking: thinking)
            self.stops = try stops(Self.textStops)
            preset = .textChat
            startsThinking = thinking
        case .inContextLearning(let instruction, let examples, let query):
            guard !examples.isEmpty else { throw EngineError.noExamples }
            let shots = try examples.map {
                TaskPrompts.Example(
                    input: try lmAudio($0.input), output: try lmAudio($0.output), transcript: $0.transcript)
            }
            segments = TaskPrompts.inContextLearning(
                instruction: instruction, examples: shots, query: try lmAudio(query))
            self.stops = try stops(["<|endoftext|>", "<|eostm|>"])
            preset = .inContextLearning
            speaks = true
        case .continuation(let input):
            segments = TaskPrompts.continuation(try lmAudio(input))
            self.stops = try stops(["<|endoftext|>", "<|eosp|>", "<|eostm|>"])
            preset = .default
            speaks = true
        case .grid(let grid, let stopIDs):
            guard !stopIDs.isEmpty else { throw EngineError.noStopTokens }
            if let bad = stopIDs.first(where: { !(0..<prompts.config.vocabSize).contains($0) }) {
                throw EngineError.stopTokenOutOfRange(id: bad, vocab: prompts.config.vocabSize)
            }
            prompt = grid
            self.stops = stopIDs
            preset = .default
            speaks = true
            return
        }
        prompt = try prompts.grid(segments)
        audioSecondsIn = audioSeconds
    }

    /// A dialogue's turns with their audio as codes (the assistant's only if `assistantSpeech`);
    /// the last must be the user's, and after a history all must be.
    static func turns(
        _ conversation: Conversation, assistantSpeech: Bool, audio: (AudioSource) throws -> LMAudio
    ) throws
        -> [TaskPrompts.Turn]
    {
        switch conversation.turns.last {
        case .user?, .userText?, .userAudioAndText?: break
        default: throw EngineError.noUserTurn
        }
        // After a history (which holds the replies), only new user turns.
        if conversation.history != nil,
            conversation.turns.contains(where: { if case .assistant = $0 { true } else { false } })
        {
            throw EngineError.assistantTurnAfterHistory
        }
        return try conversation.turns.map { turn -> TaskPrompts.Turn in
            switch turn {
            case .user(let a): return .user(try audio(a))
            case .userText(let text): return .userText(text)
            case .userAudioAndText(let a, let text): return .userAudioAndText(try audio(a), text)
            case .assistant(let text, let a?) where assistantSpeech:
                return .assistantSpeech(text: text, audio: try audio(a))
            case .assistant(let text, _): return .assistantText(text)
            }
        }
    }

    /// The entry of a template list the reference's `random.choice` stands for, drawn from the seed.
    static func templateDraw(count: Int, seed: UInt64) -> Int {
        var rng = SeededGenerator(seed: seed ^ 0x7E3A_11CE)
        return Int.random(in: 0..<count, using: &rng)
    }

    /// The preset with the request's overrides (the CLI's `--greedy`, `--temperature`, ...).
    func samplers(_ request: TaskRequest) -> (text: SamplerSettings, audio: SamplerSettings) {
        if request.greedy { return (.greedy, .greedy) }
        var (text, audio) = preset.settings
        let t = request.text
        if !t.isEmpty {
            text.doSample = true
            text.temperature = t.temperature ?? text.temperature
            text.topP = t.topP ?? text.topP
            text.topK = t.topK ?? text.topK
        }
        audio.temperature = request.audio.temperature ?? audio.temperature
        audio.topP = request.audio.topP ?? audio.topP
        audio.topK = request.audio.topK ?? audio.topK
        return (text, audio)
    }
}

extension TaskRequest {
    /// The prompt grid the engine feeds the LM for this request (the recipe of docs/model.md §6 with the
    /// template drawn from the seed or pinned by `templateIndex`), built with `prompts`; `audio`
    /// turns each audio input into the LM's codes.
    public func prompt(_ prompts: PromptBuilder, audio: (AudioSource) throws -> LMAudio) throws -> TokenGrid {
        try TaskRecipe(self, prompts: prompts, audio: audio).prompt
    }
}
