import Tensor
import Weights

/// Residual vector quantiser: each level picks the nearest codebook entry (Euclidean, computed
/// as the reference does: ‖r‖² − 2 r·E + ‖E‖², first index on ties) and subtracts it.
struct ResidualVQ: Sendable {
    /// One `[bins, d]` f32 codebook per level (codebooks are small; kept widened).
    let codebooks: [Matrix]
    let squaredNorms: [[Float]]

    init(_ w: WeightSource, config c: TokenizerConfig) throws {
        codebooks = try c.codebookSizes.enumerated().map { i, bins in
            try w.weight("encoder.quantizer.vq.layers.\(i)._codebook.embed", shape: [bins, c.dModel]).toMatrix()
        }
        squaredNorms = codebooks.map { cb in
            (0..<cb.rows).map { r in cb.row(r).reduce(0) { $0 + $1 * $1 } }
        }
    }

    var levels: Int { codebooks.count }
    func bins(_ level: Int) -> Int { codebooks[level].rows }

    /// Codes `[levels][T]` for features `[T, d]`.
    func encode(_ x: Matrix, levels n: Int, compute: Compute) -> [[Int]] {
        var residual = x
        var codes: [[Int]] = []
        for level in 0..<n {
            let cb = codebooks[level]
            let dots = BLAS.matmul(residual, cb, transposeB: true)
            let e2 = squaredNorms[level]
            var picked = [Int](repeating: 0, count: x.rows)
            for t in 0..<x.rows {
                let r2 = residual.row(t).reduce(0) { $0 + $1 * $1 }
                var best = -Float.infinity
                var bestIndex = 0
                for j in 0..<cb.rows {
                    let score = -((r2 - 2 * dots[t, j]) + e2[j])
                    if score > best {
                        best = score
                        bestIndex = j
                    }
                }
                picked[t] = bestIndex
                for i in 0..<x.cols { residual[t, i] -= cb[bestIndex, i] }
            }
            codes.append(picked)
        }
        return codes
    }

    /// Σ over the given levels of each level's codebook row: `[T, d]`.
    func decode(_ codes: [[Int]]) -> Matrix {
        let frames = codes.first?.count ?? 0
        let d = codebooks.first?.cols ?? 0
        var out = Matrix(rows: frames, cols: d)
        for (level, row) in codes.enumerated() {
            let cb = codebooks[level]
            for (t, code) in row.enumerated() {
                for i in 0..<d { out[t, i] += cb[code, i] }
            }
        }
        return out
    }
}
