import Foundation
import MiMoAudio

/// Speed of the LM at the real MiMo-Audio-7B sizes with synthesised weights.
public struct LMBenchmark {
    public struct Result: Codable, Sendable {
        public var threads: Int
        public var weightDType: String
        public var parameters: Int
        public var promptTokens: Int
        public var prefillSeconds: Double
        public var decodeStepSeconds: [Double]
        /// The text sampler's share of a step (top-p over 151,680 logits).
        public var samplerSecondsPerStep: Double
        public var patchSeconds: [Double]
        public var bytesPerDecodeStep: Double
        /// Read bandwidth measured in the same process just before the model was built.
        public var memoryGBPerSecond: Double
        public var peakRSSMiB: Double

        public var prefillTokensPerSecond: Double { Double(promptTokens) / prefillSeconds }
        public var decodeStepsPerSecond: Double { 1 / median(decodeStepSeconds) }
        public var decodeGBPerSecond: Double { bytesPerDecodeStep / median(decodeStepSeconds) / 1e9 }
        public var decodeBandwidthShare: Double { decodeGBPerSecond / memoryGBPerSecond }
        public var patchMilliseconds: Double { median(patchSeconds) * 1000 }
    }

    /// MiMo-Audio-7B (docs/model.md §3.1): Qwen2 backbone 4096 × 36 layers, 32/8 heads, FFN 11008, vocab
    /// 151680; patch encoder 6 layers and patch decoder 16 layers at d 1024, 64 heads of 16.
    public static let releasedConfigJSON = """
        {"vocab_size": 151680, "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 36,
         "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128, "hidden_act": "silu",
         "max_position_embeddings": 8192, "rms_norm_eps": 1e-6, "rope_theta": 640000, "rope_scaling": null,
         "tie_word_embeddings": false, "speech_vocab_size": "1025-1025-129-129-129-129-129-129",
         "speech_zeroemb_idx": "1024-1024-128-128-128-128-128-128", "delay_pattern": "0-1-2-3-4-5-6-7",
         "group_size": 4, "audio_channels": 8, "local_dim": 1024, "local_layers": 16, "local_attn_heads": 64,
         "local_ffn_dim": 4096, "input_local_layers": 6, "input_local_dim": 1024, "input_full_attention": true}
        """

    /// MiMo's special tokens at their real ids (docs/model.md §4).
    public static let releasedSpecialTokens = SpecialTokens(tokens: [
        "<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645, "<|sosp|>": 151665,
        "<|eosp|>": 151666, "<|empty|>": 151667, "<|Human|>": 151668, "<|SpeechLM|>": 151669,
        "<|sostm|>": 151670, "<|eostm|>": 151671, "<|eot|>": 151672,
    ])

    public static func releasedConfig() throws -> LMConfig {
        try LMConfig(reader: ConfigReader(data: Data(releasedConfigJSON.utf8), source: "released LM config"))
    }

