import CKernels

/// Keeps the memory behind a weight alive: a memory-mapped file or an owned allocation.
public protocol WeightOwner: AnyObject, Sendable {}

/// Heap memory owned by weights that were not memory-mapped (synthesised or realigned ones).
public final class OwnedBuffer: WeightOwner, @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let byteCount: Int

    public init(byteCount: Int) {
        self.byteCount = byteCount
        self.pointer = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
    }

    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(byteCount: bytes.count)
        if let base = bytes.baseAddress { pointer.copyMemory(from: base, byteCount: bytes.count) }
    }

    deinit { pointer.deallocate() }
}

/// A 2-D weight `[rows, cols]` kept in its stored dtype (f32, bf16 or f16). Layers never know
/// how it is stored: they call `project`/`multiply`, which widen bf16/f16 a block of rows at a
/// time into a small scratch buffer, so a bf16 model never exists as an f32 copy.
public struct WeightMatrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    public let dtype: DType
    public let base: UnsafeRawPointer
    public let owner: WeightOwner

    /// `base` must be aligned to the dtype's size (loaders realign misaligned tensors).
    public init(rows: Int, cols: Int, dtype: DType, base: UnsafeRawPointer, owner: WeightOwner) {
        precondition(dtype == .f32 || dtype == .bf16 || dtype == .f16, "unsupported weight dtype \(dtype)")
        precondition(Int(bitPattern: base) % dtype.byteSize == 0, "misaligned weight")
        self.rows = rows
        self.cols = cols
        self.dtype = dtype
        self.base = base
        self.owner = owner
    }

    public init(_ matrix: Matrix) {
        let buffer = OwnedBuffer(byteCount: matrix.data.count * 4)
        matrix.data.withUnsafeBytes { buffer.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        self.init(rows: matrix.rows, cols: matrix.cols, dtype: .f32, base: UnsafeRawPointer(buffer.pointer), owner: buffer)
    }

    /// The same bytes viewed with another 2-D shape (e.g. a conv kernel `[out, in, k]` as `[out, in·k]`).
    public func reshaped(rows: Int, cols: Int) -> WeightMatrix {
        precondition(rows * cols == self.rows * self.cols)
        return WeightMatrix(rows: rows, cols: cols, dtype: dtype, base: base, owner: owner)
    }

    /// Widens rows `range` to f32 into `dst` (`range.count · cols` floats).
    public func widenRows(_ range: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        let offset = range.lowerBound * cols
        let n = range.count * cols
        switch dtype {
        case .f32:
            dst.update(from: base.assumingMemoryBound(to: Float.self) + offset, count: n)
        case .bf16:
            mk_bf16_to_f32(base.assumingMemoryBound(to: UInt16.self) + offset, dst, n)
        case .f16:
            mk_f16_to_f32(base.assumingMemoryBound(to: UInt16.self) + offset, dst, n)
        default:
            fatalError("unreachable: dtype checked at init")
        }
    }

    /// The whole weight as an f32 matrix (for small tensors such as codebooks and norms).
    public func toMatrix() -> Matrix {
        var m = Matrix(rows: rows, cols: cols)
        m.data.withUnsafeMutableBufferPointer { widenRows(0..<rows, into: $0.baseAddress!) }
        return m
    }

    /// Up to this many input rows, bf16 weights are read directly by a matrix-vector kernel
    /// instead of being widened for a GEMM.
    static let smallBatch = 8

    /// Rows per widening block: up to 32 MB of f32, so every layer of the released tokenizer
    /// (≤ 6.6 M weights) is one GEMM — splitting it would make BLAS re-pack the activations
    /// for every block — while the scratch stays bounded for any larger matrix.
    private var blockRows: Int { max(1, min(rows, (8 << 20) / max(cols, 1))) }

    /// y = x · Wᵀ (+ bias): a Linear layer, x `[n, cols]` → `[n, rows]`.
    public func project(_ x: Matrix, bias: [Float]? = nil, compute: Compute) -> Matrix {
        precondition(x.cols == cols, "project: input has \(x.cols) features, weight expects \(cols)")
        var y = Matrix(rows: x.rows, cols: rows)
        guard x.rows > 0 else { return y }
        var beta: Float = 0
        if let bias {
            precondition(bias.count == rows)
            y.data.withUnsafeMutableBufferPointer { p in
                for r in 0..<x.rows { (p.baseAddress! + r * rows).update(from: bias, count: rows) }
            }
            beta = 1
        }
        x.data.withUnsafeBufferPointer { px in
            y.data.withUnsafeMutableBufferPointer { py in
                if dtype == .f32 {
                    BLAS.sgemm(transA: false, transB: true, m: x.rows, n: rows, k: cols,
                               a: px.baseAddress!, lda: cols, b: base.assumingMemoryBound(to: Float.self), ldb: cols,
                               beta: beta, c: py.baseAddress!, ldc: rows)
                    return
                }
                if dtype == .bf16 && x.rows <= Self.smallBatch {
                    // Decode steps: a memory-bound pass over the bf16 weight, split by rows.
                    let y = UnsafeMutablePointer<Float>.allocate(capacity: x.rows * rows)
                    defer { y.deallocate() }
                    let w = base.assumingMemoryBound(to: UInt16.self)
                    let (xp, m, k, n) = (px.baseAddress!, x.rows, cols, rows)
                    compute.parallelFor(rows, minChunk: 64) { r in
                        mk_gemm_bf16_small(xp, m, k, w, r.lowerBound, r.upperBound, y, n)
                    }
                    for i in 0..<(m * n) { py[i] = beta * py[i] + y[i] }
                    return
                }
                let block = blockRows
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: block * cols)
                defer { scratch.deallocate() }
                for r0 in stride(from: 0, to: rows, by: block) {
                    let r1 = min(rows, r0 + block)
                    widenParallel(r0..<r1, into: scratch, compute: compute)
                    BLAS.sgemm(transA: false, transB: true, m: x.rows, n: r1 - r0, k: cols,
                               a: px.baseAddress!, lda: cols, b: scratch, ldb: cols,
                               beta: beta, c: py.baseAddress! + r0, ldc: rows)
                }
            }
        }
        return y
    }

    /// y = x · W, x `[n, rows]` → `[n, cols]` (transposed convolutions store weights this way).
    public func multiply(_ x: Matrix, compute: Compute) -> Matrix {
        precondition(x.cols == rows, "multiply: input has \(x.cols) features, weight has \(rows) rows")
        var y = Matrix(rows: x.rows, cols: cols)
        guard x.rows > 0 else { return y }
        x.data.withUnsafeBufferPointer { px in
            y.data.withUnsafeMutableBufferPointer { py in
                if dtype == .f32 {
                    BLAS.sgemm(transA: false, transB: false, m: x.rows, n: cols, k: rows,
                               a: px.baseAddress!, lda: rows, b: base.assumingMemoryBound(to: Float.self), ldb: cols,
                               c: py.baseAddress!, ldc: cols)
                    return
                }
                let block = blockRows
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: block * cols)
                defer { scratch.deallocate() }
                for r0 in stride(from: 0, to: rows, by: block) {
                    let r1 = min(rows, r0 + block)
                    widenParallel(r0..<r1, into: scratch, compute: compute)
                    BLAS.sgemm(transA: false, transB: false, m: x.rows, n: cols, k: r1 - r0,
                               a: px.baseAddress! + r0, lda: rows, b: scratch, ldb: cols,
                               beta: r0 == 0 ? 0 : 1, c: py.baseAddress!, ldc: cols)
                }
            }
        }
        return y
    }

    private func widenParallel(_ range: Range<Int>, into dst: UnsafeMutablePointer<Float>, compute: Compute) {
        compute.parallelFor(range.count, minChunk: 64) { sub in
            widenRows((range.lowerBound + sub.lowerBound)..<(range.lowerBound + sub.upperBound),
                      into: dst + sub.lowerBound * cols)
        }
    }
}

/// A fully connected layer, PyTorch's `nn.Linear` (weight `[out, in]`).
public struct Linear: Sendable {
    public let weight: WeightMatrix
    public let bias: [Float]?

    public init(weight: WeightMatrix, bias: [Float]?) {
        precondition(bias == nil || bias!.count == weight.rows)
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.cols }
    public var outFeatures: Int { weight.rows }

    public func callAsFunction(_ x: Matrix, _ compute: Compute) -> Matrix {
        weight.project(x, bias: bias, compute: compute)
    }
}
