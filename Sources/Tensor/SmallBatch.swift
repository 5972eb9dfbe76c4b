import CKernels

/// Up to `WeightMatrix.smallBatch` activation rows prepared once for the small-batch kernels
/// of one weight format (int16 blocks for quantized weights, the f32 rows themselves for bf16),
/// so several weights sharing an input — q/k/v, gate/up — reuse the preparation and one
/// parallel loop covers all their rows.
struct SmallBatchInput {
    let x: UnsafePointer<Float>
    let m: Int
    let k: Int
    let format: WeightFormat
    /// int16 blocks (q8, and q4 with several rows) or int8 blocks (q4 decode steps on CPUs with
    /// AVX2, AVX-512 VNNI or NEON, where q4's own rounding dwarfs int8's), with per-block scales and sums.
    private let qx: UnsafeMutableRawPointer?
    private let int8: Bool
    private let scales: UnsafeMutablePointer<Float>?

    /// Row chunks per thread of a projection pass: ≈ 1 MB or more of q4 rows each in the backbone,
    /// so every chunk is still a long sequential stream; fewer for passes under 8 MB (the patch
    /// decoder's), so no chunk is shorter than `minChunkBytes` where it can be helped: streams
    /// that short spend a noticeable share of their time starting (patch decoder ~4 % faster
    /// than with 8 chunks per thread, in an alternating A/B; the backbone's passes keep 8).
    static let chunksPerThread = 8
    static let minChunkBytes = 512 << 10

    static let q4Int8 = mk_qdot_q4_i8_native() != 0

    init(x: UnsafePointer<Float>, rows m: Int, cols k: Int, format: WeightFormat) {
        precondition(m <= WeightMatrix.smallBatch && (format == .bf16 || format.isQuantized))
        (self.x, self.m, self.k, self.format) = (x, m, k, format)
        int8 = format == .q4_0 && m == 1 && Self.q4Int8
        guard format.isQuantized else {
            qx = nil
            scales = nil
            return
        }
        let nb = k / Int(MK_QBLOCK)
        let scales = UnsafeMutablePointer<Float>.allocate(capacity: 2 * m * nb)
        if int8 {
            let q = UnsafeMutablePointer<Int8>.allocate(capacity: k)
            mk_quantize_activations_i8(x, k, q, scales, scales + nb)
            qx = UnsafeMutableRawPointer(q)
        } else {
            let q = UnsafeMutablePointer<Int16>.allocate(capacity: m * k)
            for i in 0..<m { mk_quantize_activations(x + i * k, k, q + i * k, scales + i * nb, scales + (m + i) * nb) }
            qx = UnsafeMutableRawPointer(q)
        }
        self.scales = scales
    }

    func deallocate() {
        qx?.deallocate()
        scales?.deallocate()
    }

    /// y = x · Wᵀ for each weight, side by side in one output `[m, Σ rows]` (row stride Σ rows):
    /// one parallel pass over the rows of all the weights.
    func project(_ weights: [WeightMatrix], into y: UnsafeMutablePointer<Float>, compute: Compute) {
        var offsets = [0]
        for w in weights { offsets.append(offsets.last! + w.rows) }
        let total = offsets.last!
        let bytes = weights.reduce(0) { $0 + $1.byteCount }
        let perThread = min(Self.chunksPerThread, max(1, bytes / (compute.threads * Self.minChunkBytes)))
        compute.parallelFor(total, minChunk: 64, chunksPerThread: perThread) { r in
            var u = r.lowerBound
            while u < r.upperBound {
                var l = 0
                while offsets[l + 1] <= u { l += 1 }
                let end = min(r.upperBound, offsets[l + 1])
                multiply(weights[l], rows: (u - offsets[l])..<(end - offsets[l]), into: y + offsets[l], ldy: total)
                u = end
            }
        }
    }

    /// y[i][r] = x[i] · w[r] for r in `rows`.
    private func multiply(_ w: WeightMatrix, rows r: Range<Int>, into y: UnsafeMutablePointer<Float>, ldy: Int) {
        precondition(w.cols == k && w.format == format)
        if let qx, let scales {
            let nb = k / Int(MK_QBLOCK)
            let weights = w.base.assumingMemoryBound(to: UInt8.self)
            if int8 {
                mk_qdot_q4_i8(
                    qx.assumingMemoryBound(to: Int8.self), scales, scales + nb, k, weights, r.lowerBound, r.upperBound,
                    y)
            } else {
                mk_qdot(
                    qx.assumingMemoryBound(to: Int16.self), scales, scales + m * nb, m, k, weights,
                    format == .q4_0 ? 1 : 0,
                    r.lowerBound, r.upperBound, y, ldy)
            }
        } else {
            mk_gemm_bf16_small(x, m, k, w.base.assumingMemoryBound(to: UInt16.self), r.lowerBound, r.upperBound, y, ldy)
        }
    }
}

extension Linear {
    /// The layers applied to one input, as `layers.map { $0(x, compute) }` computes them. For
    /// decode steps with a common stored format this is one parallel pass over all their rows
    /// with the activations prepared once.
    public static func apply(_ layers: [Linear], to x: Matrix, _ compute: Compute) -> [Matrix] {
        guard let first = layers.first, x.rows > 0, x.rows <= WeightMatrix.smallBatch,
            first.weight.format == .bf16 || first.weight.format.isQuantized,
            layers.allSatisfy({ $0.weight.format == first.weight.format && $0.weight.cols == x.cols })
        else {
            return layers.map { $0(x, compute) }
        }
        let (m, k) = (x.rows, x.cols)
        let widths = layers.map { $0.weight.rows }
        let total = widths.reduce(0, +)
        var all = [Float](repeating: 0, count: m * total)
        x.data.withUnsafeBufferPointer { px in
            all.withUnsafeMutableBufferPointer { py in
                let input = SmallBatchInput(x: px.baseAddress!, rows: m, cols: k, format: first.weight.format)
                defer { input.deallocate() }
                input.project(layers.map(\.weight), into: py.baseAddress!, compute: compute)
            }
        }
        var offset = 0
        return layers.indices.map { l in
            var y = Matrix(rows: m, cols: widths[l])
            for i in 0..<m {
                for j in 0..<widths[l] {
                    y.data[i * widths[l] + j] = all[i * total + offset + j] + (layers[l].bias?[j] ?? 0)
                }
            }
            offset += widths[l]
            return y
        }
    }
}
