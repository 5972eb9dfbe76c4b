import Foundation
import MiMoAudio

/// Speed of the codec at the released configuration with synthesised weights.
public struct CodecBenchmark {
    public struct Result: Codable, Sendable {
        public var audioSeconds: Double
        public var threads: Int
        /// The weights' stored dtype, or `q8_0` for the quantized linear layers.
        public var weights: String
        public var encodeSeconds: [Double]
        public var decodeSeconds: [Double]
        public var encodeGFLOP: Double
        public var decodeGFLOP: Double
        public var peakRSSMiB: Double

        public var encodeMedian: Double { median(encodeSeconds) }
        public var decodeMedian: Double { median(decodeSeconds) }
        public var encodeRTF: Double { encodeMedian / audioSeconds }
        public var decodeRTF: Double { decodeMedian / audioSeconds }
        public var encodeGFLOPS: Double { encodeGFLOP / encodeMedian }
        public var decodeGFLOPS: Double { decodeGFLOP / decodeMedian }
    }

    /// The released MiMo-Audio-Tokenizer configuration (docs/model.md §2.1).
    public static let releasedConfigJSON = """
        {"max_audio_seconds": 1800, "sampling_rate": 24000, "n_mels": 128, "nfft": 960, "hop_length": 240,
         "window_size": 960, "fmin": 0, "fmax": null, "kernel_size": 3, "stride_size": 2, "avg_pooler": 2,
         "d_model": 1280, "scale_embedding": false, "activation_function": "gelu", "ln_type": "LayerNorm",
         "position_embedding_type": "rope", "rope_theta": 10000, "rope_type": "default",
         "encoder_layers": 32, "encoder_attention_heads": 20, "encoder_ffn_dim": 5120, "encoder_skip_layer_id": 3,
         "encoder_causal": false, "encoder_attn_window_size": [-1, -1],
         "decoder_layers": 32, "decoder_attention_heads": 20, "decoder_ffn_dim": 5120, "decoder_kernel_size": 3,
         "decoder_stride_size": 2, "decoder_causal": true, "decoder_attn_window_size": [-1, -1],
         "vocoder_dim": 256, "vocoder_intermediate_dim": 1024, "vocoder_num_layers": 16, "vocoder_attention_heads": 16,
         "vocoder_attn_window_size": [40, 10], "vocoder_padding": "same", "num_quantizers": 20,
         "codebook_size": [1024,1024,128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,128],
         "threshold_ema_dead_code": 2}
        """

    public static func releasedConfig() throws -> TokenizerConfig {
        try TokenizerConfig(
            reader: ConfigReader(data: Data(releasedConfigJSON.utf8), source: "released tokenizer config"))
    }

    public static func run(
        seconds: Double, runs: Int, dtype: DType, quantize: WeightFormat? = nil, compute: Compute,
        log: (String) -> Void
    ) throws -> Result {
        let config = try releasedConfig()
        let weights = quantize.map { "\($0.rawValue) linear layers, \(dtype.rawValue) others" } ?? dtype.rawValue
        log("synthesising the released tokenizer (\(weights) random weights)")
        let tokenizer = try AudioTokenizer(
            config: config, weights: RandomWeights(dtype: dtype), compute: compute, quantize: quantize)
        let n = Int(seconds * Double(config.samplingRate))
        // A chirp plus noise: the content does not change the cost, but keeps the numbers sane.
        var state: UInt32 = 12345
        let samples: [Float] = (0..<n).map { i in
            state = state &* 1_664_525 &+ 1_013_904_223
            let t = Double(i) / Double(config.samplingRate)
            return Float(0.3 * sin(2 * .pi * (200 + 400 * t) * t)) + Float(state >> 8) / Float(1 << 24) * 0.02 - 0.01
        }
        var encodeTimes: [Double] = []
        var decodeTimes: [Double] = []
        var codes: [[Int]] = []
        for run in 1...max(1, runs) {
            var start = DispatchTime.now()
            codes = try tokenizer.encode(samples: samples, codebooks: 8)
            encodeTimes.append(Tensor.seconds(since: start))
            start = DispatchTime.now()
            _ = try tokenizer.decode(codes: codes)
            decodeTimes.append(Tensor.seconds(since: start))
            log(String(format: "run %d: encode %.2f s, decode %.2f s", run, encodeTimes.last!, decodeTimes.last!))
        }
        let frames = codes.first?.count ?? 0
        return Result(
            audioSeconds: seconds, threads: compute.threads, weights: weights,
            encodeSeconds: encodeTimes, decodeSeconds: decodeTimes,
            encodeGFLOP: encodeFLOPs(config, samples: n) / 1e9, decodeGFLOP: decodeFLOPs(config, tokens: frames) / 1e9,
            peakRSSMiB: peakRSSMiB())
    }

    /// Multiply-adds ×2 of the GEMM-shaped work (convolutions, projections, attention, RVQ).
    static func encodeFLOPs(_ c: TokenizerConfig, samples: Int) -> Double {
        let l = Double(1 + samples / c.hopLength)
        let d = Double(c.dModel)
        let t50 = (l / 2).rounded(.up)
        let t25 = (t50 / 2).rounded(.up)
        let stem = l * Double(c.nMels * c.kernelSize) * d + t50 * d * Double(c.kernelSize) * d
        let layer = t50 * (4 * d * d + 2 * d * Double(c.encoderFFNDim)) + 2 * t50 * t50 * d
        let rvq = t25 * d * Double(c.codebookSizes.prefix(8).reduce(0, +))
        return 2 * (stem + Double(c.encoderLayers) * layer + t25 * 2 * d * d + rvq)
    }

    static func decodeFLOPs(_ c: TokenizerConfig, tokens: Int) -> Double {
        let t = Double(tokens)
        let d = Double(c.dModel)
        let t50 = 2 * t
        let t100 = 4 * t
        let v = Double(c.vocoderDim)
        let window = Double(c.vocoderWindow[0] + c.vocoderWindow[1] + 1)
        let up = t * d * 2 * d + t50 * d * Double(c.nMels * c.decoderKernelSize)
        let layers = Double(c.decoderLayers) * (t50 * (4 * d * d + 2 * d * Double(c.decoderFFNDim)) + 2 * t50 * t50 * d)
        let vocoder =
            t100 * Double(c.nMels) * v
            + Double(c.vocoderLayers) * t100 * (4 * v * v + 2 * v * Double(c.vocoderIntermediateDim) + 2 * window * v)
            + t100 * v * Double(c.nfft + 2) + t100 * Double(c.nfft + 2) * Double(c.nfft)
        return 2 * (up + layers + vocoder)
    }
}

/// Peak resident set size of this process (VmHWM), in MiB; 0 where /proc is unavailable.
public func peakRSSMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}
