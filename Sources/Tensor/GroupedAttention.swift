import CKernels

extension Attention {
    /// Grouped-query attention of `n` new queries against `m` keys (a KV cache plus the new
    /// keys): q `[n, heads·d]`, k/v `[m, kvHeads·d]` given as raw rows. Query i sits at absolute
    /// position `m − n + i`; with `causal` it sees keys `0...m − n + i`, otherwise all `m`.
    /// Scale 1/√d. Returns `[n, heads·d]`.
    public static func grouped(
        q: Matrix, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, keyCount m: Int,
        heads: Int, kvHeads: Int, headDim d: Int, causal: Bool, compute: Compute
    ) -> Matrix {
        let n = q.rows
        precondition(q.cols == heads * d && heads % kvHeads == 0 && m >= n)
        var out = Matrix(rows: n, cols: heads * d)
        let kvStride = kvHeads * d
        let perKV = heads / kvHeads
        let scale = 1 / Float(d).squareRoot()
        let offset = m - n
        q.data.withUnsafeBufferPointer { pq in
            out.data.withUnsafeMutableBufferPointer { po in
                let qBase = pq.baseAddress!, oBase = po.baseAddress!
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
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: n * m)
                defer { scores.deallocate() }
                for h in 0..<heads {
                    let kvh = h / perKV
                    BLAS.sgemm(transA: false, transB: true, m: n, n: m, k: d,
                               a: qBase + h * d, lda: heads * d, b: keys + kvh * d, ldb: kvStride, c: scores, ldc: m)
                    compute.parallelFor(n, minChunk: 8) { rows in
                        for i in rows {
                            let row = scores + i * m
                            let visible = causal ? offset + i + 1 : m
                            if visible < m { (row + visible).update(repeating: 0, count: m - visible) }
                            mk_softmax_f32(row, visible, scale)
                        }
                    }
                    BLAS.sgemm(transA: false, transB: false, m: n, n: d, k: m,
                               a: scores, lda: m, b: values + kvh * d, ldb: kvStride, c: oBase + h * d, ldc: heads * d)
                }
            }
        }
        return out
    }
}
