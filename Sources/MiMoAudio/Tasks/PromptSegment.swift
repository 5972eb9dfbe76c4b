import Foundation

/// Audio as the LM takes it: `[frames][channels]` codes, frames a multiple of the group size
/// (the reference pads by repeating the last frame).
public struct LMAudio: Sendable, Equatable {
    public var frames: [[Int]]

    public init(frames: [[Int]]) { self.frames = frames }

    /// From codec codes `[codebooks][T]`: the first `channels` codebooks, padded to a multiple
    /// of `groupSize` frames by repeating the last frame (`MimoAudio.preprocess_input`).
    public init(codes: [[Int]], channels: Int, groupSize: Int) {
        let t = codes.first?.count ?? 0
        var frames = (0..<t).map { f in (0..<channels).map { codes[$0][f] } }
        if let last = frames.last, t % groupSize != 0 {
            frames += Array(repeating: last, count: groupSize - t % groupSize)
        }
        self.frames = frames
    }

    /// 24 kHz samples encoded by the codec into the LM's channels.
    public init(samples: [Float], codec: AudioTokenizer, config: LMConfig) throws {
        let codes = try codec.encode(samples: samples, codebooks: config.audioChannels)
        self.init(codes: codes, channels: config.audioChannels, groupSize: config.groupSize)
    }
}

/// One piece of a prompt, as the reference's `InputSegment` / `StreamingInputSegment`. Each
/// text piece is tokenised on its own (BPE never merges across pieces).
public enum PromptSegment: Sendable, Equatable {
    case text(String)
    /// Audio groups, between `<|sosp|>` and `<|eosp|>` groups when `boundaries`.
    case audio(LMAudio, boundaries: Bool = true)
    /// Interleaved speech (§3.2): `<|sostm|>`, then 5 text tokens and 5 audio groups in turn
    /// (`<|eot|>` after the last text token), the leftovers, then `<|eostm|>`.
    case stream(text: String, audio: LMAudio)
}

public enum PromptError: Error, CustomStringConvertible, Equatable {
    case emptyAudio
    case wrongChannelCount(found: Int, expected: Int)
    case notWholeGroups(frames: Int, groupSize: Int)

    public var description: String {
        switch self {
        case .emptyAudio: return "an audio segment has no frames"
        case .wrongChannelCount(let found, let expected):
            return "audio frames have \(found) codes, the LM takes \(expected)"
        case .notWholeGroups(let frames, let size):
            return "audio has \(frames) frames, not a multiple of the group size \(size)"
        }
    }
}
