import Tensor

/// Qwen2's RMSNorm: `w · (x · rsqrt(mean(x²) + eps))`, statistics in f32 (accumulated in f64).
struct RMSNorm: Sendable {
    let weight: [Float]
    let eps: Float

    /// `roundNormalized` reproduces the reference's bf16 island: when the input tensor is bf16
    /// the normalised value is cast back to bf16 before the (f32) weight multiplies it.
    func callAsFunction(_ x: Matrix, roundNormalized: Bool = false) -> Matrix {
        precondition(x.cols == weight.count)
        var y = x
        let c = x.cols
        y.data.withUnsafeMutableBufferPointer { p in
            for r in 0..<x.rows {
                let row = p.baseAddress! + r * c
                var sq = 0.0
                for i in 0..<c { sq += Double(row[i]) * Double(row[i]) }
                let inv = 1 / (Float(sq / Double(c)) + eps).squareRoot()
                for i in 0..<c {
                    let n = row[i] * inv
                    row[i] = weight[i] * (roundNormalized ? BFloat16.round(n) : n)
                }
            }
        }
        return y
    }
}
