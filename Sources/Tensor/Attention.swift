import CKernels

/// Which keys a query may see, with flash-attn's rules: query i sees key j when
/// `i − left ≤ j ≤ i + right` (nil = unbounded) and, if causal, `j ≤ i`; never across segments.
public struct AttentionMask: Sendable, Equatable {
    public var causal: Bool
    public var left: Int?
    public var right: Int?

    public init(causal: Bool = false, left: Int? = nil, right: Int? = nil) {
        self.causal = causal
        self.left = left
        self.right = right
    }

    /// From a flash-attn style `window_size` pair where −1 means unbounded.
    public init(causal: Bool, window: (Int, Int)) {
        self.init(causal: causal, left: window.0 < 0 ? nil : window.0, right: window.1 < 0 ? nil : window.1)
    }

    public static let full = AttentionMask()
    public static let causal = AttentionMask(causal: true)

    /// Keys visible to query `i` of a segment of length `n` (indices relative to the segment).
    @inline(__always)
    func keys(for i: Int, count n: Int) -> ClosedRange<Int> {
        let lo = left.map { max(0, i - $0) } ?? 0
        var hi = right.map { min(n - 1, i + $0) } ?? (n - 1)
        if causal { hi = min(hi, i) }
        return lo...max(lo, hi)
    }

    /// Width of the band, when it is bounded on both sides.
    var bandWidth: Int? {
        guard let l = left else { return nil }
        if causal { return l + 1 }
        guard let r = right else { return nil }
        return l + r + 1
    }
}

/// Scaled dot-product multi-head attention over packed segments (each an independent sequence).
public enum Attention {
    /// q, k, v: `[T, heads·headDim]`; returns `[T, heads·headDim]`. Softmax scale 1/√headDim.
    public static func multiHead(
        q: Matrix, k: Matrix, v: Matrix, heads: Int, segments: [Range<Int>],
        mask: AttentionMask, compute: Compute
    ) -> Matrix {
        precondition(q.rows == k.rows && k.rows == v.rows && q.cols == k.cols && k.cols == v.cols)
        precondition(q.cols % heads == 0)
        var out = Matrix(rows: q.rows, cols: q.cols)
        let headDim = q.cols / heads
        let scale = 1 / Float(headDim).squareRoot()
        q.data.withUnsafeBufferPointer { pq in
            k.data.withUnsafeBufferPointer { pk in
                v.data.withUnsafeBufferPointer { pv in
                    out.data.withUnsafeMutableBufferPointer { po in
                        let views = Views(
                            q: pq.baseAddress!, k: pk.baseAddress!, v: pv.baseAddress!,
                            out: po.baseAddress!, stride: q.cols, headDim: headDim, heads: heads)
                        for segment in segments where !segment.isEmpty {
                            if let band = mask.bandWidth, band * 2 < segment.count {
                                banded(views, segment: segment, mask: mask, scale: scale, compute: compute)
                            } else {
                                dense(views, segment: segment, mask: mask, scale: scale, compute: compute)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    struct Views: @unchecked Sendable {
        let q, k, v: UnsafePointer<Float>
        let out: UnsafeMutablePointer<Float>
        let stride, headDim, heads: Int
    }

    /// Scores through GEMM, one head at a time (BLAS threads the GEMMs, we thread the softmax).
    static func dense(_ m: Views, segment: Range<Int>, mask: AttentionMask, scale: Float, compute: Compute) {
        let n = segment.count
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        defer { scores.deallocate() }
        let s0 = segment.lowerBound * m.stride
        for h in 0..<m.heads {
            let off = s0 + h * m.headDim
            BLAS.sgemm(
                transA: false, transB: true, m: n, n: n, k: m.headDim,
                a: m.q + off, lda: m.stride, b: m.k + off, ldb: m.stride, c: scores, ldc: n)
            compute.parallelFor(n, minChunk: 8) { rows in
                for i in rows {
                    let row = scores + i * n
                    let keys = mask.keys(for: i, count: n)
                    if keys.lowerBound > 0 { row.update(repeating: 0, count: keys.lowerBound) }
                    if keys.upperBound < n - 1 {
                        (row + keys.upperBound + 1).update(repeating: 0, count: n - 1 - keys.upperBound)
                    }
                    mk_softmax_f32(row + keys.lowerBound, keys.count, scale)
                }
            }
            BLAS.sgemm(
                transA: false, transB: false, m: n, n: m.headDim, k: n,
                a: scores, lda: n, b: m.v + off, ldb: m.stride, c: m.out + off, ldc: m.stride)
        }
    }

    /// Direct loops over a narrow band (the vocoder's [−40, +10] window): cost linear in T.
    static func banded(_ m: Views, segment: Range<Int>, mask: AttentionMask, scale: Float, compute: Compute) {
        let n = segment.count
        let d = m.headDim
        let band = mask.bandWidth ?? n
        compute.parallelFor(n, minChunk: 16) { rows in
            let w = UnsafeMutablePointer<Float>.allocate(capacity: band + 1)
            defer { w.deallocate() }
            for i in rows {
                let keys = mask.keys(for: i, count: n)
                for h in 0..<m.heads {
                    let qi = m.q + (segment.lowerBound + i) * m.stride + h * d
                    for (slot, j) in keys.enumerated() {
                        let kj = m.k + (segment.lowerBound + j) * m.stride + h * d
                        var dot: Float = 0
                        for c in 0..<d { dot += qi[c] * kj[c] }
                        w[slot] = dot
                    }
                    mk_softmax_f32(w, keys.count, scale)
                    let o = m.out + (segment.lowerBound + i) * m.stride + h * d
                    o.update(repeating: 0, count: d)
                    for (slot, j) in keys.enumerated() {
                        let vj = m.v + (segment.lowerBound + j) * m.stride + h * d
                        let p = w[slot]
                        for c in 0..<d { o[c] += p * vj[c] }
                    }
                }
            }
        }
    }
}
