import CKernels

public enum Activation {
    /// PyTorch's exact (erf) GELU, in place.
    public static func gelu(_ x: inout Matrix, _ compute: Compute) {
        let n = x.data.count
        x.data.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            compute.parallelFor(n, minChunk: 1 << 14) { r in
                mk_gelu_f32(base + r.lowerBound, r.count)
            }
        }
    }
}
