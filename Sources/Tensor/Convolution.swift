/// `nn.Conv1d` on `[time, channels]` sequences, as im2col + GEMM.
public struct Conv1d: Sendable {
    public let weight: WeightMatrix  // [out, in·kernel], PyTorch's [out, in, k] flattened
    public let bias: [Float]?
    public let inChannels: Int
    public let kernel: Int
    public let stride: Int
    public let padding: Int

    public init(weight: WeightMatrix, bias: [Float]?, inChannels: Int, kernel: Int, stride: Int, padding: Int) {
        precondition(weight.cols == inChannels * kernel)
        self.weight = weight
        self.bias = bias
        self.inChannels = inChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    public func outputLength(_ length: Int) -> Int {
        max(0, (length + 2 * padding - kernel) / stride + 1)
    }

    public func callAsFunction(_ x: Matrix, _ compute: Compute) -> Matrix {
        precondition(x.cols == inChannels)
        let tOut = outputLength(x.rows)
        var cols = Matrix(rows: tOut, cols: inChannels * kernel)
        let (k, cin, s, pad) = (kernel, inChannels, stride, padding)
        x.data.withUnsafeBufferPointer { px in
            cols.data.withUnsafeMutableBufferPointer { pc in
                let src = px.baseAddress!
                let dst = pc.baseAddress!
                compute.parallelFor(tOut, minChunk: 16) { range in
                    for t in range {
                        let row = dst + t * cin * k
                        for kk in 0..<k {
                            let ti = t * s - pad + kk
                            guard ti >= 0 && ti < x.rows else { continue }
                            let xi = src + ti * cin
                            for c in 0..<cin { row[c * k + kk] = xi[c] }
                        }
                    }
                }
            }
        }
        return weight.project(cols, bias: bias, compute: compute)
    }
}

/// `nn.ConvTranspose1d` (no padding) on `[time, channels]`: GEMM then overlap-add (col2im).
public struct ConvTranspose1d: Sendable {
    public let weight: WeightMatrix  // [in, out·kernel], PyTorch's [in, out, k] flattened
    public let bias: [Float]?
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int

    public init(weight: WeightMatrix, bias: [Float]?, outChannels: Int, kernel: Int, stride: Int) {
        precondition(weight.cols == outChannels * kernel)
        self.weight = weight
        self.bias = bias
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
    }

    /// Output length `(T − 1)·stride + kernel`.
    public func callAsFunction(_ x: Matrix, _ compute: Compute) -> Matrix {
        guard x.rows > 0 else { return Matrix(rows: 0, cols: outChannels) }
        let y = weight.multiply(x, compute: compute)
        let length = (x.rows - 1) * stride + kernel
        var out = Matrix(rows: length, cols: outChannels)
        let (k, cout) = (kernel, outChannels)
        for t in 0..<x.rows {
            for kk in 0..<k {
                let o = (t * stride + kk) * cout
                let yi = t * cout * k + kk
                for c in 0..<cout { out.data[o + c] += y.data[yi + c * k] }
            }
        }
        if let bias {
            for t in 0..<length { for c in 0..<cout { out.data[t * cout + c] += bias[c] } }
        }
        return out
    }
}
