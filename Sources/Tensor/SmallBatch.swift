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
    private let qx: UnsafeMutablePointer<Int16>?
    private let scales: UnsafeMutablePointer<Float>?

    init(x: UnsafePointer<Float>, rows m: Int, cols k: Int, format: WeightFormat) {
        precondition(m <= WeightMatrix.smallBatch && (format == .bf16 || format.isQuantized))
        (self.x, self.m, self.k, self.format) = (x, m, k, format)
        guard format.isQuantized else { qx = nil; scales = nil; return }
        let nb = k / Int(MK_QBLOCK)
        let qx = UnsafeMutablePointer<Int16>.allocate(capacity: m * k)
        let scales = UnsafeMutablePointer<Float>.allocate(capacity: 2 * m * nb)
        for i in 0..<m { mk_quantize_activations(x + i * k, k, qx + i * k, scales + i * nb, scales + (m + i) * nb) }
        (self.qx, self.scales) = (qx, scales)
    }

    func deallocate() {
        qx?.deallocate()
        scales?.deallocate()
    }

    /// Weight rows are handed out in groups of 4 so the decode kernel stays on its 4-row path.
    func rowGroups(_ rows: Int) -> Int { (rows + 3) / 4 }
    func rows(ofGroups g: Range<Int>, in rows: Int) -> Range<Int> { (g.lowerBound * 4)..<min(rows, g.upperBound * 4) }

    /// y[i][r] = x[i] · w[r] for r in `rows`.
    func multiply(_ w: WeightMatrix, rows r: Range<Int>, into y: UnsafeMutablePointer<Float>, ldy: Int) {
        precondition(w.cols == k && w.format == format)
        if let qx, let scales {
            let nb = k / Int(MK_QBLOCK)
            mk_qdot(qx, scales, scales + m * nb, m, k, w.base.assumingMemoryBound(to: UInt8.self), format == .q4_0 ? 1 : 0,
                    r.lowerBound, r.upperBound, y, ldy)
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
              layers.allSatisfy({ $0.weight.format == first.weight.format && $0.weight.cols == x.cols }) else {
            return layers.map { $0(x, compute) }
        }
        let (m, k) = (x.rows, x.cols)
        let widths = layers.map { $0.weight.rows }
        let total = widths.reduce(0, +)
        var groupStart = [0]
        for w in widths { groupStart.append(groupStart.last! + (w + 3) / 4) }
        var offsets = [0]
        for w in widths { offsets.append(offsets.last! + w) }
        var all = [Float](repeating: 0, count: m * total)
        x.data.withUnsafeBufferPointer { px in
            all.withUnsafeMutableBufferPointer { py in
                let (xp, yp) = (px.baseAddress!, py.baseAddress!)
                let input = SmallBatchInput(x: xp, rows: m, cols: k, format: first.weight.format)
                defer { input.deallocate() }
                compute.parallelFor(groupStart.last!, minChunk: 16) { g in
                    var u = g.lowerBound
                    while u < g.upperBound {
                        var l = 0
                        while groupStart[l + 1] <= u { l += 1 }
                        let end = min(g.upperBound, groupStart[l + 1])
                        let rows = input.rows(ofGroups: (u - groupStart[l])..<(end - groupStart[l]), in: widths[l])
                        input.multiply(layers[l].weight, rows: rows, into: yp + offsets[l], ldy: total)
                        u = end
                    }
                }
            }
        }
        return layers.indices.map { l in
            var y = Matrix(rows: m, cols: widths[l])
            for i in 0..<m {
                for j in 0..<widths[l] { y.data[i * widths[l] + j] = all[i * total + offsets[l] + j] + (layers[l].bias?[j] ?? 0) }
            }
            return y
        }
    }
}
