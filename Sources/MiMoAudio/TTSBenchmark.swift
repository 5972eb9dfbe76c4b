import Foundation

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
    public static func run(seconds: Double, format: WeightFormat, codecQuantize: WeightFormat? = nil, compute: Compute,
                           kvPrecision: KVPrecision = .f16,
                           log: (String) -> Void) throws -> (interleaved: Result, audioOnly: Result, peakRSSMiB: Double) {
        let config = try LMBenchmark.releasedConfig()
        log("synthesising MiMo-Audio-7B (\(format.rawValue)) and the tokenizer (\(codecQuantize?.rawValue ?? "bf16"))")
        let random = RandomWeights(dtype: format == .f32 ? .f32 : .bf16)
        let weights: any WeightSource & Sendable = format.isQuantized ? QuantizingSource(random, format: format, compute: compute) : random
        let lm = try MiMoAudioLM(config: config, weights: weights, specialTokens: LMBenchmark.releasedSpecialTokens, compute: compute,
                                    kvPrecision: kvPrecision)
        let codec = try AudioTokenizer(config: try CodecBenchmark.releasedConfig(), weights: RandomWeights(dtype: .bf16), compute: compute,
                                       quantize: codecQuantize)
        let patches = max(1, Int((seconds * codec.config.frameRate / Double(config.groupSize)).rounded(.up)))

        func measure(interleaved: Bool) throws -> Result {
            let gs = config.groupSize
            func group(text: Int, audio: [[Int]]) -> TokenGrid {
                var g = TokenGrid(rows: [Array(repeating: text, count: gs)])
                for ch in 0..<config.audioChannels { g.rows.append(audio.map { $0[ch] }) }
                return g
            }
            let emptyAudio = Array(repeating: config.speechEmptyIDs, count: gs)
            let cache = lm.makeBackboneCache()
            var hidden = lm.backboneForward(lm.embed(group(text: 1000, audio: emptyAudio)), cache: cache)
            let sampler = try Sampler(.defaultAudio)
            var rng = SeededGenerator(seed: 3)
            var codes = Array(repeating: [Int](), count: config.audioChannels)
            var (textSteps, audioSteps) = (0, 0)
            let start = DispatchTime.now()
            while audioSteps < patches {
                let last = hidden.rows((hidden.rows - 1)..<hidden.rows)
                _ = lm.textLogits(last)
                let speak = !interleaved || (textSteps + audioSteps) % 10 >= 5
                var next = group(text: 1000 + textSteps, audio: emptyAudio)
                if speak {
                    let patch = lm.decodePatch(lm.localHidden(last), sampler: sampler, using: &rng)
                    for frame in patch { for ch in 0..<config.audioChannels { codes[ch].append(frame[ch]) } }
                    next = group(text: lm.emptyTextID, audio: patch)
                    audioSteps += 1
                } else {
                    textSteps += 1
                }
                hidden = lm.backboneForward(lm.embed(next), cache: cache)
            }
            let lmSeconds = Tensor.seconds(since: start)
            let codecStart = DispatchTime.now()
            let wav = try codec.decode(codes: codes)
            let codecSeconds = Tensor.seconds(since: codecStart)
            let result = Result(mix: interleaved ? "5 text + 5 speech steps" : "speech steps only",
                                audioSeconds: Double(wav.count) / Double(codec.sampleRate),
                                textSteps: textSteps, audioSteps: audioSteps, lmSeconds: lmSeconds, codecSeconds: codecSeconds)
            log(String(format: "%@: %.2f s of audio, LM %.2f s, codec %.2f s, real-time factor %.2f",
                       result.mix, result.audioSeconds, lmSeconds, codecSeconds, result.realTimeFactor))
            return result
        }
        let interleaved = try measure(interleaved: true)
        let audioOnly = try measure(interleaved: false)
        return (interleaved, audioOnly, peakRSSMiB())
    }
}
