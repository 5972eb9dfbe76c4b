/// Turns prompt segments into the LM's token grid (docs/model.md §3.2).
public struct PromptBuilder: Sendable {
    public let tokenizer: TextTokenizer
    public let config: LMConfig
    let empty, sosp, eosp, sostm, eostm, eot: Int

    public init(tokenizer: TextTokenizer, config: LMConfig) throws {
        self.tokenizer = tokenizer
        self.config = config
        let s = tokenizer.specialTokens
        empty = try s.id("<|empty|>")
        sosp = try s.id("<|sosp|>")
        eosp = try s.id("<|eosp|>")
        sostm = try s.id("<|sostm|>")
        eostm = try s.id("<|eostm|>")
        eot = try s.id("<|eot|>")
    }

    public func grid(_ segments: [PromptSegment]) throws -> TokenGrid {
        var grid = TokenGrid(rows: Array(repeating: [], count: config.gridRows))
        for segment in segments {
            switch segment {
            case .text(let text):
                appendText(tokenizer.encode(text), to: &grid)
            case .audio(let audio, let boundaries):
                try appendAudio(audio, boundaries: boundaries, to: &grid)
            case .stream(let text, let audio):
                try appendStream(text: text, audio: audio, to: &grid)
            }
        }
        return grid
    }

    /// Each text id fills one group: the id then −100 fillers; audio rows hold the empty ids.
    private func appendText(_ ids: [Int], to grid: inout TokenGrid) {
        let gs = config.groupSize
        for id in ids {
            grid.rows[0] += [id] + Array(repeating: -100, count: gs - 1)
            for ch in 0..<config.audioChannels {
                grid.rows[ch + 1] += Array(repeating: config.speechEmptyIDs[ch], count: gs)
            }
        }
    }

    private func appendAudio(_ audio: LMAudio, boundaries: Bool, to grid: inout TokenGrid) throws {
        let gs = config.groupSize
        guard !audio.frames.isEmpty else { throw PromptError.emptyAudio }
        guard audio.frames.count % gs == 0 else {
            throw PromptError.notWholeGroups(frames: audio.frames.count, groupSize: gs)
        }
        if let bad = audio.frames.first(where: { $0.count != config.audioChannels }) {
            throw PromptError.wrongChannelCount(found: bad.count, expected: config.audioChannels)
        }
        if boundaries { appendText([sosp], to: &grid) }
        for g in 0..<(audio.frames.count / gs) {
            grid.rows[0] += [empty] + Array(repeating: -100, count: gs - 1)
            for ch in 0..<config.audioChannels {
                grid.rows[ch + 1] += (0..<gs).map { audio.frames[g * gs + $0][ch] }
            }
        }
        if boundaries { appendText([eosp], to: &grid) }
    }

    private func appendStream(text: String, audio: LMAudio, to grid: inout TokenGrid) throws {
        let gs = config.groupSize
        let textChunk = 5
        let audioChunk = 5 * gs
        let ids = tokenizer.encode(text)
        var textParts = stride(from: 0, to: ids.count, by: textChunk).map {
            Array(ids[$0..<min(ids.count, $0 + textChunk)])
        }
        // The reference appends <|eot|> to the last chunk itself (which may then hold 6 ids);
        // an empty text still gets it.
        if textParts.isEmpty { textParts = [[]] }
        textParts[textParts.count - 1].append(eot)
        let audioParts = stride(from: 0, to: audio.frames.count, by: audioChunk).map {
            LMAudio(frames: Array(audio.frames[$0..<min(audio.frames.count, $0 + audioChunk)]))
        }
        appendText([sostm], to: &grid)
        let paired = min(textParts.count, audioParts.count)
        for i in 0..<paired {
            appendText(textParts[i], to: &grid)
            try appendAudio(audioParts[i], boundaries: false, to: &grid)
        }
        for part in textParts.dropFirst(paired) { appendText(part, to: &grid) }
        for part in audioParts.dropFirst(paired) { try appendAudio(part, boundaries: false, to: &grid) }
        appendText([eostm], to: &grid)
    }
}
