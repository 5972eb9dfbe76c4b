#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// The few BLAS entry points the engine uses (row-major throughout).
public enum BLAS {
    static func setThreads(_ n: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(n))
        #endif
    }

    /// C[m×n] = alpha · op(A) · op(B) + beta · C, with leading dimensions given explicitly so
    /// strided views (one attention head inside a [T, H·D] matrix) need no copy.
    @inlinable
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    @inlinable
    public static func dgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double = 1,
        a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double = 0, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        cblas_dgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// A · B (or A · Bᵀ) for row-major matrices.
    public static func matmul(_ a: Matrix, _ b: Matrix, transposeB: Bool = false) -> Matrix {
        let (inner, n) = transposeB ? (b.cols, b.rows) : (b.rows, b.cols)
        precondition(a.cols == inner, "matmul: \(a.rows)×\(a.cols) · \(b.rows)×\(b.cols)\(transposeB ? "ᵀ" : "")")
        var c = Matrix(rows: a.rows, cols: n)
        guard a.cols > 0 else { return c }
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                c.data.withUnsafeMutableBufferPointer { pc in
                    sgemm(transA: false, transB: transposeB, m: a.rows, n: n, k: a.cols,
                          a: pa.baseAddress!, lda: a.cols, b: pb.baseAddress!, ldb: b.cols,
                          c: pc.baseAddress!, ldc: n)
                }
            }
        }
        return c
    }
}
