import CKernels
import Foundation
import Tensor
import XCTest

/// Block quantization: round-trip error bounds, and the small-batch kernels against the widened
/// weights through the GEMM path.
final class QuantizationTests: XCTestCase {
    let compute = Compute(threads: 2)

    func random(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(s >> 40) / Float(1 << 24) * 2 - 1
        }
    }

    func testRoundTripErrorIsWithinHalfAStepOfTheBlockScale() {
        let n = 32 * 96
        let x = random(n, seed: 1)
        // Rows of 1, 3 (an odd q4 block count) and 4 blocks.
        for (format, levels, cols) in [
            (WeightFormat.q8_0, Float(127), 32), (.q4_0, 7, 32), (.q8_0, 127, 96), (.q4_0, 7, 96), (.q4_0, 7, 128),
        ] {
            let w = WeightMatrix(Matrix(rows: n / cols, cols: cols, data: x)).quantized(format, compute: compute)
            let back = w.toMatrix().data
            for b in 0..<(n / 32) {
                let block = x[(b * 32)..<((b + 1) * 32)]
                let step = (block.map(abs).max() ?? 0) / levels
                // Rounding to the nearest level is off by at most half a step; the f16 scale adds
                // a relative 2^-11 on the largest value.
                let bound = step * 0.5 + (block.map(abs).max() ?? 0) * 1e-3
                for i in block.indices { XCTAssertLessThanOrEqual(abs(back[i] - x[i]), bound, "\(format) block \(b)") }
            }
            XCTAssertEqual(w.byteCount, n / 32 * (format == .q8_0 ? 34 : 18))
        }
    }

    func testAllZeroBlocksStayZero() {
        let w = WeightMatrix(Matrix(rows: 2, cols: 64)).quantized(.q4_0, compute: compute)
        XCTAssertEqual(w.toMatrix().data, [Float](repeating: 0, count: 128))
    }

    /// Decode steps (≤ 8 rows) read the blocks directly with int16 activations; larger batches
    /// run the prefill GEMM (q8: int16 activations, q4: int8). Both against an f32 GEMM on the
    /// dequantized values.
    func testQuantizedKernelsMatchTheDequantizedWeights() {
        let (rows, cols) = (300, 1024)
        let weights = WeightMatrix(Matrix(rows: rows, cols: cols, data: random(rows * cols, seed: 2)))
        let bias = random(rows, seed: 3)
        let x = Matrix(rows: 40, cols: cols, data: random(40 * cols, seed: 4))
        for format in [WeightFormat.q8_0, .q4_0] {
            let q = weights.quantized(format, compute: compute)
            let reference = WeightMatrix(q.toMatrix())  // the dequantized values as f32
            for m in [1, 4, 8, 9, 40] {
                let xs = x.rows(0..<m)
                let a = q.project(xs, bias: bias, compute: compute)
                let b = reference.project(xs, bias: bias, compute: compute)
                let error = zip(a.data, b.data).map { abs($0 - $1) }.max()!
                if format == .q4_0
                    && (m > 8 || (m == 1 && mk_qdot_q4_i8_native() != 0))
                {
                    // int8 activations (prompts, and decode steps on AVX2 / VNNI / NEON CPUs): each errs by ≤ 1/254 of its block maximum (|x| ≤ 1), so a
                    // sum of 1024 products with |w| ≤ 1 has σ ≈ √1024 · 0.0039/√3 · E|w| ≈ 0.04;
                    // 0.3 is ~8σ, while a wrong block, nibble or scale errs by O(10).
                    XCTAssertLessThanOrEqual(error, 0.3, "\(format), \(m) rows")
                } else {
                    // int16 activations: each errs by ≤ 1.5e-5 (1/65534 of its block maximum);
                    // over 1024 products with |w| ≤ 1 at most 0.016 and statistically ~3e-4;
                    // 1e-3 keeps a margin over that while a wrong block or scale errs by O(10).
                    XCTAssertLessThanOrEqual(error, 1e-3, "\(format), \(m) rows")
                }
            }
        }
    }

    /// The prefill GEMM on every instruction set against its scalar path, on awkward shapes:
    /// rows not a multiple of the panel, odd block counts, a row range starting off zero.
    func testGEMMPathsMatchScalar() throws {
        var scalar = KernelPaths.scalar
        var paths = KernelPaths.available(
            [
                ("AVX2", KernelPaths.avx2), ("AVX-512 VNNI", KernelPaths.avx512VNNI),
                ("AVX-512 BF16", KernelPaths.avx512BF16),
            ],
            arm: [("NEON", KernelPaths.neon), ("NEON dot product", KernelPaths.neonDotprod)])
        for (m, k, rows) in [(9, 96, 50), (67, 1056, 200), (13, 544, 97)] {
            let x = random(m * k, seed: UInt64(m * k))
            let weights = WeightMatrix(Matrix(rows: rows, cols: k, data: random(rows * k, seed: UInt64(rows))))
            let cases: [(mk_wfmt, WeightMatrix)] = [
                (MK_W_Q8_0, weights.quantized(.q8_0, compute: compute)),
                (MK_W_Q8_0_X16, weights.quantized(.q8_0, compute: compute)),
                (MK_W_Q4_0, weights.quantized(.q4_0, compute: compute)), (MK_W_BF16, bf16(weights)),
            ]
            for (fmt, w) in cases {
                var act = [UInt8](repeating: 0, count: mk_gemm_act_bytes(fmt, m, k))
                mk_gemm_prepare(fmt, x, m, k, 0, m, &act)
                var slow = [Float](repeating: 0, count: m * rows)
                mk_gemm_with(&scalar, fmt, act, m, k, w.base, 3, rows, &slow, rows)
                XCTAssertGreaterThan(slow.map(abs).max()!, 1, "non-trivial outputs")
                for index in paths.indices {
                    let name = paths[index].0
                    var fast = [Float](repeating: 0, count: m * rows)
                    mk_gemm_with(&paths[index].1, fmt, act, m, k, w.base, 3, rows, &fast, rows)
                    if fmt == MK_W_BF16 {
                        // vdpbf16ps sums pairs in its own order (and flushes denormals): the f32
                        // rounding of ≤ 2k terms of |x·w| ≤ 1, bounded by 2k·2^-24 per unit of Σ|xw|.
                        for i in 0..<m {
                            let bound = 2 * Float(k) * 0x1p-24 * Float(k)
                            for r in 3..<rows {
                                XCTAssertEqual(fast[i * rows + r], slow[i * rows + r], accuracy: bound, "\(name) bf16")
                            }
                        }
                    } else {
                        // Integer block sums are exact and every path applies the same f32 FMAs in
                        // the same order: bit for bit.
                        XCTAssertEqual(fast, slow, "\(name) format \(fmt.rawValue) m \(m) k \(k)")
                    }
                    XCTAssertTrue(
                        (0..<m).allSatisfy { i in (0..<3).allSatisfy { fast[i * rows + $0] == 0 } },
                        "rows before r0 untouched")
                }
            }
        }
    }

    func testTheBlockMaximumKeepsTheF16ScalePrecision() {
        let x = (0..<32).map { Float($0 % 2 == 0 ? 1 : -1) * Float($0) / 31 }
        let w = WeightMatrix(Matrix(rows: 1, cols: 32, data: x)).quantized(.q8_0, compute: compute)
        // max → ±127 steps exactly; only the scale's f16 rounding (≤ 2^-11 relative) remains.
        XCTAssertEqual(w.toMatrix().data[31], x[31], accuracy: abs(x[31]) * 4.9e-4)
    }

    func bf16(_ w: WeightMatrix) -> WeightMatrix {
        let bits = w.toMatrix().data.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
        let buffer = OwnedBuffer(byteCount: bits.count * 2)
        bits.withUnsafeBytes { buffer.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return WeightMatrix(
            rows: w.rows, cols: w.cols, dtype: .bf16, base: UnsafeRawPointer(buffer.pointer), owner: buffer)
    }

    /// Decode steps project q/k/v (and gate/up) in one pass: the result must be exactly what each
    /// layer computes alone (same kernel, same rows, same bias addition).
    func testFusedProjectionsEqualSeparateOnes() {
        let x = Matrix(rows: 3, cols: 256, data: random(3 * 256, seed: 21))
        for format in [WeightFormat.bf16, .q8_0, .q4_0] {
            let layers = [(70, true), (9, false), (128, true)].enumerated().map { i, shape in
                let w = WeightMatrix(
                    Matrix(rows: shape.0, cols: 256, data: random(shape.0 * 256, seed: UInt64(30 + i))))
                let stored = format == .bf16 ? bf16(w) : w.quantized(format, compute: compute)
                return Linear(weight: stored, bias: shape.1 ? random(shape.0, seed: UInt64(40 + i)) : nil)
            }
            for m in [1, 3] {
                let input = x.rows(0..<m)
                let fused = Linear.apply(layers, to: input, compute)
                for (l, layer) in layers.enumerated() {
                    XCTAssertEqual(fused[l].data, layer(input, compute).data, "\(format), \(m) rows, layer \(l)")
                }
            }
        }
    }

    // MARK: each instruction set against the scalar kernel

    func checkQDot(_ name: String, _ table: mk_kernels) {
        let scalar = KernelPaths.scalar
        // Block counts even and odd (the q4 lone last block), groups of 16 blocks with tails,
        // the decode path (one activation row, four weight rows at a time) and 3–8 rows; the
        // row range starts and ends off the 4-row grid.
        for (k, m, seed) in [(512, 5, UInt64(5)), (544, 1, 7), (544, 3, 9), (1056, 8, 11), (96, 1, 13)] {
            let rows = 97
            let weights = WeightMatrix(Matrix(rows: rows, cols: k, data: random(rows * k, seed: seed)))
            var qx = [Int16](repeating: 0, count: m * k)
            var dx = [Float](repeating: 0, count: m * k / 32)
            var sx = dx
            let x = random(m * k, seed: seed + 1)
            for i in 0..<m {
                mk_quantize_activations(
                    Array(x[(i * k)..<((i + 1) * k)]), k, &qx[i * k], &dx[i * k / 32], &sx[i * k / 32])
            }
            for (format, q4) in [(WeightFormat.q8_0, Int32(0)), (.q4_0, 1)] {
                let q = weights.quantized(format, compute: compute)
                let w = q.base.assumingMemoryBound(to: UInt8.self)
                var fast = [Float](repeating: 0, count: m * rows)
                var slow = fast
                table.qdot!(qx, dx, sx, m, k, w, q4, 3, rows - 1, &fast, rows)
                scalar.qdot!(qx, dx, sx, m, k, w, q4, 3, rows - 1, &slow, rows)
                // Integer block sums are exact on every path; only the f32 accumulation of the
                // scaled block sums is ordered differently (|y| ≲ 20, q4's unsigned sums before
                // the offset correction ≲ 200: a few ulps of those).
                XCTAssertLessThanOrEqual(
                    zip(fast, slow).map { abs($0 - $1) }.max()!, 1e-4, "\(name) \(format) k \(k) m \(m)")
                XCTAssertTrue(
                    fast.enumerated().allSatisfy { i, v in (3..<(rows - 1)).contains(i % rows) || v == 0 },
                    "\(name) \(format) writes only its rows")
                XCTAssertGreaterThan(slow.map(abs).max()!, 1, "non-trivial outputs")
            }
        }
    }

    func checkQ4Int8(_ name: String, _ table: mk_kernels) {
        let scalar = KernelPaths.scalar
        // Groups of 16 blocks with tails, and odd block counts (the lone last block).
        for (k, seed) in [(512, UInt64(51)), (544, 53), (96, 55), (1056, 57), (32, 59)] {
            let rows = 37
            let q = WeightMatrix(Matrix(rows: rows, cols: k, data: random(rows * k, seed: seed))).quantized(
                .q4_0, compute: compute)
            var qx = [Int8](repeating: 0, count: k)
            var dx = [Float](repeating: 0, count: k / 32)
            var sx = dx
            mk_quantize_activations_i8(random(k, seed: seed + 1), k, &qx, &dx, &sx)
            let w = q.base.assumingMemoryBound(to: UInt8.self)
            var fast = [Float](repeating: 0, count: rows)
            var slow = fast
            table.qdot_q4_i8!(qx, dx, sx, k, w, 2, rows, &fast)
            scalar.qdot_q4_i8!(qx, dx, sx, k, w, 2, rows, &slow)
            // Exact integer block sums; only the order of the f32 accumulation differs (|y| ≲ 20,
            // the unsigned sums before the offset correction ≲ 200: a few ulps of those).
            XCTAssertLessThanOrEqual(zip(fast, slow).map { abs($0 - $1) }.max()!, 1e-4, "\(name) k \(k)")
            XCTAssertEqual(fast[0..<2], [0, 0], "rows before r0 untouched")
            XCTAssertGreaterThan(slow.map(abs).max()!, 0.5, "non-trivial outputs")
        }
    }

    func testQ4Int8AVX2KernelMatchesScalar() throws {
        checkQ4Int8("AVX2", try KernelPaths.required("AVX2", x86: KernelPaths.avx2))
    }
    func testQ4Int8VNNIKernelMatchesScalar() throws {
        checkQ4Int8("AVX-512 VNNI", try KernelPaths.required("AVX-512 VNNI", x86: KernelPaths.avx512VNNI))
    }
    func testQ4Int8NEONKernelsMatchScalar() throws {
        checkQ4Int8("NEON", try KernelPaths.required("NEON", arm: KernelPaths.neon))
        checkQ4Int8("NEON dot product", try KernelPaths.required("NEON dot product", arm: KernelPaths.neonDotprod))
    }
    func testNEONKernelMatchesScalar() throws {
        checkQDot("NEON", try KernelPaths.required("NEON", arm: KernelPaths.neon))
    }
    func testAVX2KernelMatchesScalar() throws {
        checkQDot("AVX2", try KernelPaths.required("AVX2", x86: KernelPaths.avx2))
    }
    func testAVX512KernelMatchesScalar() throws {
        checkQDot("AVX-512", try KernelPaths.required("AVX-512", x86: KernelPaths.avx512))
    }
}
