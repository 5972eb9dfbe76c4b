import Foundation
import Weights

/// Sizes of one Qwen2 transformer stack (the backbone, the patch encoder or the patch decoder).
public struct Qwen2Shape: Sendable, Equatable {
    public var hidden: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var intermediate: Int
    public var ropeTheta: Float
    public var eps: Float
}

/// The MiMo-Audio LM configuration, decoded from the checkpoint's `config.json`: Qwen2 fields
/// plus the MiMo fields. Keys the reference gives a default (docs/model.md §3.1) may be absent; a
/// missing key without one (`hidden_size`, `num_hidden_layers`, ...) is an error naming it.
public struct LMConfig: Sendable, Equatable {
    public var vocabSize: Int
    public var backbone: Qwen2Shape
    public var patchEncoder: Qwen2Shape
    public var patchDecoder: Qwen2Shape
    public var maxPositions: Int
    public var tieWordEmbeddings: Bool
    public var speechVocabSizes: [Int]
    public var speechEmptyIDs: [Int]
    public var delayPattern: [Int]
    public var groupSize: Int
    public var audioChannels: Int
    /// Bidirectional attention inside a patch (the reference's `input_full_attention`).
    public var patchEncoderBidirectional: Bool

    public init(contentsOf url: URL) throws {
        try self.init(reader: ConfigReader(url: url))
    }

    public init(reader c: ConfigReader) throws {
        let file = c.source
        func invalid(_ key: String, _ why: String) -> ConfigError { .invalidValue(key: key, reason: why, file: file) }

        vocabSize = try c.int("vocab_size")
        let hidden = try c.int("hidden_size")
        let heads = try c.int("num_attention_heads")
        let eps = Float(try c.double("rms_norm_eps", default: 1e-6))
        let theta = Float(try c.double("rope_theta", default: 10000))
        backbone = Qwen2Shape(
            hidden: hidden, layers: try c.int("num_hidden_layers"), heads: heads,
            kvHeads: try c.int("num_key_value_heads", default: heads), headDim: try c.int("head_dim", default: 128),
            intermediate: try c.int("intermediate_size"), ropeTheta: theta, eps: eps)
        maxPositions = try c.int("max_position_embeddings", default: 32768)
        tieWordEmbeddings = try c.bool("tie_word_embeddings", default: false)
        if let act = try c.optionalString("hidden_act"), act != "silu" {
            throw invalid("hidden_act", "'\(act)' is not supported (only 'silu')")
        }
        if c.has("rope_scaling"), try c.optionalNested("rope_scaling") != nil {
            throw invalid("rope_scaling", "is not supported (the MiMo-Audio backbone uses plain RoPE)")
        }

        audioChannels = try c.int("audio_channels", default: 8)
        groupSize = try c.int("group_size", default: 4)
        speechVocabSizes = try Self.dashList(
            c, "speech_vocab_size", default: "1025-1025-129-129-129-129-129-129", count: audioChannels)
        speechEmptyIDs = try Self.dashList(
            c, "speech_zeroemb_idx", default: "1024-1024-128-128-128-128-128-128", count: audioChannels)
        delayPattern = try Self.dashList(c, "delay_pattern", default: "0-1-2-3-4-5-6-7", count: audioChannels)

        let localDim = try c.int("local_dim", default: 1024)
        let localHeads = try c.int("local_attn_heads", default: 64)
        patchDecoder = Qwen2Shape(
            hidden: localDim, layers: try c.int("local_layers", default: 16), heads: localHeads, kvHeads: localHeads,
            headDim: localHeads > 0 ? localDim / localHeads : 0,
            intermediate: try c.int("local_ffn_dim", default: 4096),
            ropeTheta: theta, eps: eps)
        let inputDim = try c.optionalInt("input_local_dim") ?? localDim
        // MiMo-V2.5-ASR spells the patch encoder's heads explicitly; the reference reuses local_attn_heads.
        let inputHeads = try c.optionalInt("input_local_attn_heads") ?? localHeads
        let inputHeadDim = try c.optionalInt("input_local_head_dim") ?? (inputHeads > 0 ? inputDim / inputHeads : 0)
        patchEncoder = Qwen2Shape(
            hidden: inputDim, layers: try c.int("input_local_layers", default: 6), heads: inputHeads,
            kvHeads: inputHeads,
            headDim: inputHeadDim, intermediate: inputDim * 4, ropeTheta: theta, eps: eps)
        // The reference passes is_causal = not input_full_attention: absent means causal.
        patchEncoderBidirectional = try c.optionalBool("input_full_attention") ?? false

        try validate(invalid)
    }

