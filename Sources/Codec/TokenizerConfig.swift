import Foundation
import Weights

/// The MiMo-Audio-Tokenizer configuration, decoded from the checkpoint's `config.json`.
///
/// Keys that fix the architecture's sizes are required (the reference's class defaults are not
/// the checkpoint's values, so silently defaulting them would only fail later, less clearly).
/// Behavioural keys whose reference default is the released value may be absent.
public struct TokenizerConfig: Sendable, Equatable {
    public var samplingRate: Int
    public var nMels: Int
    public var nfft: Int
    public var hopLength: Int
    public var windowSize: Int
    public var fmin: Double
    public var fmax: Double?

    public var dModel: Int
    public var kernelSize: Int
    public var strideSize: Int
    public var avgPooler: Int

    public var encoderLayers: Int
    public var encoderHeads: Int
    public var encoderFFNDim: Int
    /// 1-based: the output of `layers[id − 1]` is added to the last layer's output.
    public var encoderSkipLayerID: Int?
    public var encoderCausal: Bool
    public var encoderWindow: [Int]

    public var decoderLayers: Int
    public var decoderHeads: Int
    public var decoderFFNDim: Int
    public var decoderKernelSize: Int
    public var decoderStrideSize: Int
    public var decoderCausal: Bool
    public var decoderWindow: [Int]

    public var vocoderDim: Int
    public var vocoderIntermediateDim: Int
    public var vocoderLayers: Int
    public var vocoderHeads: Int
    public var vocoderWindow: [Int]

    public var numQuantizers: Int
    public var codebookSizes: [Int]
    public var ropeTheta: Double

    public init(contentsOf url: URL) throws {
        try self.init(reader: ConfigReader(url: url))
    }

    public init(reader c: ConfigReader) throws {
        samplingRate = try c.int("sampling_rate")
        nMels = try c.int("n_mels")
        nfft = try c.int("nfft")
        hopLength = try c.int("hop_length")
        windowSize = try c.int("window_size")
        fmin = try c.double("fmin", default: 0)
        fmax = try c.optionalDouble("fmax")
        dModel = try c.int("d_model")
        kernelSize = try c.int("kernel_size")
        strideSize = try c.int("stride_size")
        avgPooler = try c.int("avg_pooler")
        encoderLayers = try c.int("encoder_layers")
        encoderHeads = try c.int("encoder_attention_heads")
        encoderFFNDim = try c.int("encoder_ffn_dim")
        encoderSkipLayerID = try c.optionalInt("encoder_skip_layer_id")
        encoderCausal = try c.bool("encoder_causal", default: false)
        encoderWindow = try c.optionalIntArray("encoder_attn_window_size") ?? [-1, -1]
        decoderLayers = try c.int("decoder_layers")
        decoderHeads = try c.int("decoder_attention_heads")
        decoderFFNDim = try c.int("decoder_ffn_dim")
        decoderKernelSize = try c.int("decoder_kernel_size")
        decoderStrideSize = try c.int("decoder_stride_size")
        decoderCausal = try c.bool("decoder_causal", default: true)
        decoderWindow = try c.optionalIntArray("decoder_attn_window_size") ?? [-1, -1]
        vocoderDim = try c.int("vocoder_dim")
        vocoderIntermediateDim = try c.int("vocoder_intermediate_dim")
        vocoderLayers = try c.int("vocoder_num_layers")
        vocoderHeads = try c.int("vocoder_attention_heads")
        vocoderWindow = try c.optionalIntArray("vocoder_attn_window_size") ?? [40, 10]
        numQuantizers = try c.int("num_quantizers")
        let sizes = try c.intArray("codebook_size")
        ropeTheta = try c.double("rope_theta", default: 10000)

        // The reference pads a short codebook list by repeating its last entry.
        guard let last = sizes.last else {
            throw ConfigError.invalidValue(key: "codebook_size", reason: "is empty", file: c.source)
        }
        codebookSizes = Array(
            (sizes + Array(repeating: last, count: max(0, numQuantizers - sizes.count))).prefix(numQuantizers))

        for (key, value) in [
            "ln_type": "LayerNorm", "activation_function": "gelu", "rope_type": "default",
            "position_embedding_type": "rope", "vocoder_padding": "same",
        ] {
            if let found = try c.optionalString(key), found != value {
                throw ConfigError.invalidValue(
                    key: key, reason: "'\(found)' is not supported (only '\(value)')", file: c.source)
            }
        }
        try validate(path: c.source)
    }

