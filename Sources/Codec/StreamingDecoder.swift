import Tensor

/// Incremental decoding with the reference's `streaming_decode` schedule: each call re-decodes
/// the new frames with up to `leftOverlap` frames of left context and holds back the last
/// `rightOverlap` frames (the decoder's GroupNorms, transposed conv and vocoder window look
/// ahead), emitting only audio no later frame can change much. One instance per stream.
public final class StreamingDecoder {
    public let tokenizer: AudioTokenizer
    public let leftOverlap: Int
    public let rightOverlap: Int
    /// De-quantised context frames `[n, d]`.
    private var context: Matrix?
    /// Frames of `context` whose audio has been emitted.
    private var processed = 0
    private var finished = false

    public init(tokenizer: AudioTokenizer, leftOverlap: Int = 250, rightOverlap: Int = 40) {
        precondition(leftOverlap > rightOverlap && rightOverlap >= 0)
        self.tokenizer = tokenizer
        self.leftOverlap = leftOverlap
        self.rightOverlap = rightOverlap
    }

    /// Feeds codes `[codebooks][n]`; returns the samples that became final (possibly none).
    /// `last` flushes everything.
    public func feed(codes: [[Int]], last: Bool = false) throws -> [Float] {
        guard !finished else { throw CodecError.streamFinished }
        try tokenizer.validate(codes: codes)
        let fresh = try tokenizer.dequantize(codes)
        let x = context.map { Matrix.stack([$0, fresh]) } ?? fresh
        let n = x.rows
        let perToken = tokenizer.config.samplesPerToken
        context = x
        if last {
            finished = true
            let wav = n > 0 ? tokenizer.decode(features: x) : []
            return Array(wav[min(wav.count, processed * perToken)...])
        }
        if n <= rightOverlap {
            processed = 0
            return []
        }
        let wav = tokenizer.decode(features: x)
        let end = n - rightOverlap
        let out = Array(wav[(processed * perToken)..<(end * perToken)])
        processed = end
        if n > leftOverlap {
            context = x.rows((n - leftOverlap)..<n)
            processed -= n - leftOverlap
        }
        return out
    }
}
