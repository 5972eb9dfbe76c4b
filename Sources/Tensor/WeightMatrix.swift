import CKernels

/// Keeps the memory behind a weight alive: a memory-mapped file or an owned allocation.
public protocol WeightOwner: AnyObject, Sendable {}

/// Heap memory owned by weights that were not memory-mapped (synthesised or realigned ones).
public final class OwnedBuffer: WeightOwner, @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let byteCount: Int

    public init(byteCount: Int) {
        self.byteCount = byteCount
        guard let p = mk_alloc_streamed(byteCount) else {
            fatalError("out of memory allocating \(byteCount) bytes of weights")
        }
        self.pointer = p
    }

    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(byteCount: bytes.count)
        if let base = bytes.baseAddress { pointer.copyMemory(from: base, byteCount: bytes.count) }
    }

    deinit { mk_free_streamed(pointer) }
}

/// How a weight's elements are stored.
public enum WeightFormat: String, Sendable, CaseIterable {
    case f32, bf16, f16
    /// 32-weight blocks: f16 scale + 32 int8 (8.5 bits per weight). Named as GGML names the format.
    // swift-format-ignore: AlwaysUseLowerCamelCase
    case q8_0
    /// 32-weight blocks: f16 scale + 16 bytes of 4-bit values (4.5 bits per weight).
    // swift-format-ignore: AlwaysUseLowerCamelCase
    case q4_0

    public init?(_ dtype: DType) {
        switch dtype {
        case .f32: self = .f32
        case .bf16: self = .bf16
        case .f16: self = .f16
        default: return nil
        }
    }

    public var isQuantized: Bool { self == .q8_0 || self == .q4_0 }

    /// Bytes of one row of `cols` weights (`cols` a multiple of 32 when quantized).
    public func rowBytes(cols: Int) -> Int {
        switch self {
        case .f32: return cols * 4
        case .bf16, .f16: return cols * 2
        case .q8_0: return mk_quant_row_bytes(cols, 0)
        case .q4_0: return mk_quant_row_bytes(cols, 1)
        }
    }

    /// Alignment the kernels need for the base address.
    var alignment: Int {
        switch self {
        case .f32: return 4
        case .bf16, .f16: return 2
        case .q8_0, .q4_0: return 1
        }
    }
}

/// How prompt-sized GEMMs (more than `WeightMatrix.smallBatch` rows) quantize the activations
/// multiplying q8_0 weights. q4_0 always takes int8 ones: its own rounding dwarfs theirs.
public enum QuantizedActivations: String, Sendable {
    /// int16 per 32-block: int8 ones double q8's logit error on the LM's reference fixtures.
    case int16
    /// int8 per 32-block: twice int16's speed where the int8 products are cheap (AVX2's
    /// `vpmaddubsw`, VNNI), ~0.5 % relative error per product; the codec's choice.
    case int8
}

