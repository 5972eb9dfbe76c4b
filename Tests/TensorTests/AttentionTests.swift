import CKernels
import Tensor
import XCTest

/// Grouped-query attention against a direct f64 evaluation of its definition, on the f32 path
/// (direct loops, GEMM blocks of query rows) and on half-precision KV rows.
final class AttentionTests: XCTestCase {
    let compute = Compute(threads: 2)

    func random(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(s >> 40) / Float(1 << 24) * 4 - 2
        }
    }

    /// softmax(q·kᵀ/√d) v per head, queries at positions m − n + i, in f64.
    func reference(q: [Float], k: [Float], v: [Float], n: Int, m: Int, heads: Int, kvHeads: Int, d: Int, causal: Bool)
        -> [Float]
    {
        var out = [Float](repeating: 0, count: n * heads * d)
        for h in 0..<heads {
            let kvh = h / (heads / kvHeads)
            for i in 0..<n {
                let visible = causal ? m - n + i + 1 : m
                var w = (0..<visible).map { j in
                    (0..<d).reduce(0.0) {
                        $0 + Double(q[i * heads * d + h * d + $1]) * Double(k[j * kvHeads * d + kvh * d + $1])
                    }
                        / Double(d).squareRoot()
                }
                let top = w.max()!
                w = w.map { exp($0 - top) }
                let total = w.reduce(0, +)
                for c in 0..<d {
                    out[i * heads * d + h * d + c] = Float(
                        (0..<visible).reduce(0.0) { $0 + w[$1] * Double(v[$1 * kvHeads * d + kvh * d + c]) } / total)
                }
            }
        }
        return out
    }

    func run(n: Int, m: Int, causal: Bool, half: Bool, seed: UInt64) -> (got: [Float], want: [Float]) {
        let (heads, kvHeads, d) = (4, 2, 16)
        let q = random(n * heads * d, seed: seed)
        let k = random(m * kvHeads * d, seed: seed + 1)
        let v = random(m * kvHeads * d, seed: seed + 2)
        let got: Matrix
        if half {
            var k16 = [UInt16](repeating: 0, count: k.count)
            var v16 = k16
            mk_f32_to_f16(k, &k16, k.count)
            mk_f32_to_f16(v, &v16, v.count)
            got = k16.withUnsafeBufferPointer { kp in
                v16.withUnsafeBufferPointer { vp in
                    Attention.grouped(
                        q: Matrix(rows: n, cols: heads * d, data: q),
                        kv: .f16(keys: kp.baseAddress!, values: vp.baseAddress!),
                        keyCount: m, heads: heads, kvHeads: kvHeads, headDim: d, causal: causal, compute: compute)
                }
            }
        } else {
            got = Attention.grouped(
                q: Matrix(rows: n, cols: heads * d, data: q), keys: k, values: v, keyCount: m,
                heads: heads, kvHeads: kvHeads, headDim: d, causal: causal, compute: compute)
        }
        return (got.data, reference(q: q, k: k, v: v, n: n, m: m, heads: heads, kvHeads: kvHeads, d: d, causal: causal))
    }

    func maxError(_ r: (got: [Float], want: [Float])) -> Float { zip(r.got, r.want).map { abs($0 - $1) }.max()! }

    func testF32PathsMatchTheDefinition() {
        // Direct loops (n·m ≤ 4096), one GEMM block, and two 256-row query blocks with a
        // causal tail (300 queries after 100 cached keys). f32 sums of ≤ 400 terms of |·| ≤ 4:
        // rounding stays below 1e-5 on outputs of magnitude ≤ 2.
        for (n, m, causal) in [(1, 40, true), (3, 9, false), (40, 200, true), (300, 400, true), (280, 280, false)] {
            XCTAssertLessThanOrEqual(
                maxError(run(n: n, m: m, causal: causal, half: false, seed: UInt64(n + m))), 1e-5, "n \(n) m \(m)")
        }
    }

    func testHalfPrecisionKVStaysWithinItsRounding() {
        // Keys and values rounded to 11 significant bits (relative 2^-12 ≈ 2.4e-4 on |·| ≤ 2):
        // scores move by ≤ 16·2·2·2.4e-4/4 ≈ 4e-3, outputs by about |v|·(that + 2.4e-4) ≈ 1e-2
        // at worst; measured ≤ 5e-4. A wrong row, head or position errs by O(1).
        for (n, m, causal) in [(1, 1, true), (1, 300, true), (8, 64, true), (2, 50, false), (40, 200, true)] {
            XCTAssertLessThanOrEqual(
                maxError(run(n: n, m: m, causal: causal, half: true, seed: UInt64(7 * n + m))), 1e-2, "n \(n) m \(m)")
        }
    }

    func testHalfConversionRoundsToNearestAndSaturates() {
        let x: [Float] = [1, 1 + 1.0 / 4096, 1 + 3.0 / 4096, 65504, 1e6, -1e6, 5.9604645e-8, 0]
        var h = [UInt16](repeating: 0, count: x.count)
        mk_f32_to_f16(x, &h, x.count)
        var back = [Float](repeating: 0, count: x.count)
        mk_f16_to_f32(h, &back, x.count)
        // 1 + 2^-12 is a tie (even: 1); 1 + 3·2^-12 rounds up to 1 + 2^-10; out of range saturates.
        XCTAssertEqual(back, [1, 1, 1 + 1.0 / 1024, 65504, 65504, -65504, 5.9604645e-8, 0])
    }
}
