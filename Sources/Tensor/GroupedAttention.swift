import CKernels

/// Cached keys and values, `[m, kvHeads·d]` rows, in the cache's storage precision.
public enum KVRows {
    case f32(keys: UnsafePointer<Float>, values: UnsafePointer<Float>)
    case f16(keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>)
}

extension Attention {
    /// Query rows per score block of the GEMM path: scores never exceed this many rows × keys,
    /// so long sequences never materialise a full T×T matrix.
    static let queryChunk = 256

    /// Grouped-query attention of `n` new queries against `m` keys (a KV cache plus the new
    /// keys): q `[n, heads·d]`, k/v `[m, kvHeads·d]` given as raw rows. Query i sits at absolute
    /// position `m − n + i`; with `causal` it sees keys `0...m − n + i`, otherwise all `m`.
    /// Scale 1/√d. Returns `[n, heads·d]`.
    public static func grouped(
        q: Matrix, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, keyCount m: Int,
        heads: Int, kvHeads: Int, headDim d: Int, causal: Bool, compute: Compute
    ) -> Matrix {
        grouped(
            q: q, kv: .f32(keys: keys, values: values), keyCount: m, heads: heads, kvHeads: kvHeads, headDim: d,
            causal: causal, compute: compute)
    }

    public static func grouped(
        q: Matrix, kv: KVRows, keyCount m: Int, heads: Int, kvHeads: Int, headDim d: Int, causal: Bool, compute: Compute
    ) -> Matrix {
        let n = q.rows
        precondition(q.cols == heads * d && heads % kvHeads == 0 && m >= n)
        switch kv {
        case .f32(let keys, let values):
            return groupedF32(
                q: q, keys: keys, values: values, keyCount: m, heads: heads, kvHeads: kvHeads, headDim: d,
                causal: causal, compute: compute)
        case .f16(let keys, let values) where n <= 8:
            // Decode steps read the half-precision rows directly.
            var out = Matrix(rows: n, cols: heads * d)
            let kvStride = kvHeads * d
            let perKV = heads / kvHeads
            let scale = 1 / Float(d).squareRoot()
            q.data.withUnsafeBufferPointer { pq in
                out.data.withUnsafeMutableBufferPointer { po in
                    let (qBase, oBase) = (pq.baseAddress!, po.baseAddress!)
                    compute.parallelFor(heads, minChunk: max(1, heads / 2)) { hs in
                        let scores = UnsafeMutablePointer<Float>.allocate(capacity: m)
                        defer { scores.deallocate() }
                        for h in hs {
                            let kvh = h / perKV
                            mk_attend_f16(
                                qBase + h * d, n, heads * d, keys + kvh * d, values + kvh * d, kvStride, m, d,
                                m - n, causal ? 1 : 0, scale, oBase + h * d, heads * d, scores)
                        }
                    }
                }
            }
            return out
        case .f16(let keys, let values):
            // Prompts: widen this layer's rows once for the GEMM path.
            let count = m * kvHeads * d
            let k32 = UnsafeMutablePointer<Float>.allocate(capacity: count)
            let v32 = UnsafeMutablePointer<Float>.allocate(capacity: count)
            defer {
                k32.deallocate()
                v32.deallocate()
            }
            compute.parallelFor(m, minChunk: 64) { r in
                let (lo, len) = (r.lowerBound * kvHeads * d, r.count * kvHeads * d)
                mk_f16_to_f32(keys + lo, k32 + lo, len)
                mk_f16_to_f32(values + lo, v32 + lo, len)
            }
            return groupedF32(
                q: q, keys: k32, values: v32, keyCount: m, heads: heads, kvHeads: kvHeads, headDim: d,
                causal: causal, compute: compute)
        }
    }

    private static func groupedF32(
        q: Matrix, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, keyCount m: Int,
        heads: Int, kvHeads: Int, headDim d: Int, causal: Bool, compute: Compute
    ) -> Matrix {
        let n = q.rows
        var out = Matrix(rows: n, cols: heads * d)
        let kvStride = kvHeads * d
        let perKV = heads / kvHeads
        let scale = 1 / Float(d).squareRoot()
        let offset = m - n
        q.data.withUnsafeBufferPointer { pq in
            out.data.withUnsafeMutableBufferPointer { po in
                let qBase = pq.baseAddress!
                let oBase = po.baseAddress!
                if n * m <= 4096 {
                    // Few keys (the patch encoder's 4-frame groups, single decode steps of small
                    // models): direct loops beat a GEMM call per head.
                    compute.parallelFor(heads, minChunk: max(1, heads / 2)) { hs in
                        let w = UnsafeMutablePointer<Float>.allocate(capacity: m)
                        defer { w.deallocate() }
                        for h in hs {
                            let kvh = h / perKV
                            for i in 0..<n {
                                let visible = causal ? offset + i + 1 : m
                                let qi = qBase + i * heads * d + h * d
                                for j in 0..<visible {
                                    let kj = keys + j * kvStride + kvh * d
                                    var dot: Float = 0
                                    for c in 0..<d { dot += qi[c] * kj[c] }
                                    w[j] = dot
                                }
                                mk_softmax_f32(w, visible, scale)
                                let o = oBase + i * heads * d + h * d
                                for c in 0..<d { o[c] = 0 }
                                for j in 0..<visible {
                                    let vj = values + j * kvStride + kvh * d
                                    let p = w[j]
                                    for c in 0..<d { o[c] += p * vj[c] }
                                }
                            }
                        }
                    }
                    return
                }
                let chunk = min(n, queryChunk)
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: chunk * m)
                defer { scores.deallocate() }
                for i0 in stride(from: 0, to: n, by: chunk) {
                    let rows = min(chunk, n - i0)
                    // Causal queries of this chunk see at most offset + i0 + rows keys.
                    let seen = causal ? offset + i0 + rows : m
                    for h in 0..<heads {
                        let kvh = h / perKV
                        let qh = qBase + i0 * heads * d + h * d
                        BLAS.sgemm(
                            transA: false, transB: true, m: rows, n: seen, k: d,
                            a: qh, lda: heads * d, b: keys + kvh * d, ldb: kvStride, c: scores, ldc: seen)
                        compute.parallelFor(rows, minChunk: 8) { rs in
                            for i in rs {
                                let row = scores + i * seen
                                let visible = causal ? offset + i0 + i + 1 : m
                                if visible < seen { (row + visible).update(repeating: 0, count: seen - visible) }
                                mk_softmax_f32(row, visible, scale)
                            }
                        }
                        BLAS.sgemm(
                            transA: false, transB: false, m: rows, n: d, k: seen,
                            a: scores, lda: seen, b: values + kvh * d, ldb: kvStride,
                            c: oBase + i0 * heads * d + h * d, ldc: heads * d)
                    }
                }
            }
        }
        return out
    }
}