/// A 2-D weight `[rows, cols]` kept in its stored format (f32, bf16, f16, or block-quantized).
/// Layers never know how it is stored: they call `project`/`multiply`, which read bf16 and
/// quantized weights directly in small-batch kernels (decode steps) or widen a block of rows
/// at a time into a small scratch buffer for a GEMM, so no model ever exists as an f32 copy.
public struct WeightMatrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    public let format: WeightFormat
    public let base: UnsafeRawPointer
    public let owner: WeightOwner
    /// Activation precision of q8_0 GEMMs (ignored for other formats).
    public var activations: QuantizedActivations = .int16

    /// `base` must be aligned to the element size (loaders realign misaligned tensors).
    public init(rows: Int, cols: Int, format: WeightFormat, base: UnsafeRawPointer, owner: WeightOwner) {
        precondition(!format.isQuantized || cols % Int(MK_QBLOCK) == 0, "quantized rows must be whole blocks")
        precondition(Int(bitPattern: base) % format.alignment == 0, "misaligned weight")
        self.rows = rows
        self.cols = cols
        self.format = format
        self.base = base
        self.owner = owner
    }

    public init(rows: Int, cols: Int, dtype: DType, base: UnsafeRawPointer, owner: WeightOwner) {
        guard let format = WeightFormat(dtype) else { preconditionFailure("unsupported weight dtype \(dtype)") }
        self.init(rows: rows, cols: cols, format: format, base: base, owner: owner)
    }

    public init(_ matrix: Matrix) {
        let buffer = OwnedBuffer(byteCount: matrix.data.count * 4)
        matrix.data.withUnsafeBytes { buffer.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        self.init(
            rows: matrix.rows, cols: matrix.cols, format: .f32, base: UnsafeRawPointer(buffer.pointer), owner: buffer)
    }

    public var byteCount: Int { rows * format.rowBytes(cols: cols) }

    /// Widens rows `range` to f32 into `dst` (`range.count · cols` floats).
    public func widenRows(_ range: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        let n = range.count * cols
        let row = base + range.lowerBound * format.rowBytes(cols: cols)
        switch format {
        case .f32: dst.update(from: row.assumingMemoryBound(to: Float.self), count: n)
        case .bf16: mk_bf16_to_f32(row.assumingMemoryBound(to: UInt16.self), dst, n)
        case .f16: mk_f16_to_f32(row.assumingMemoryBound(to: UInt16.self), dst, n)
        case .q8_0, .q4_0:
            // Quantized rows keep their scales at the front: one row at a time.
            let rowBytes = format.rowBytes(cols: cols)
            for i in 0..<range.count {
                let src = (row + i * rowBytes).assumingMemoryBound(to: UInt8.self)
                if format == .q8_0 {
                    mk_dequantize_q8_0(src, cols, dst + i * cols)
                } else {
                    mk_dequantize_q4_0(src, cols, dst + i * cols)
                }
            }
        }
    }

    /// This weight block-quantized (rows converted in parallel). `cols` must be a multiple of 32.
    public func quantized(_ target: WeightFormat, activations: QuantizedActivations = .int16, compute: Compute)
        -> WeightMatrix
    {
        precondition(target.isQuantized && cols % Int(MK_QBLOCK) == 0)
        let rowBytes = target.rowBytes(cols: cols)
        let buffer = OwnedBuffer(byteCount: rows * rowBytes)
        let out = buffer.pointer.assumingMemoryBound(to: UInt8.self)
        compute.parallelFor(rows, minChunk: 16) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: cols)
            defer { scratch.deallocate() }
            for r in range {
                widenRows(r..<(r + 1), into: scratch)
                if target == .q8_0 {
                    mk_quantize_q8_0(scratch, cols, out + r * rowBytes)
                } else {
                    mk_quantize_q4_0(scratch, cols, out + r * rowBytes)
                }
            }
        }
        var q = WeightMatrix(
            rows: rows, cols: cols, format: target, base: UnsafeRawPointer(buffer.pointer), owner: buffer)
        q.activations = activations
        return q
    }

    /// The whole weight as an f32 matrix (for small tensors such as codebooks and norms).
    public func toMatrix() -> Matrix {
        var m = Matrix(rows: rows, cols: cols)
        m.data.withUnsafeMutableBufferPointer { widenRows(0..<rows, into: $0.baseAddress!) }
        return m
    }

    /// Up to this many input rows, bf16 and quantized weights are read directly by a small-batch kernel
    /// instead of being widened for a GEMM.
    static let smallBatch = 8

    /// `Compute.Precision.fast` multiplies bf16 weights with bf16 dot products only where the
    /// CPU has them; elsewhere sgemm on widened weights is the faster path.
    static let nativeBF16 = mk_gemm_bf16_native() != 0

    /// Rows per widening block: up to 32 MB of f32, so every layer of the released tokenizer
    /// (≤ 6.6 M weights) is one GEMM — splitting it would make BLAS re-pack the activations
    /// for every block — while the scratch stays bounded for any larger matrix.
    private var blockRows: Int { max(1, min(rows, (8 << 20) / max(cols, 1))) }

    /// y = x · Wᵀ (+ bias): a Linear layer, x `[n, cols]` → `[n, rows]`.
    public func project(_ x: Matrix, bias: [Float]? = nil, compute: Compute) -> Matrix {
        precondition(x.cols == cols, "project: input has \(x.cols) features, weight expects \(cols)")
        precondition(bias == nil || bias!.count == rows)
        var y = Matrix(rows: x.rows, cols: rows)
        guard x.rows > 0 else { return y }
        x.data.withUnsafeBufferPointer { px in
            y.data.withUnsafeMutableBufferPointer { py in
                let (xp, yp, m, k, n) = (px.baseAddress!, py.baseAddress!, x.rows, cols, rows)
                switch format {
                case .f32:
                    BLAS.sgemm(
                        transA: false, transB: true, m: m, n: n, k: k,
                        a: xp, lda: k, b: base.assumingMemoryBound(to: Float.self), ldb: k, c: yp, ldc: n)
                case .bf16 where m <= Self.smallBatch, .q8_0 where m <= Self.smallBatch,
                    .q4_0 where m <= Self.smallBatch:
                    // Decode steps: a memory-bound pass over the stored weight, split by rows.
                    let input = SmallBatchInput(x: xp, rows: m, cols: k, format: format)
                    defer { input.deallocate() }
                    input.project([self], into: yp, compute: compute)
                case .q4_0:
                    gemm(MK_W_Q4_0, xp, m: m, y: yp, compute: compute)
                case .q8_0:
                    gemm(activations == .int8 ? MK_W_Q8_0 : MK_W_Q8_0_X16, xp, m: m, y: yp, compute: compute)
                case .bf16 where compute.precision == .fast && Self.nativeBF16:
                    gemm(MK_W_BF16, xp, m: m, y: yp, compute: compute)
                default:
                    forEachWidenedBlock(compute: compute) { r, scratch in
                        BLAS.sgemm(
                            transA: false, transB: true, m: m, n: r.count, k: k,
                            a: xp, lda: k, b: scratch, ldb: k, c: yp + r.lowerBound, ldc: n)
                    }
                }
                if let bias {
                    for i in 0..<m { for j in 0..<n { yp[i * n + j] += bias[j] } }
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
                let (xp, yp) = (px.baseAddress!, py.baseAddress!)
                if format == .f32 {
                    BLAS.sgemm(
                        transA: false, transB: false, m: x.rows, n: cols, k: rows,
                        a: xp, lda: rows, b: base.assumingMemoryBound(to: Float.self), ldb: cols, c: yp, ldc: cols)
                    return
                }
                forEachWidenedBlock(compute: compute) { r, scratch in
                    BLAS.sgemm(
                        transA: false, transB: false, m: x.rows, n: cols, k: r.count,
                        a: xp + r.lowerBound, lda: rows, b: scratch, ldb: cols,
                        beta: r.lowerBound == 0 ? 0 : 1, c: yp, ldc: cols)
                }
            }
        }
        return y
    }

    /// Many activation rows against bf16 or quantized weights as stored (gemm.h): the
    /// activations are converted once (int8 / int16 blocks or bf16), then the weight rows are
    /// split between threads in whole 192-row panels.
    private func gemm(
        _ fmt: mk_wfmt, _ x: UnsafePointer<Float>, m: Int, y: UnsafeMutablePointer<Float>, compute: Compute
    ) {
        let act = UnsafeMutableRawPointer.allocate(byteCount: mk_gemm_act_bytes(fmt, m, cols), alignment: 64)
        defer { act.deallocate() }
        compute.parallelFor(m, minChunk: 16) { r in mk_gemm_prepare(fmt, x, m, cols, r.lowerBound, r.upperBound, act) }
        let panel = 192
        compute.parallelFor((rows + panel - 1) / panel) { p in
            mk_gemm(fmt, act, m, cols, base, p.lowerBound * panel, min(rows, p.upperBound * panel), y, rows)
        }
    }

    /// Widens the weight a block of rows at a time (in parallel) into one reused scratch
    /// buffer and hands each block to `body` — the GEMM path of non-f32 weights.
    private func forEachWidenedBlock(compute: Compute, _ body: (Range<Int>, UnsafePointer<Float>) -> Void) {
        let block = blockRows
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: block * cols)
        defer { scratch.deallocate() }
        for r0 in stride(from: 0, to: rows, by: block) {
            let range = r0..<min(rows, r0 + block)
            compute.parallelFor(range.count, minChunk: 64) { sub in
                widenRows((r0 + sub.lowerBound)..<(r0 + sub.upperBound), into: scratch + sub.lowerBound * cols)
            }
            body(range, scratch)
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

    public func callAsFunction(_ x: Matrix, _ compute: Compute) -> Matrix {
        weight.project(x, bias: bias, compute: compute)
    }
}