    private static func dashList(_ c: ConfigReader, _ key: String, default fallback: String, count: Int) throws -> [Int]
    {
        // A dash-separated string ("1025-1025-129-...") or one integer for every channel.
        let text: String
        if let number = try? c.optionalInt(key) {
            text = String(number)
        } else {
            text = try c.optionalString(key) ?? fallback
        }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        guard !parts.contains(where: { $0 == nil }) else {
            throw ConfigError.invalidValue(
                key: key, reason: "'\(text)' is not a dash-separated list of integers", file: c.source)
        }
        let values = parts.compactMap { $0 }
        if values.count == 1 { return Array(repeating: values[0], count: count) }
        guard values.count == count else {
            throw ConfigError.invalidValue(
                key: key, reason: "has \(values.count) entries, audio_channels is \(count)", file: c.source)
        }
        return values
    }

    private func validate(_ invalid: (String, String) -> ConfigError) throws {
        let bound = 1 << 24
        for (key, v) in [
            ("vocab_size", vocabSize), ("max_position_embeddings", maxPositions),
            ("audio_channels", audioChannels), ("group_size", groupSize),
        ] {
            guard v > 0 && v <= bound else { throw invalid(key, "must be positive, got \(v)") }
        }
        // Each value under the config.json key it came from (or derives from).
        typealias Keys = (
            hidden: String, heads: String, headDim: String, intermediate: String, layers: String, kvHeads: String
        )
        let stacks: [(Qwen2Shape, Keys)] = [
            (
                backbone,
                (
                    "hidden_size", "num_attention_heads", "head_dim", "intermediate_size", "num_hidden_layers",
                    "num_key_value_heads"
                )
            ),
            (
                patchEncoder,
                (
                    "input_local_dim", "input_local_attn_heads", "input_local_head_dim", "input_local_dim",
                    "input_local_layers", "input_local_attn_heads"
                )
            ),
            (
                patchDecoder,
                ("local_dim", "local_attn_heads", "local_dim", "local_ffn_dim", "local_layers", "local_attn_heads")
            ),
        ]
        for (s, k) in stacks {
            for (key, v) in [
                (k.hidden, s.hidden), (k.heads, s.heads), (k.headDim, s.headDim), (k.intermediate, s.intermediate),
            ] {
                guard v > 0 && v <= bound else { throw invalid(key, "must be positive, got \(v)") }
            }
            guard s.layers >= 0 && s.layers <= 4096 else {
                throw invalid(k.layers, "must be a layer count, got \(s.layers)")
            }
            guard s.kvHeads > 0 && s.heads % s.kvHeads == 0 else {
                throw invalid(k.kvHeads, "must divide the attention heads")
            }
            guard s.headDim % 2 == 0 else { throw invalid(k.headDim, "must be even for RoPE") }
        }
        guard patchEncoder.heads * patchEncoder.headDim == patchEncoder.hidden else {
            throw invalid("input_local_dim", "must equal heads × head_dim")
        }
        guard patchDecoder.heads * patchDecoder.headDim == patchDecoder.hidden else {
            throw invalid("local_dim", "must be divisible by local_attn_heads")
        }
        for c in 0..<audioChannels {
            guard speechVocabSizes[c] > 0 && speechVocabSizes[c] <= bound else {
                throw invalid("speech_vocab_size", "entries must be positive")
            }
            guard (0..<speechVocabSizes[c]).contains(speechEmptyIDs[c]) else {
                throw invalid("speech_zeroemb_idx", "entry \(c) (\(speechEmptyIDs[c])) is outside its vocabulary")
            }
            guard delayPattern[c] >= 0 && delayPattern[c] < 1024 else {
                throw invalid("delay_pattern", "entries must be small non-negative integers")
            }
        }
    }

    /// Rows of the token grid: the text channel plus the audio channels.
    public var gridRows: Int { audioChannels + 1 }
    /// Patch-decoder steps per patch: group_size + max(delay).
    public var localSteps: Int { groupSize + (delayPattern.max() ?? 0) }
}
