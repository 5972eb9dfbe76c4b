import Audio

/// Silero VAD over a 24 kHz stream: audio in as it arrives, one speech probability per 32 ms out.
/// The stream is resampled to 16 kHz with the project's resampler in blocks of 768 samples
/// (512 out), each with 48 samples of context on both sides so block edges match a whole-stream
/// resampling; that costs 2 ms of lookahead.
public final class SpeechDetector {
    public static let inputRate = 24000
    /// Milliseconds each probability covers.
    public static let chunkMs = 32
    static let block = 768
    static let margin = 48

    private let vad: SileroVAD
    private let resampler: Resampler
    /// Input not yet resampled, starting `margin` samples before the next block.
    private var input: [Float]

    public init() throws {
        vad = try SileroVAD()
        resampler = try Resampler(from: Self.inputRate, to: SileroVAD.sampleRate)
        input = [Float](repeating: 0, count: Self.margin)
    }

    /// The probabilities of the whole 32 ms chunks that `samples` completes.
    public func feed(_ samples: [Float]) -> [Float] {
        input += samples
        var probabilities: [Float] = []
        let window = Self.block + 2 * Self.margin
        while input.count >= window {
            let resampled = resampler.process(Array(input[0..<window]))
            // The margin is 48 input samples = 32 output samples at 16 kHz.
            let skip = Self.margin * SileroVAD.sampleRate / Self.inputRate
            probabilities.append(vad.probability(Array(resampled[skip..<(skip + SileroVAD.chunkSamples)])))
            input.removeFirst(Self.block)
        }
        return probabilities
    }
}
