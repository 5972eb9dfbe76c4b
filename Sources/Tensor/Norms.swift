/// `nn.LayerNorm` over the last dimension (statistics accumulated in f64 for stability).
public struct LayerNorm: Sendable {
    public let weight: [Float]
    public let bias: [Float]
    public let eps: Float

    public init(weight: [Float], bias: [Float], eps: Float = 1e-5) {
        precondition(weight.count == bias.count)
        self.weight = weight
        self.bias = bias
        self.eps = eps
    }

    public func callAsFunction(_ x: Matrix, _ compute: Compute) -> Matrix {
        precondition(x.cols == weight.count, "LayerNorm: \(x.cols) features, norm has \(weight.count)")
        var y = x
        let c = x.cols
        let eps = Double(self.eps)
        y.data.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            weight.withUnsafeBufferPointer { w in
                bias.withUnsafeBufferPointer { b in
                    compute.parallelFor(x.rows, minChunk: 16) { rows in
                        for r in rows {
                            let row = base + r * c
                            var sum = 0.0
                            for i in 0..<c { sum += Double(row[i]) }
                            let mean = sum / Double(c)
                            var sq = 0.0
                            for i in 0..<c {
                                let d = Double(row[i]) - mean
                                sq += d * d
                            }
                            let inv = 1.0 / (sq / Double(c) + eps).squareRoot()
                            for i in 0..<c {
                                row[i] = Float((Double(row[i]) - mean) * inv) * w[i] + b[i]
                            }
                        }
                    }
                }
            }
        }
        return y
    }
}

/// `nn.GroupNorm(1, C)` on a `[time, C]` sequence: one mean and variance over every channel
/// and every time step, then a per-channel affine.
public struct SingleGroupNorm: Sendable {
    public let weight: [Float]
    public let bias: [Float]
    public let eps: Float

    public init(weight: [Float], bias: [Float], eps: Float = 1e-5) {
        precondition(weight.count == bias.count)
        self.weight = weight
        self.bias = bias
        self.eps = eps
    }

    public func callAsFunction(_ x: Matrix) -> Matrix {
        precondition(x.cols == weight.count, "GroupNorm: \(x.cols) channels, norm has \(weight.count)")
        guard x.data.count > 0 else { return x }
        var y = x
        let c = x.cols
        y.data.withUnsafeMutableBufferPointer { p in
            var sum = 0.0
            for v in p { sum += Double(v) }
            let mean = sum / Double(p.count)
            var sq = 0.0
            for v in p {
                let d = Double(v) - mean
                sq += d * d
            }
            let inv = 1.0 / (sq / Double(p.count) + Double(eps)).squareRoot()
            for r in 0..<x.rows {
                for i in 0..<c {
                    let k = r * c + i
                    p[k] = Float((Double(p[k]) - mean) * inv) * weight[i] + bias[i]
                }
            }
        }
        return y
    }
}