    /// `format`: f32 or bf16 synthesised as such; q8_0 / q4_0 synthesised in bf16 and quantized
    /// layer by layer as they are bound (embeddings stay bf16).
    public static func run(
        promptTokens: Int, decodeSteps: Int, patches: Int, format: WeightFormat, compute: Compute,
        kvPrecision: KVPrecision = .f16,
        prefillChunk: Int = EngineOptions().prefillChunk, log: (String) -> Void
    ) throws -> Result {
        let config = try releasedConfig()
        log("measuring memory read bandwidth")
        let bandwidth = MemoryBandwidth.measureRead(compute: compute)
        log(String(format: "memory read bandwidth %.1f GB/s", bandwidth))
        var start = DispatchTime.now()
        log("synthesising MiMo-Audio-7B (\(format.rawValue) random weights)")
        let random = RandomWeights(dtype: format == .f32 ? .f32 : .bf16)
        let weights: any WeightSource & Sendable =
            format.isQuantized ? QuantizingSource(random, format: format, compute: compute) : random
        let model = try MiMoAudioLM(
            config: config, weights: weights, specialTokens: releasedSpecialTokens, compute: compute,
            kvPrecision: kvPrecision)
        log(String(format: "synthesised in %.1f s", seconds(since: start)))
        let gs = config.groupSize
        func textGroups(_ ids: [Int]) -> TokenGrid {
            TokenGrid(
                rows: [ids.flatMap { Array(repeating: $0, count: gs) }]
                    + config.speechEmptyIDs.map { Array(repeating: $0, count: ids.count * gs) })
        }
        var rng = SeededGenerator(seed: 1)
        let prompt = textGroups((0..<promptTokens).map { _ in Int.random(in: 0..<150_000, using: &rng) })

        // The production loop: LMSession's chunked prefill, then steps of backbone, text head and
        // the text-chat sampler (top-p over the whole vocabulary), timed from event to event.
        log("prefill: \(promptTokens) tokens, then \(decodeSteps) decode steps")
        let session = LMSession(model: model)
        let options = GenerationOptions(
            minNewTokens: decodeSteps + 1, maxNewTokens: decodeSteps + 1, stopTokens: [],
            textSampler: TaskSamplers.textChat.settings.text, audioSampler: .defaultAudio, seed: 1,
            prefillChunk: prefillChunk,
            // Random weights would hardly ever speak; keep every step a text step.
            forcedText: { _ in 1000 })
        let clock = StepClock()
        let result = try session.generate(prompt: prompt, options: options) { event in
            switch event {
            case .prefill(let done, let total) where done == total: clock.lap()
            case .text: clock.lap()
            default: break
            }
        }
        let prefill = result.timings.prefillSeconds
        // Laps: the prefill, then the prompt's text head and sampler, then one per decode step
        // (backbone, text head, sampler).
        let stepTimes = Array(clock.laps.dropFirst(2))
        log(
            String(
                format: "prefill %.2f s (%.1f tokens/s); decode steps %@ s", prefill, Double(promptTokens) / prefill,
                stepTimes.map { String(format: "%.3f", $0) }.joined(separator: ", ")))
        let local = model.localHidden(
            Matrix(
                rows: 1, cols: config.backbone.hidden, data: (0..<config.backbone.hidden).map { Float($0 % 7) * 0.01 }))

        var patchTimes: [Double] = []
        let sampler = try Sampler(.defaultAudio)
        for p in 0..<patches {
            start = DispatchTime.now()
            _ = model.decodePatch(local, sampler: sampler, using: &rng)
            patchTimes.append(seconds(since: start))
            log(String(format: "patch %d: %.1f ms (%d local steps)", p + 1, patchTimes.last! * 1000, config.localSteps))
        }

        let b = config.backbone
        let bytes = { (rows: Int, cols: Int) in rows * format.rowBytes(cols: cols) }
        let perLayer =
            2 * bytes(b.heads * b.headDim, b.hidden) + 2 * bytes(b.kvHeads * b.headDim, b.hidden)
            + 2 * bytes(b.intermediate, b.hidden) + bytes(b.hidden, b.intermediate)
        let readPerStep = b.layers * perLayer + bytes(config.vocabSize, b.hidden)
        return Result(
            threads: compute.threads, weightDType: format.rawValue, parameters: parameterCount(config),
            promptTokens: promptTokens, prefillSeconds: prefill, decodeStepSeconds: stepTimes,
            samplerSecondsPerStep: result.timings.textSamplerSeconds / Double(result.timings.steps),
            patchSeconds: patchTimes, bytesPerDecodeStep: Double(readPerStep), memoryGBPerSecond: bandwidth,
            peakRSSMiB: peakRSSMiB())
    }

    static func parameterCount(_ c: LMConfig) -> Int {
        func stack(_ s: Qwen2Shape) -> Int {
            s.layers
                * (s.hidden * s.heads * s.headDim * 2 + s.hidden * s.kvHeads * s.headDim * 2
                    + 3 * s.hidden * s.intermediate + s.heads * s.headDim + 2 * s.kvHeads * s.headDim + 2 * s.hidden)
                + s.hidden
        }
        let speech = c.speechVocabSizes.reduce(0, +) * c.patchEncoder.hidden
        return stack(c.backbone) + stack(c.patchEncoder) + stack(c.patchDecoder) + 2 * c.vocabSize * c.backbone.hidden
            + 2 * speech + c.groupSize * c.patchEncoder.hidden * c.backbone.hidden + c.backbone.hidden
            * c.patchDecoder.hidden
    }
}

/// Wall time between calls.
final class StepClock {
    private var last = DispatchTime.now()
    private(set) var laps: [Double] = []

    func lap() {
        laps.append(seconds(since: last))
        last = DispatchTime.now()
    }
}
