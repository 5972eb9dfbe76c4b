import Audio
import Foundation
import Tensor
import Weights

/// The Vocos-style vocoder: linear embedding, transformer with a banded attention window
/// ([−40, +10] frames in the released model), LayerNorm, then an ISTFT head predicting
/// log-magnitude and phase.
struct Vocoder: Sendable {
    let embeddings: Linear
    let layers: [CodecTransformerLayer]
    let layerNorm: LayerNorm
    let head: Linear
    let istft: InverseSTFT
    let rope: RotaryEmbedding
    let mask: AttentionMask

    init(_ w: WeightSource, config c: TokenizerConfig) throws {
        let d = c.vocoderDim
        embeddings = try w.linear("decoder.vocoder.embeddings", out: d, in: c.nMels, bias: false)
        layers = try (0..<c.vocoderLayers).map {
            try CodecTransformerLayer(
                w, prefix: "decoder.vocoder.layers.\($0)", dim: d,
                ffnDim: c.vocoderIntermediateDim, heads: c.vocoderHeads)
        }
        layerNorm = try w.layerNorm("decoder.vocoder.layer_norm", dim: d)
        head = try w.linear("decoder.vocoder.head.out", out: c.nfft + 2, in: d, bias: true)
        istft = InverseSTFT(nfft: c.nfft, hop: c.hopLength)
        rope = RotaryEmbedding(dim: d / c.vocoderHeads, theta: Float(c.ropeTheta))
        mask = AttentionMask(causal: false, window: (c.vocoderWindow[0], c.vocoderWindow[1]))
    }

    /// Coarse mel `[Tm, nMels]` → `Tm · hop` samples.
    func callAsFunction(_ mel: Matrix, compute c: Compute, tap: ActivationTap? = nil) -> [Float] {
        var x = embeddings(mel, c)
        tap?("vocoder.embeddings_out", x)
        let segments = [0..<x.rows]
        let table = rope.table(positions: Array(0..<x.rows))
        for (idx, layer) in layers.enumerated() {
            x = layer(x, segments: segments, rope: rope, table: table, mask: mask, c)
            tap?("vocoder.layer\(idx)_out", x)
        }
        x = layerNorm(x, c)
        tap?("vocoder.layer_norm_out", x)
        let out = head(x, c)
        tap?("vocoder.head_out", out)
        let bins = istft.bins
        var spectrum = [Double](repeating: 0, count: out.rows * 2 * bins)
        for t in 0..<out.rows {
            for k in 0..<bins {
                // Magnitude is computed in the activation dtype (f32), the complex value in f32.
                let mag = min(expf(out[t, k]), 100)
                let phase = out[t, bins + k]
                spectrum[t * 2 * bins + k] = Double(mag * cosf(phase))
                spectrum[t * 2 * bins + bins + k] = Double(mag * sinf(phase))
            }
        }
        return istft(spectrum, frames: out.rows)
    }
}
