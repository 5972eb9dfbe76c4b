import Foundation
import MiMoAudio

/// End-to-end speech generation speed at the real sizes (LM and codec synthesised, no files):
/// backbone steps, patch-decoder patches and the codec decode of the result.
public struct TTSBenchmark {
    public struct Result: Sendable {
        public var mix: String
        public var audioSeconds: Double
        public var textSteps: Int
        public var audioSteps: Int
        public var lmSeconds: Double
        public var codecSeconds: Double
        public var realTimeFactor: Double { (lmSeconds + codecSeconds) / audioSeconds }
    }

    /// `interleaved`: 5 text steps then 5 speech patches, as TTS does while text remains;
    /// otherwise speech patches only.
    public static func run(
        seconds: Double, format: WeightFormat, codecQuantize: WeightFormat? = nil, compute: Compute,
        kvPrecision: KVPrecision = .f16,
        log: (String) -> Void
    ) throws -> (interleaved: Result, audioOnly: Result, peakRSSMiB: Double) {
        let config = try LMBenchmark.releasedConfig()
        log("synthesising MiMo-Audio-7B (\(format.rawValue)) and the tokenizer (\(codecQuantize?.rawValue ?? "bf16"))")
        let random = RandomWeights(dtype: format == .f32 ? .f32 : .bf16)
        let weights: any WeightSource & Sendable =
            format.isQuantized ? QuantizingSource(random, format: format, compute: compute) : random
        let lm = try MiMoAudioLM(
            config: config, weights: weights, specialTokens: LMBenchmark.releasedSpecialTokens, compute: compute,
            kvPrecision: kvPrecision)
        let codec = try AudioTokenizer(
            config: try CodecBenchmark.releasedConfig(), weights: RandomWeights(dtype: .bf16), compute: compute,
            quantize: codecQuantize)
        let patches = max(1, Int((seconds * codec.config.frameRate / Double(config.groupSize)).rounded(.up)))

        func measure(interleaved: Bool) throws -> Result {
            // The production loop (LMSession, samplers, patch decoder), with the text channel
            // forced to TTS's rhythm: 5 text steps then 5 speech patches while text remains.
            let speaks = { (step: Int) in !interleaved || step % 10 >= 5 }
            var steps = 0
            var spoken = 0
            while spoken < patches {
                if speaks(steps) { spoken += 1 }
                steps += 1
            }
            let empty = lm.emptyTextID
            let options = GenerationOptions(
                minNewTokens: steps, maxNewTokens: steps, stopTokens: [],
                textSampler: TaskSamplers.tts.settings.text, audioSampler: TaskSamplers.tts.settings.audio,
                seed: 3, forcedText: { speaks($0) ? empty : 1000 + $0 })
            let prompt = TokenGrid(
                rows: [Array(repeating: 1000, count: config.groupSize)]
                    + config.speechEmptyIDs.map { Array(repeating: $0, count: config.groupSize) })
            let start = DispatchTime.now()
            let generated = try LMSession(model: lm).generate(prompt: prompt, options: options)
            let lmSeconds = Tensor.seconds(since: start)
            // Every speech patch, as the extraction of an unbounded speech span takes them.
            let gs = config.groupSize
            let speechColumns = (0..<steps).filter { generated.newIDs.text(group: $0, size: gs) == empty }.flatMap {
                ($0 * gs)..<($0 * gs + gs)
            }
            let codes = (0..<config.audioChannels).map { ch in speechColumns.map { generated.newIDs.rows[ch + 1][$0] } }
            let codecStart = DispatchTime.now()
            let wav = try codec.decode(codes: codes)
            let codecSeconds = Tensor.seconds(since: codecStart)
            let result = Result(
                mix: interleaved ? "5 text + 5 speech steps" : "speech steps only",
                audioSeconds: Double(wav.count) / Double(codec.sampleRate),
                textSteps: steps - patches, audioSteps: patches, lmSeconds: lmSeconds, codecSeconds: codecSeconds)
            log(
                String(
                    format: "%@: %.2f s of audio, LM %.2f s, codec %.2f s, real-time factor %.2f",
                    result.mix, result.audioSeconds, lmSeconds, codecSeconds, result.realTimeFactor))
            return result
        }
        let interleaved = try measure(interleaved: true)
        let audioOnly = try measure(interleaved: false)
        return (interleaved, audioOnly, peakRSSMiB())
    }
}
