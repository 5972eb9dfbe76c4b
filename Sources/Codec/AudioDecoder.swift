import Tensor
import Weights

/// The tokenizer decoder: de-quantised vectors (25 Hz) → transposed conv + whole-sequence
/// GroupNorm (50 Hz) → causal transformer → LayerNorm → transposed conv + GroupNorm → coarse
/// mel (100 Hz) → vocoder → waveform.
struct AudioDecoder: Sendable {
    let config: TokenizerConfig
    let dconv1: ConvTranspose1d
    let dconv1Norm: SingleGroupNorm
    let layers: [CodecTransformerLayer]
    let layerNorm: LayerNorm
    let dconv2: ConvTranspose1d
    let dconv2Norm: SingleGroupNorm
    let rope: RotaryEmbedding
    let mask: AttentionMask
    let vocoder: Vocoder

    init(_ w: WeightSource, config c: TokenizerConfig) throws {
        config = c
        let d = c.dModel
        dconv1 = ConvTranspose1d(
            weight: try w.weight("decoder.dconv1.conv.weight", shape: [d, d, c.avgPooler]),
            bias: try w.vector("decoder.dconv1.conv.bias", count: d), outChannels: d, kernel: c.avgPooler,
            stride: c.avgPooler)
        dconv1Norm = SingleGroupNorm(
            weight: try w.vector("decoder.dconv1.norm.weight", count: d),
            bias: try w.vector("decoder.dconv1.norm.bias", count: d))
        layers = try (0..<c.decoderLayers).map {
            try CodecTransformerLayer(
                w, prefix: "decoder.layers.\($0)", dim: d, ffnDim: c.decoderFFNDim, heads: c.decoderHeads)
        }
        layerNorm = try w.layerNorm("decoder.layer_norm", dim: d)
        dconv2 = ConvTranspose1d(
            weight: try w.weight("decoder.dconv2.conv.weight", shape: [d, c.nMels, c.decoderKernelSize]),
            bias: try w.vector("decoder.dconv2.conv.bias", count: c.nMels), outChannels: c.nMels,
            kernel: c.decoderKernelSize, stride: c.decoderStrideSize)
        dconv2Norm = SingleGroupNorm(
            weight: try w.vector("decoder.dconv2.norm.weight", count: c.nMels),
            bias: try w.vector("decoder.dconv2.norm.bias", count: c.nMels))
        rope = RotaryEmbedding(dim: d / c.decoderHeads, theta: Float(c.ropeTheta))
        mask = AttentionMask(causal: c.decoderCausal, window: (c.decoderWindow[0], c.decoderWindow[1]))
        vocoder = try Vocoder(w, config: c)
    }

    /// `CausalConvTranspose1d`: the norm sees the whole untrimmed output, then the
    /// `kernel − stride` frames past the causal end are dropped.
    static func causalUpsample(_ x: Matrix, _ conv: ConvTranspose1d, _ norm: SingleGroupNorm, _ c: Compute) -> Matrix {
        let y = norm(conv(x, c))
        return y.rows(0..<(y.rows - max(0, conv.kernel - conv.stride)))
    }

    /// `[T, d]` → `T · samplesPerToken` samples.
    func callAsFunction(_ q: Matrix, compute c: Compute, tap: ActivationTap? = nil) -> [Float] {
        guard q.rows > 0 else { return [] }
        var x = Self.causalUpsample(q, dconv1, dconv1Norm, c)
        tap?("decoder.dconv1_out", x)
        let segments = [0..<x.rows]
        let table = rope.table(positions: Array(0..<x.rows))
        for (idx, layer) in layers.enumerated() {
            x = layer(x, segments: segments, rope: rope, table: table, mask: mask, c)
            tap?("decoder.layer\(idx)_out", x)
        }
        x = layerNorm(x, c)
        tap?("decoder.layer_norm_out", x)
        let mel = Self.causalUpsample(x, dconv2, dconv2Norm, c)
        tap?("decoder.coarse_mel", mel)
        return vocoder(mel, compute: c, tap: tap)
    }
}
