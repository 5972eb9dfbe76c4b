import Audio
import Foundation
import Logging
import Tensor
import Weights

/// MiMo-Audio-Tokenizer: 24 kHz audio ⇄ residual-VQ codes at 25 Hz. Immutable once loaded, so
/// one instance serves any number of concurrent requests.
public final class AudioTokenizer: Sendable {
    public let config: TokenizerConfig
    public let compute: Compute
    let frontEnd: LogMelSpectrogram
    let encoder: AudioEncoder
    let quantizer: ResidualVQ
    let decoder: AudioDecoder
    /// Keeps memory-mapped weights alive.
    let weights: any WeightSource & Sendable

    /// Mel frames per encoder segment (60 s): segments never attend to each other.
    public static let encodeSegmentFrames = 6000
    /// Mel frames packed into one encoder batch by the reference (`encode_batch`).
    public static let encodeBatchFrames = 256_000
    /// Tokens per independent decode window (60 s), concatenated without overlap.
    public static let decodeWindowTokens = 1500

    /// `quantize: .q8_0` block-quantizes the linear layers while binding them and runs their
    /// GEMMs on int8 activations (see `QuantizedActivations`); convolutions, norms and codebooks
    /// keep their stored dtype.
    public init(
        config: TokenizerConfig, weights stored: any WeightSource & Sendable, compute: Compute,
        quantize: WeightFormat? = nil
    ) throws {
        if let quantize, quantize != .q8_0 { throw CodecError.unsupportedQuantization(quantize.rawValue) }
        let weights: any WeightSource & Sendable =
            quantize.map {
                QuantizingSource(stored, format: $0, activations: .int8, compute: compute)
            } ?? stored
        self.config = config
        self.compute = compute
        self.weights = weights
        frontEnd = LogMelSpectrogram(
            sampleRate: config.samplingRate, nfft: config.nfft, hop: config.hopLength,
            nMels: config.nMels, fmin: config.fmin, fmax: config.fmax)
        encoder = try AudioEncoder(weights, config: config)
        quantizer = try ResidualVQ(weights, config: config)
        decoder = try AudioDecoder(weights, config: config)
    }

    /// Loads `config.json` and the safetensors weights (memory-mapped) from a checkpoint directory.
    public convenience init(directory: URL, compute: Compute, quantize: WeightFormat? = nil) throws {
        let config = try TokenizerConfig(contentsOf: directory.appendingPathComponent("config.json"))
        let weights = UsageTrackingSource(try Checkpoint(directory: directory))
        try self.init(config: config, weights: weights, compute: compute, quantize: quantize)
        weights.logUnused(Logger(label: "mimo-audio.codec"), model: "MiMo-Audio-Tokenizer")
    }

    public var sampleRate: Int { config.samplingRate }
    public var codebookCount: Int { config.numQuantizers }

    /// Log-mel `[frames, nMels]` of 24 kHz samples.
    public func logMel(_ samples: [Float]) throws -> Matrix { try frontEnd(samples) }

    /// Codes `[codebooks][T]` for 24 kHz mono samples, T = the tokenizer's own 25 Hz frame count.
    public func encode(samples: [Float], codebooks: Int? = nil) throws -> [[Int]] {
        try encode(mel: logMel(samples), codebooks: codebooks)
    }

    /// Splits the mel into 60 s segments and packs them into batches exactly as the reference does.
    public func encode(mel: Matrix, codebooks: Int? = nil) throws -> [[Int]] {
        let n = codebooks ?? config.numQuantizers
        guard n >= 1 else { throw CodecError.tooFewCodebooks(given: n, required: 1) }
        guard n <= config.numQuantizers else {
            throw CodecError.tooManyCodebooks(given: n, available: config.numQuantizers)
        }
        guard mel.rows > 0 else { throw CodecError.noFrames }
        var lengths = Array(repeating: Self.encodeSegmentFrames, count: mel.rows / Self.encodeSegmentFrames)
        if mel.rows % Self.encodeSegmentFrames > 0 { lengths.append(mel.rows % Self.encodeSegmentFrames) }
        var codes = Array(repeating: [Int](), count: n)
        var start = 0
        for batch in Self.batches(lengths, maxFrames: Self.encodeBatchFrames) {
            let frames = batch.reduce(0, +)
            let part = encodePacked(mel: mel.rows(start..<(start + frames)), lengths: batch, codebooks: n)
            for i in 0..<n { codes[i] += part.codes[i] }
            start += frames
        }
        return codes
    }

    /// One packed batch: `lengths` mel frames per segment, concatenated in `mel`.
    public func encodePacked(mel: Matrix, lengths: [Int], codebooks n: Int, tap: ActivationTap? = nil)
        -> (codes: [[Int]], tokens: [Int], features: Matrix)
    {
        let (features, tokens) = encoder.features(mel: mel, lengths: lengths, compute: compute, tap: tap)
        let codes = quantizer.encode(features, levels: n, compute: compute)
        return (codes, tokens, features)
    }

    /// The reference's `group_by_length`: consecutive segments while their sum stays ≤ maxFrames.
    public static func batches(_ lengths: [Int], maxFrames: Int) -> [[Int]] {
        var groups: [[Int]] = []
        var current: [Int] = []
        var sum = 0
        for n in lengths {
            if sum + n > maxFrames && sum > 0 {
                groups.append(current)
                current = []
                sum = 0
            }
            current.append(n)
            sum += n
        }
        if !current.isEmpty { groups.append(current) }
        return groups
    }

    /// Checks codes against the codebooks and returns their frame count.
    @discardableResult
    public func validate(codes: [[Int]]) throws -> Int {
        guard !codes.isEmpty else { throw CodecError.tooFewCodebooks(given: 0, required: 1) }
        guard codes.count <= config.numQuantizers else {
            throw CodecError.tooManyCodebooks(given: codes.count, available: config.numQuantizers)
        }
        let frames = codes[0].count
        for (i, row) in codes.enumerated() {
            guard row.count == frames else {
                throw CodecError.raggedCodes(codebook: i, frames: row.count, expected: frames)
            }
            let bins = quantizer.bins(i)
            if let t = row.firstIndex(where: { $0 < 0 || $0 >= bins }) {
                throw CodecError.codeOutOfRange(codebook: i, frame: t, value: row[t], bins: bins)
            }
        }
        return frames
    }

    /// Sum of the codebook vectors of every given level: `[T, d]`.
    public func dequantize(_ codes: [[Int]]) throws -> Matrix {
        try validate(codes: codes)
        return quantizer.decode(codes)
    }

    /// Waveform (24 kHz, `samplesPerToken` per frame) for codes `[codebooks][T]`, decoded in
    /// independent 60 s windows as the reference does.
    public func decode(codes: [[Int]]) throws -> [Float] {
        let frames = try validate(codes: codes)
        guard frames > 0 else { throw CodecError.noFrames }
        var wav: [Float] = []
        wav.reserveCapacity(frames * config.samplesPerToken)
        for start in stride(from: 0, to: frames, by: Self.decodeWindowTokens) {
            let window = codes.map { Array($0[start..<min(frames, start + Self.decodeWindowTokens)]) }
            wav += decoder(quantizer.decode(window), compute: compute)
        }
        return wav
    }

    /// Decodes de-quantised vectors `[T, d]` as one window.
    public func decode(features: Matrix, tap: ActivationTap? = nil) -> [Float] {
        decoder(features, compute: compute, tap: tap)
    }
}
