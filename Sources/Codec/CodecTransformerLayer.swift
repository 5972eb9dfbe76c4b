import Tensor
import Weights

/// The tokenizer's pre-LN transformer layer (encoder, decoder and vocoder share it):
/// x += out(Attn(LN1 x)); x += fc2(gelu(fc1(LN2 x))). `k_proj` has no bias.
struct CodecTransformerLayer: Sendable {
    let attentionNorm: LayerNorm
    let q, k, v, out: Linear
    let ffnNorm: LayerNorm
    let fc1, fc2: Linear
    let heads: Int

    init(_ w: WeightSource, prefix p: String, dim: Int, ffnDim: Int, heads: Int) throws {
        attentionNorm = try w.layerNorm(p + ".self_attn_layer_norm", dim: dim)
        q = try w.linear(p + ".self_attn.q_proj", out: dim, in: dim, bias: true)
        k = try w.linear(p + ".self_attn.k_proj", out: dim, in: dim, bias: false)
        v = try w.linear(p + ".self_attn.v_proj", out: dim, in: dim, bias: true)
        out = try w.linear(p + ".self_attn.out_proj", out: dim, in: dim, bias: true)
        ffnNorm = try w.layerNorm(p + ".final_layer_norm", dim: dim)
        fc1 = try w.linear(p + ".fc1", out: ffnDim, in: dim, bias: true)
        fc2 = try w.linear(p + ".fc2", out: dim, in: ffnDim, bias: true)
        self.heads = heads
    }

    func callAsFunction(
        _ x: Matrix, segments: [Range<Int>], rope: RotaryEmbedding,
        table: (cos: [Float], sin: [Float]), mask: AttentionMask, _ c: Compute
    ) -> Matrix {
        let h = attentionNorm(x, c)
        var qs = q(h, c)
        var ks = k(h, c)
        let vs = v(h, c)
        rope.apply(&qs, table: table, compute: c)
        rope.apply(&ks, table: table, compute: c)
        let attended = Attention.multiHead(
            q: qs, k: ks, v: vs, heads: heads, segments: segments, mask: mask, compute: c)
        var y = x
        y += out(attended, c)
        var f = fc1(ffnNorm(y, c), c)
        Activation.gelu(&f, c)
        y += fc2(f, c)
        return y
    }
}

/// Position ids that restart at 0 in every packed segment.
func segmentPositions(_ segments: [Range<Int>]) -> [Int] {
    segments.flatMap { Array(0..<$0.count) }
}

/// Consecutive ranges for packed lengths.
func packedRanges(_ lengths: [Int]) -> [Range<Int>] {
    var start = 0
    return lengths.map { n in
        defer { start += n }
        return start..<(start + n)
    }
}
