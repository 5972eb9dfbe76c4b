import Foundation

/// Everything a task needs: the LM with its text tokenizer, and (for audio in or out) the
/// codec. Immutable once loaded; requests run through an `Engine`.
public final class Pipeline: Sendable {
    public let lm: MiMoAudioLM
    public let textTokenizer: TextTokenizer
    public let prompts: PromptBuilder
    public let codec: AudioTokenizer?

    public init(
        model: URL, audioTokenizer: URL?, compute: Compute, quantize: WeightFormat? = nil,
        kvPrecision: KVPrecision = .f32, codecQuantize: WeightFormat? = nil
    ) throws {
        let config = try LMConfig(contentsOf: model.appendingPathComponent("config.json"))
        textTokenizer = try TextTokenizer(directory: model)
        lm = try MiMoAudioLM(
            config: config, directory: model, specialTokens: textTokenizer.specialTokens, compute: compute,
            quantize: quantize,
            kvPrecision: kvPrecision)
        prompts = try PromptBuilder(tokenizer: textTokenizer, config: lm.config)
        codec = try audioTokenizer.map { try AudioTokenizer(directory: $0, compute: compute, quantize: codecQuantize) }
    }

    public enum PipelineError: Error, CustomStringConvertible, Equatable {
        case noAudioTokenizer
        /// Refused before encoding: this task cannot split audio yet.
        case audioTooLong(seconds: Double, maximumSeconds: Double, groups: Int, maximumGroups: Int)

        public var description: String {
            switch self {
            case .noAudioTokenizer: return "this task needs audio in or out: give --audio-tokenizer DIR"
            case .audioTooLong(let seconds, let maximum, let groups, let maximumGroups):
                return String(
                    format:
                        "the audio is %.1f s long; the LM's context holds at most %.1f s of audio (%d positions; this needs %d)",
                    seconds, maximum, maximumGroups, groups)
            }
        }
    }

    public func requireCodec() throws -> AudioTokenizer {
        guard let codec else { throw PipelineError.noAudioTokenizer }
        return codec
    }

    /// A WAV file as the LM's audio input: load, downmix, resample, encode, pad to whole groups.
    /// Audio that could not fit the context is rejected before the (costly) encoding.
    public func lmAudio(_ url: URL) throws -> LMAudio {
        try lmAudio(samples: try AudioInput.load(url, sampleRate: try requireCodec().sampleRate))
    }

    /// 24 kHz mono samples as the LM's audio input (see `lmAudio(_:)`).
    public func lmAudio(samples: [Float]) throws -> LMAudio {
        let codec = try requireCodec()
        let groups = estimatedGroups(samples: samples.count, codec: codec)
        guard groups <= lm.config.maxPositions else {
            let groupSeconds = Double(lm.config.groupSize) / frameRate
            throw PipelineError.audioTooLong(
                seconds: Double(samples.count) / Double(codec.sampleRate),
                maximumSeconds: Double(lm.config.maxPositions - 2) * groupSeconds,
                groups: groups, maximumGroups: lm.config.maxPositions)
        }
        return try LMAudio(samples: samples, codec: codec, config: lm.config)
    }

    /// LM positions an audio segment of `n` samples takes: its 25 Hz frames in groups, plus the
    /// `<|sosp|>` and `<|eosp|>` groups.
    func estimatedGroups(samples n: Int, codec: AudioTokenizer) -> Int {
        let mel = 1 + n / codec.config.hopLength
        let frames50 = (mel - 1) / codec.config.strideSize + 1
        let frames25 = (frames50 + codec.config.avgPooler - 1) / codec.config.avgPooler
        return (frames25 + lm.config.groupSize - 1) / lm.config.groupSize + 2
    }

    /// The text channel as the reference returns it: decoded with special tokens, stripped, and
    /// `<|empty|>`, `<|eot|>`, `<|eostm|>` removed.
    public func text(_ ids: [Int]) -> String {
        var text = PythonText.strip(textTokenizer.decode(ids, skipSpecialTokens: false))
        for token in ["<|empty|>", "<|eot|>", "<|eostm|>"] { text = text.replacingOccurrences(of: token, with: "") }
        return text
    }

}

extension Pipeline {
    /// Audio frames per second of the LM's codes (25).
    public var frameRate: Double { codec?.config.frameRate ?? 25 }
}
