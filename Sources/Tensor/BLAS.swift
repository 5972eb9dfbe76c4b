import Foundation

#if canImport(Accelerate)
    import Accelerate
#else
    import CBLAS
#endif

/// The few BLAS entry points the engine uses (row-major throughout).
public enum BLAS {
    private static let setup = BLASSetup()

    /// Sets the BLAS library's thread count, a process-wide setting of the library, once per
    /// process: the first call wins and returns its count; later calls change nothing (another
    /// thread may be inside a BLAS call) and return the count in force. The process's executor
    /// (the engine, or a command that runs models without it) calls this before any work;
    /// without a call the library keeps its own default (all cores).
    @discardableResult
    public static func configure(threads n: Int) -> Int { setup.configure(threads: max(1, n)) }

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
                    sgemm(
                        transA: false, transB: transposeB, m: a.rows, n: n, k: a.cols,
                        a: pa.baseAddress!, lda: a.cols, b: pb.baseAddress!, ldb: b.cols,
                        c: pc.baseAddress!, ldc: n)
                }
            }
        }
        return c
    }
}

private final class BLASSetup: @unchecked Sendable {
    private let lock = NSLock()
    private var threads: Int?

    func configure(threads n: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        if let threads { return threads }
        #if !canImport(Accelerate)
            openblas_set_num_threads(Int32(n))
        #endif
        threads = n
        return n
    }
}
