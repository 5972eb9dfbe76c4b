import CKernels
import Tensor
import Weights

/// One Qwen2 decoder layer: x += o(attn(norm₁ x)); x += down(silu(gate(norm₂ x)) · up(norm₂ x)).
/// q/k/v carry biases, o does not.
struct Qwen2Layer: Sendable {
    let inputNorm: RMSNorm
    let q, k, v, o: Linear
    let postNorm: RMSNorm
    let gate, up, down: Linear

    init(_ w: WeightSource, prefix p: String, shape s: Qwen2Shape) throws {
        let qWidth = s.heads * s.headDim
        let kvWidth = s.kvHeads * s.headDim
        inputNorm = RMSNorm(weight: try w.vector(p + ".input_layernorm.weight", count: s.hidden), eps: s.eps)
        q = try w.linear(p + ".self_attn.q_proj", out: qWidth, in: s.hidden, bias: true)
        k = try w.linear(p + ".self_attn.k_proj", out: kvWidth, in: s.hidden, bias: true)
        v = try w.linear(p + ".self_attn.v_proj", out: kvWidth, in: s.hidden, bias: true)
        o = try w.linear(p + ".self_attn.o_proj", out: s.hidden, in: qWidth, bias: false)
        postNorm = RMSNorm(weight: try w.vector(p + ".post_attention_layernorm.weight", count: s.hidden), eps: s.eps)
        gate = try w.linear(p + ".mlp.gate_proj", out: s.intermediate, in: s.hidden, bias: false)
        up = try w.linear(p + ".mlp.up_proj", out: s.intermediate, in: s.hidden, bias: false)
        down = try w.linear(p + ".mlp.down_proj", out: s.hidden, in: s.intermediate, bias: false)
    }
}

/// How a stack attends: causally over a KV cache (backbone, patch decoder), or bidirectionally
/// or causally inside fixed-size groups with no cache (the patch encoder's 4-frame patches).
enum AttentionLayout {
    case cached(KVCache)
    case groups(size: Int, causal: Bool)
}

/// A Qwen2 model without token embeddings: layers then the final RMSNorm.
struct Qwen2Stack: Sendable {
    let shape: Qwen2Shape
    let layers: [Qwen2Layer]
    let norm: RMSNorm
    let rope: RotaryEmbedding

    init(_ w: WeightSource, prefix p: String, shape s: Qwen2Shape) throws {
        shape = s
        layers = try (0..<s.layers).map { try Qwen2Layer(w, prefix: "\(p).layers.\($0)", shape: s) }
        norm = RMSNorm(weight: try w.vector(p + ".norm.weight", count: s.hidden), eps: s.eps)
        rope = RotaryEmbedding(dim: s.headDim, theta: s.ropeTheta)
    }

    func makeCache(precision: KVPrecision) -> KVCache {
        KVCache(layers: shape.layers, width: shape.kvHeads * shape.headDim, precision: precision)
    }

    /// Runs `x` (`[n, hidden]`) at `positions`. `bf16Input` reproduces the reference's islands
    /// for a bf16 input tensor (the patch encoder): RoPE cos/sin rounded to bf16 in every layer
    /// and the first RMSNorm's normalised output rounded to bf16.
    func callAsFunction(
        _ x: Matrix, positions: [Int], layout: AttentionLayout, bf16Input: Bool = false,
        compute c: Compute, layerTap: ((Int, Matrix) -> Void)? = nil
    ) -> Matrix {
        var table = rope.table(positions: positions)
        if bf16Input {
            BFloat16.round(&table.cos)
            BFloat16.round(&table.sin)
        }
        var h = x
        for (index, layer) in layers.enumerated() {
            let normed = layer.inputNorm(h, roundNormalized: bf16Input && index == 0)
            let qkv = Linear.apply([layer.q, layer.k, layer.v], to: normed, c)
            var q = qkv[0]
            var k = qkv[1]
            let v = qkv[2]
            rope.apply(&q, table: table, compute: c)
            rope.apply(&k, table: table, compute: c)
            let attended: Matrix
            switch layout {
            case .cached(let cache):
                cache.append(layer: index, keys: k.data, values: v.data)
                attended = cache.withLayer(index) { kv in
                    Attention.grouped(
                        q: q, kv: kv, keyCount: cache.count + x.rows, heads: shape.heads,
                        kvHeads: shape.kvHeads, headDim: shape.headDim, causal: true, compute: c)
                }
            case .groups(let size, let causal):
                attended = groupedAttention(q, k, v, groupSize: size, causal: causal, compute: c)
            }
            h += layer.o(attended, c)
            let n2 = layer.postNorm(h)
            let gateUp = Linear.apply([layer.gate, layer.up], to: n2, c)
            var g = gateUp[0]
            let u = gateUp[1]
            g.data.withUnsafeMutableBufferPointer { gp in
                u.data.withUnsafeBufferPointer { up in mk_silu_mul_f32(gp.baseAddress!, up.baseAddress!, gp.count) }
            }
            h += layer.down(g, c)
            layerTap?(index, h)
        }
        if case .cached(let cache) = layout { cache.commit(x.rows) }
        return norm(h)
    }

    private func groupedAttention(
        _ q: Matrix, _ k: Matrix, _ v: Matrix, groupSize: Int, causal: Bool, compute c: Compute
    ) -> Matrix {
        var out = Matrix(rows: q.rows, cols: q.cols)
        let groups = q.rows / groupSize
        for g in 0..<groups {
            let rows = (g * groupSize)..<((g + 1) * groupSize)
            let kg = k.rows(rows)
            let vg = v.rows(rows)
            let a = kg.data.withUnsafeBufferPointer { kp in
                vg.data.withUnsafeBufferPointer { vp in
                    Attention.grouped(
                        q: q.rows(rows), keys: kp.baseAddress!, values: vp.baseAddress!, keyCount: groupSize,
                        heads: shape.heads, kvHeads: shape.kvHeads, headDim: shape.headDim,
                        causal: causal, compute: Compute.serial)
                }
            }
            out.data.replaceSubrange((rows.lowerBound * q.cols)..<(rows.upperBound * q.cols), with: a.data)
        }
        return out
    }
}
