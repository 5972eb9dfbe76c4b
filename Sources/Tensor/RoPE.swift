import Foundation

/// Rotary position embedding, NEOX / "rotate_half" style, as HF computes it in f32:
/// inv_freq[i] = 1 / theta^(2i/dim), angle = position · inv_freq, cos/sin of cat(angle, angle).
public struct RotaryEmbedding: Sendable {
    public let dim: Int
    public let theta: Float
    let invFreq: [Float]

    public init(dim: Int, theta: Float) {
        precondition(dim > 0 && dim % 2 == 0, "RoPE dimension must be even")
        self.dim = dim
        self.theta = theta
        invFreq = (0..<(dim / 2)).map { i in 1 / powf(theta, Float(2 * i) / Float(dim)) }
    }

    /// cos/sin rows for `positions`, each row `dim/2` wide (the second half repeats the first).
    public func table(positions: [Int]) -> (cos: [Float], sin: [Float]) {
        let half = dim / 2
        var c = [Float](repeating: 0, count: positions.count * half)
        var s = c
        for (t, pos) in positions.enumerated() {
            for i in 0..<half {
                let angle = Float(pos) * invFreq[i]
                c[t * half + i] = cosf(angle)
                s[t * half + i] = sinf(angle)
            }
        }
        return (c, s)
    }

    /// Rotates every head of `x` (`[T, heads·dim]`) in place with a table from `table(positions:)`.
    public func apply(_ x: inout Matrix, table: (cos: [Float], sin: [Float]), compute: Compute) {
        let half = dim / 2
        precondition(x.cols % dim == 0 && table.cos.count == x.rows * half)
        let heads = x.cols / dim
        let cols = x.cols
        x.data.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            table.cos.withUnsafeBufferPointer { cp in
                table.sin.withUnsafeBufferPointer { sp in
                    compute.parallelFor(x.rows, minChunk: 32) { rows in
                        for t in rows {
                            let c = cp.baseAddress! + t * half
                            let s = sp.baseAddress! + t * half
                            for h in 0..<heads {
                                let v = base + t * cols + h * dim
                                for i in 0..<half {
                                    let x1 = v[i]
                                    let x2 = v[i + half]
                                    v[i] = x1 * c[i] - x2 * s[i]
                                    v[i + half] = x2 * c[i] + x1 * s[i]
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