    private func validate(path: String) throws {
        func check(_ ok: Bool, _ key: String, _ why: String) throws {
            if !ok { throw ConfigError.invalidValue(key: key, reason: why, file: path) }
        }
        for (key, v) in [
            ("sampling_rate", samplingRate), ("n_mels", nMels), ("nfft", nfft), ("hop_length", hopLength),
            ("window_size", windowSize), ("d_model", dModel), ("kernel_size", kernelSize),
            ("stride_size", strideSize), ("avg_pooler", avgPooler), ("encoder_attention_heads", encoderHeads),
            ("encoder_ffn_dim", encoderFFNDim), ("decoder_attention_heads", decoderHeads),
            ("decoder_ffn_dim", decoderFFNDim), ("decoder_kernel_size", decoderKernelSize),
            ("decoder_stride_size", decoderStrideSize), ("vocoder_dim", vocoderDim),
            ("vocoder_intermediate_dim", vocoderIntermediateDim), ("vocoder_attention_heads", vocoderHeads),
            ("num_quantizers", numQuantizers),
        ] {
            try check(v > 0 && v <= 1 << 20, key, "must be a positive size, got \(v)")
        }
        for (key, v) in [
            ("encoder_layers", encoderLayers), ("decoder_layers", decoderLayers), ("vocoder_num_layers", vocoderLayers),
        ] {
            try check(v >= 0 && v <= 4096, key, "must be a layer count, got \(v)")
        }
        try check(
            dModel % encoderHeads == 0 && (dModel / encoderHeads) % 2 == 0, "encoder_attention_heads",
            "must divide d_model into even head sizes")
        try check(
            dModel % decoderHeads == 0 && (dModel / decoderHeads) % 2 == 0, "decoder_attention_heads",
            "must divide d_model into even head sizes")
        try check(
            vocoderDim % vocoderHeads == 0 && (vocoderDim / vocoderHeads) % 2 == 0, "vocoder_attention_heads",
            "must divide vocoder_dim into even head sizes")
        try check(nfft % 2 == 0 && windowSize == nfft, "window_size", "must equal an even nfft")
        try check(
            hopLength <= windowSize && (windowSize - hopLength) % 2 == 0, "hop_length",
            "must not exceed the window and leave an even overlap")
        try check(codebookSizes.allSatisfy { $0 > 0 && $0 <= 1 << 20 }, "codebook_size", "entries must be positive")
        try check(
            encoderSkipLayerID.map { $0 >= 1 && $0 <= encoderLayers } ?? true, "encoder_skip_layer_id",
            "must name one of the encoder layers (1-based)")
        try check(kernelSize == 3, "kernel_size", "only 3 is supported (the stem convolutions pad by 1)")
        try check(decoderKernelSize >= decoderStrideSize, "decoder_kernel_size", "must be at least decoder_stride_size")
        for (key, w) in [
            ("encoder_attn_window_size", encoderWindow), ("decoder_attn_window_size", decoderWindow),
            ("vocoder_attn_window_size", vocoderWindow),
        ] {
            try check(w.count == 2, key, "must have two entries")
        }
    }

    /// Samples per 25 Hz token (960 for the released tokenizer).
    public var samplesPerToken: Int { hopLength * strideSize * avgPooler }
    /// Tokens per second.
    public var frameRate: Double { Double(samplingRate) / Double(samplesPerToken) }
}
