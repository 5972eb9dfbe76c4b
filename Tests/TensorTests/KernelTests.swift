import CKernels
import Foundation
import Tensor
import XCTest

/// The engine's own kernels against plain reference loops (in f64 where it matters).
final class KernelTests: XCTestCase {
    let compute = Compute(threads: 2)

    func random(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (Float(s >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    func testGELUMatchesExactErfGELU() {
        var x = Matrix(rows: 1, cols: 20001, data: (0..<20001).map { Float($0 - 10000) / 1000 })
        let input = x.data
        Activation.gelu(&x, compute)
        var worst = 0.0
        for (v, y) in zip(input, x.data) {
            let exact = 0.5 * Double(v) * (1 + erf(Double(v) / 2.0.squareRoot()))
            worst = max(worst, abs(Double(y) - exact) / max(abs(exact), 1e-3))
        }
        // The rational erfc has relative error < 1.2e-7, but its exponent −z² + p(t) is
        // rounded in f32: an absolute error of ~z²·2⁻²⁴ ≈ 7e-7 at |x| = 10/√2, which exp turns
        // into that relative error. PyTorch's own f32 erf is no closer; 2e-6 bounds both.
        XCTAssertLessThan(worst, 2e-6)
    }

    func testSoftmaxAndExpMatchF64() {
        var row = random(300, seed: 1, scale: 30)
        let input = row
        row.withUnsafeMutableBufferPointer { mk_softmax_f32($0.baseAddress!, $0.count, 0.5) }
        let m = input.map { Double($0) * 0.5 }.max()!
        let e = input.map { exp(Double($0) * 0.5 - m) }
        let sum = e.reduce(0, +)
        // Probabilities ≤ 1 from a ~1-ulp exp and an f32 sum of 300 terms.
        for (y, ei) in zip(row, e) { XCTAssertEqual(Double(y), ei / sum, accuracy: 1e-7) }

        let xs = (0..<2001).map { Float($0 - 1000) / 12 }
        var ys = [Float](repeating: 0, count: xs.count)
        mk_exp_f32(xs, &ys, xs.count)
        for (x, y) in zip(xs, ys) where x > -80 {
            XCTAssertEqual(Double(y), exp(Double(x)), accuracy: exp(Double(x)) * 4e-7, "exp(\(x))")
        }
    }

    func testBandedAttentionEqualsDenseAttentionWithTheSameMask() {
        let (t, heads, d) = (97, 2, 8)
        let q = Matrix(rows: t, cols: heads * d, data: random(t * heads * d, seed: 2))
        let k = Matrix(rows: t, cols: heads * d, data: random(t * heads * d, seed: 3))
        let v = Matrix(rows: t, cols: heads * d, data: random(t * heads * d, seed: 4))
        let mask = AttentionMask(causal: false, left: 5, right: 2)
        let segments = [0..<60, 60..<97]
        let banded = Attention.multiHead(
            q: q, k: k, v: v, heads: heads, segments: segments, mask: mask, compute: compute)
        let reference = naiveAttention(q, k, v, heads: heads, segments: segments, mask: mask)
        // f32 sums of ≤ 8 keys in a different order.
        XCTAssertLessThan(zip(banded.data, reference).map { abs(Double($0) - $1) }.max()!, 1e-5)
        for dense in [AttentionMask.full, .causal] {
            let out = Attention.multiHead(
                q: q, k: k, v: v, heads: heads, segments: segments, mask: dense, compute: compute)
            let ref = naiveAttention(q, k, v, heads: heads, segments: segments, mask: dense)
            // f32 softmax and sums over ≤ 60 keys against f64: ≤ 60 · 2^-24 relative on O(1) values ≈ 4e-6.
            XCTAssertLessThan(zip(out.data, ref).map { abs(Double($0) - $1) }.max()!, 1e-5)
        }
    }

    func naiveAttention(_ q: Matrix, _ k: Matrix, _ v: Matrix, heads: Int, segments: [Range<Int>], mask: AttentionMask)
        -> [Double]
    {
        let d = q.cols / heads
        var out = [Double](repeating: 0, count: q.data.count)
        for seg in segments {
            for h in 0..<heads {
                for i in seg {
                    var keys: [Int] = []
                    for j in seg {
                        let (ri, rj) = (i - seg.lowerBound, j - seg.lowerBound)
                        if let l = mask.left, rj < ri - l { continue }
                        if let r = mask.right, rj > ri + r { continue }
                        if mask.causal && rj > ri { continue }
                        keys.append(j)
                    }
                    let scores = keys.map { j in
                        (0..<d).reduce(0.0) { $0 + Double(q[i, h * d + $1]) * Double(k[j, h * d + $1]) }
                            / Double(d).squareRoot()
                    }
                    let m = scores.max()!
                    let e = scores.map { exp($0 - m) }
                    let sum = e.reduce(0, +)
                    for (n, j) in keys.enumerated() {
                        for c in 0..<d { out[i * q.cols + h * d + c] += e[n] / sum * Double(v[j, h * d + c]) }
                    }
                }
            }
        }
        return out
    }

    func testConvolutionsMatchDirectLoops() {
        let (t, cin, cout, kernel) = (11, 3, 4, 3)
        let x = Matrix(rows: t, cols: cin, data: random(t * cin, seed: 5))
        let w = random(cout * cin * kernel, seed: 6)
        let b = random(cout, seed: 7)
        let conv = Conv1d(
            weight: WeightMatrix(Matrix(rows: cout, cols: cin * kernel, data: w)), bias: b,
            inChannels: cin, kernel: kernel, stride: 2, padding: 1)
        let y = conv(x, compute)
        XCTAssertEqual(y.rows, (t + 2 - kernel) / 2 + 1)
        for o in 0..<y.rows {
            for c in 0..<cout {
                var s = Double(b[c])
                for i in 0..<cin {
                    for kk in 0..<kernel {
                        let ti = o * 2 - 1 + kk
                        if ti >= 0 && ti < t { s += Double(w[(c * cin + i) * kernel + kk]) * Double(x[ti, i]) }
                    }
                }
                // An f32 GEMM sum of cin · kernel products of O(1) values against f64: a few 2^-24 ulps of the sum.
                XCTAssertEqual(Double(y[o, c]), s, accuracy: 1e-5)
            }
        }
        // Transposed: weight [in, out, k].
        let wt = random(cin * cout * kernel, seed: 8)
        let tconv = ConvTranspose1d(
            weight: WeightMatrix(Matrix(rows: cin, cols: cout * kernel, data: wt)), bias: b,
            outChannels: cout, kernel: kernel, stride: 2)
        let z = tconv(x, compute)
        XCTAssertEqual(z.rows, (t - 1) * 2 + kernel)
        for p in 0..<z.rows {
            for c in 0..<cout {
                var s = Double(b[c])
                for ti in 0..<t {
                    let kk = p - ti * 2
                    if kk >= 0 && kk < kernel {
                        for i in 0..<cin { s += Double(x[ti, i]) * Double(wt[(i * cout + c) * kernel + kk]) }
                    }
                }
                // As above: f32 sums of ≤ cin · kernel products against f64.
                XCTAssertEqual(Double(z[p, c]), s, accuracy: 1e-5)
            }
        }
    }

    /// bf16 weights are read by the small-batch kernel (≤ 8 input rows) or widened block by
    /// block for a GEMM; both must agree with the f32 path on the widened values, including a
    /// weight large enough to need two blocks.
    func testBF16WeightsMatchTheirF32Widening() {
        for (rows, cols) in [(37, 19), (4100, 2048)] {
            let values = random(rows * cols, seed: 9)
            let bits = values.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
            let widened = bits.map { Float(bitPattern: UInt32($0) << 16) }
            let buffer = OwnedBuffer(byteCount: bits.count * 2)
            bits.withUnsafeBytes { buffer.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            let bf16 = WeightMatrix(
                rows: rows, cols: cols, dtype: .bf16, base: UnsafeRawPointer(buffer.pointer), owner: buffer)
            let f32 = WeightMatrix(Matrix(rows: rows, cols: cols, data: widened))
            let bias = random(rows, seed: 11)
            // Many rows: the widened GEMM. One block is the very same GEMM (exact); with two, BLAS
            // may block K differently per output-column range: sums of magnitude ~20
            // re-associated, a few ulps (ulp(20) ≈ 2e-6).
            let x = Matrix(rows: 9, cols: cols, data: random(9 * cols, seed: 10))
            let p = bf16.project(x, bias: bias, compute: compute)
            let q = f32.project(x, bias: bias, compute: compute)
            XCTAssertLessThanOrEqual(zip(p.data, q.data).map { abs($0 - $1) }.max()!, rows > 4096 ? 1e-4 : 0)
            // Few rows: the bf16 kernel, 16 partial sums per row: the same re-association bound.
            for m in [1, 3, 8] {
                let xs = x.rows(0..<m)
                let a = bf16.project(xs, bias: bias, compute: compute)
                let b = f32.project(xs, bias: bias, compute: compute)
                XCTAssertLessThanOrEqual(zip(a.data, b.data).map { abs($0 - $1) }.max()!, 1e-4, "\(m) rows")
            }
            let xt = Matrix(rows: 3, cols: rows, data: random(3 * rows, seed: 12))
            let a = bf16.multiply(xt, compute: compute)
            let b = f32.multiply(xt, compute: compute)
            // `multiply` accumulates two blocks in two GEMM calls: the same re-association bound.
            XCTAssertLessThanOrEqual(zip(a.data, b.data).map { abs($0 - $1) }.max()!, rows > 4096 ? 1e-4 : 0)
        }
    }

    /// The explicit one-row bf16 kernels against the generic loop, per instruction set: row
    /// lengths with and without vector tails, a row range off both ends.
    func checkBF16Decode(_ name: String, _ table: mk_kernels) {
        let scalar = KernelPaths.scalar
        for (k, seed) in [(4096, UInt64(61)), (100, 63), (7, 65), (1088, 67)] {
            let rows = 29
            let bits = random(rows * k, seed: seed).map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
            let x = random(k, seed: seed + 1)
            var fast = [Float](repeating: 0, count: rows)
            var slow = fast
            table.gemm_bf16_small!(x, 1, k, bits, 2, rows - 1, &fast, rows)
            scalar.gemm_bf16_small!(x, 1, k, bits, 2, rows - 1, &slow, rows)
            // Exact widening; only the f32 summation order differs: each order rounds ~k/16
            // partial sums of magnitude ≲ 65 (ulp 7.6e-6), a random walk of about √256 · ½ ulp
            // ≈ 6e-5 at k = 4096; measured ≤ 1.5e-5.
            XCTAssertLessThanOrEqual(zip(fast, slow).map { abs($0 - $1) }.max()!, 1e-4, "\(name) k \(k)")
            XCTAssertEqual([fast[0], fast[1], fast[rows - 1]], [0, 0, 0], "only rows r0 ..< r1 written")
            XCTAssertGreaterThan(slow.map(abs).max()!, 0.5, "non-trivial outputs")
        }
    }

    func testBF16DecodeAVX2KernelMatchesTheGenericLoop() throws {
        checkBF16Decode("AVX2", try KernelPaths.required("AVX2", x86: KernelPaths.avx2))
    }
    func testBF16DecodeAVX512KernelMatchesTheGenericLoop() throws {
        checkBF16Decode("AVX-512", try KernelPaths.required("AVX-512", x86: KernelPaths.avx512))
    }

    func testLayerNormAndGroupNormMatchF64() {
        let x = Matrix(rows: 5, cols: 16, data: random(80, seed: 13, scale: 3))
        let w = random(16, seed: 14)
        let b = random(16, seed: 15)
        let ln = LayerNorm(weight: w, bias: b)(x, compute)
        let gn = SingleGroupNorm(weight: w, bias: b)(x)
        let all = x.data.map(Double.init)
        let gMean = all.reduce(0, +) / 80
        let gVar = all.map { ($0 - gMean) * ($0 - gMean) }.reduce(0, +) / 80
        for r in 0..<5 {
            let row = x.row(r).map(Double.init)
            let mean = row.reduce(0, +) / 16
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 16
            for c in 0..<16 {
                let expected = (row[c] - mean) / (variance + 1e-5).squareRoot() * Double(w[c]) + Double(b[c])
                // f32 mean and variance of ≤ 80 values of scale 3, then a normalised O(3) result:
                // relative 2^-24 per step on values ≤ ~10 stays under 1e-5.
                XCTAssertEqual(Double(ln[r, c]), expected, accuracy: 1e-5)
                let g = (row[c] - gMean) / (gVar + 1e-5).squareRoot() * Double(w[c]) + Double(b[c])
                XCTAssertEqual(Double(gn[r, c]), g, accuracy: 1e-5)
            }
        }
    }
}
