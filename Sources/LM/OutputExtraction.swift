/// What a generation says, read as the reference's `MimoAudio.forward` reads it (docs/model.md §5).
public struct GenerationOutput: Sendable, Equatable {
    /// One text id per generated group, the last (stop) group dropped.
    public var textIDs: [Int]
    /// Audio codes `[channels][T]`: the frames between `<|sostm|>` and `<|eostm|>` (or all)
    /// whose channel-0 code is not the empty id.
    public var codes: [[Int]]
}

public enum ExtractionError: Error, CustomStringConvertible, Equatable {
    case emptyCodeInAudio(channel: Int, frame: Int)

    public var description: String {
        switch self {
        case .emptyCodeInAudio(let channel, let frame):
            return "generated audio frame \(frame) has an empty code on channel \(channel) (a malformed patch)"
        }
    }
}

extension MiMoAudioLM {
    public func extractOutput(_ newIDs: TokenGrid) throws -> GenerationOutput {
        let c = config
        let gs = c.groupSize
        let groups = newIDs.groups(size: gs)
        let text = (0..<max(0, groups - 1)).map { newIDs.text(group: $0, size: gs) }
        let sostm = specialTokens.idsByName["<|sostm|>"]
        let eostm = specialTokens.idsByName["<|eostm|>"]
        let start = text.firstIndex(where: { $0 == sostm }).map { ($0 + 1) * gs } ?? 0
        let end = text.firstIndex(where: { $0 == eostm }).map { $0 * gs } ?? text.count * gs
        var codes = Array(repeating: [Int](), count: c.audioChannels)
        if start < end {
            for column in start..<end where newIDs.rows[1][column] != c.speechEmptyIDs[0] {
                for ch in 0..<c.audioChannels {
                    let code = newIDs.rows[ch + 1][column]
                    guard code < c.speechEmptyIDs[ch] else {
                        throw ExtractionError.emptyCodeInAudio(channel: ch, frame: column)
                    }
                    codes[ch].append(code)
                }
            }
        }
        return GenerationOutput(textIDs: text, codes: codes)
    }
}
