import Tensor
import Weights

/// The tokenizer encoder: log-mel → conv stem (50 Hz) → bidirectional transformer with a skip
/// connection → LayerNorm → k2/s2 down-sampling (25 Hz) → LayerNorm. Segments are encoded as
/// the reference's packed batch, including its padding rules (see `features`).
struct AudioEncoder: Sendable {
    let config: TokenizerConfig
    let conv1: Conv1d
    let conv2: Conv1d
    let layers: [CodecTransformerLayer]
    let layerNorm: LayerNorm
    let downSample: Conv1d
    let downSampleNorm: LayerNorm
    let rope: RotaryEmbedding
    let mask: AttentionMask

    init(_ w: WeightSource, config c: TokenizerConfig) throws {
        config = c
        let d = c.dModel
        conv1 = Conv1d(
            weight: try w.weight("encoder.conv1.weight", shape: [d, c.nMels, c.kernelSize]),
            bias: try w.vector("encoder.conv1.bias", count: d),
            inChannels: c.nMels, kernel: c.kernelSize, stride: 1, padding: 1)
        conv2 = Conv1d(
            weight: try w.weight("encoder.conv2.weight", shape: [d, d, c.kernelSize]),
            bias: try w.vector("encoder.conv2.bias", count: d),
            inChannels: d, kernel: c.kernelSize, stride: c.strideSize, padding: 1)
        layers = try (0..<c.encoderLayers).map {
            try CodecTransformerLayer(
                w, prefix: "encoder.layers.\($0)", dim: d, ffnDim: c.encoderFFNDim, heads: c.encoderHeads)
        }
        layerNorm = try w.layerNorm("encoder.layer_norm", dim: d)
        downSample = Conv1d(
            weight: try w.weight("encoder.down_sample_layer.0.weight", shape: [d, d, c.avgPooler]),
            bias: nil, inChannels: d, kernel: c.avgPooler, stride: c.avgPooler, padding: 0)
        downSampleNorm = try w.layerNorm("encoder.down_sample_norm", dim: d)
        rope = RotaryEmbedding(dim: d / c.encoderHeads, theta: Float(c.ropeTheta))
        mask = AttentionMask(causal: c.encoderCausal, window: (c.encoderWindow[0], c.encoderWindow[1]))
    }

    /// 50 Hz frames for `melFrames` (the stem's output length).
    func frames50(melFrames l: Int) -> Int {
        (l + 3 - config.kernelSize + 2 - config.kernelSize) / config.strideSize + 1
    }
    /// 25 Hz tokens for `frames50` frames.
    func tokens(frames50 t: Int) -> Int { (t + config.avgPooler - 1) / config.avgPooler }

    /// Encodes one packed batch. `mel` is `[Σ lengths, nMels]`; returns `[Σ tokens, d]` and the
    /// tokens per segment. Reproduces the batch's padding exactly: a segment shorter than the
    /// longest sees zero mel frames (so one conv1 frame past its end) and, before down-sampling,
    /// its odd tail is padded with a copy of its last frame; the longest is zero-padded.
    func features(mel: Matrix, lengths: [Int], compute c: Compute, tap: ActivationTap? = nil) -> (Matrix, [Int]) {
        let d = config.dModel
        let maxLength = lengths.max() ?? 0
        let t50 = lengths.map { frames50(melFrames: $0) }
        let maxT50 = t50.max() ?? 0
        let melRanges = packedRanges(lengths)

        var stemParts: [Matrix] = []
        var conv1Parts: [Matrix] = []
        for (i, range) in melRanges.enumerated() {
            // The batch tensor holds zeros past this segment (up to the longest): give conv1
            // enough of them to produce every frame conv2 reads.
            let visible = min(maxLength, lengths[i] + config.kernelSize)
            var input = Matrix(rows: visible, cols: config.nMels)
            input.data.replaceSubrange(0..<(range.count * config.nMels), with: mel.rows(range).data)
            var h = conv1(input, c)
            conv1Parts.append(h.rows(0..<lengths[i]))
            Activation.gelu(&h, c)
            let h2 = conv2(h, c)
            stemParts.append(h2.rows(0..<t50[i]))
        }
        if let tap {
            tap("encoder.conv1_out", Matrix.stack(conv1Parts))
            tap("encoder.conv2_out", Matrix.stack(stemParts))
        }
        var x = Matrix.stack(stemParts)
        Activation.gelu(&x, c)

        let segments = packedRanges(t50)
        let table = rope.table(positions: segmentPositions(segments))
        var skip: Matrix?
        for (idx, layer) in layers.enumerated() {
            x = layer(x, segments: segments, rope: rope, table: table, mask: mask, c)
            tap?("encoder.layer\(idx)_out", x)
            if let id = config.encoderSkipLayerID, idx == id - 1 { skip = x }
        }
        if let skip { x += skip }
        x = layerNorm(x, c)
        tap?("encoder.layer_norm_out", x)

        let pool = config.avgPooler
        var pooled: [Matrix] = []
        var tokenCounts: [Int] = []
        for (i, range) in segments.enumerated() {
            let n = tokens(frames50: t50[i])
            var input = Matrix(rows: n * pool, cols: d)
            input.data.replaceSubrange(0..<(range.count * d), with: x.rows(range).data)
            // Positions past this segment but inside the longest one repeat its last frame
            // (the reference's unmasked unpacking index); past the longest they stay zero.
            for p in range.count..<min(n * pool, maxT50) {
                input.data.replaceSubrange((p * d)..<((p + 1) * d), with: x.row(range.upperBound - 1))
            }
            var y = downSample(input, c)
            Activation.gelu(&y, c)
            pooled.append(y)
            tokenCounts.append(n)
        }
        var y = Matrix.stack(pooled)
        tap?("encoder.down_sample_out", y)
        y = downSampleNorm(y, c)
        tap?("encoder.features", y)
        return (y, tokenCounts)
    }
}
