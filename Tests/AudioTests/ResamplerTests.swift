import Audio
import Foundation
import TestSupport
import XCTest

final class ResamplerTests: XCTestCase {
    /// Deterministic test signal: two tones plus a little LCG noise.
    private func signal(count: Int, rate: Int) -> [Float] {
        var state: UInt32 = 12345
        return (0..<count).map { i in
            state = state &* 1_664_525 &+ 1_013_904_223
            let noise = Float(state >> 8) / Float(1 << 24) - 0.5
            let time = Double(i) / Double(rate)
            return Float(0.5 * sin(2 * .pi * 440 * time) + 0.2 * sin(2 * .pi * 3000 * time)) + 0.05 * noise
        }
    }

    private struct ReducedRates {
        let o: Int, n: Int, base: Double, width: Int
        init(_ inputRate: Int, _ outputRate: Int) {
            var (a, b) = (inputRate, outputRate)
            while b != 0 { (a, b) = (b, a % b) }
            o = inputRate / a
            n = outputRate / a
            base = Double(min(o, n)) * 0.99
            width = Int((6 * Double(o) / base).rounded(.up))
        }
    }

    /// The ideal (exact-arithmetic) torchaudio filter in Double: output m sees input i at
    /// t = (i/o - m/n)·base, and only |t| < 6 contributes.
    private func idealResample(_ x: [Float], from inputRate: Int, to outputRate: Int) -> [Float] {
        let r = ReducedRates(inputRate, outputRate)
        let halfSpan = 6 * Double(r.o) / r.base
        return (0..<((r.n * x.count + r.o - 1) / r.o)).map { m in
            let centre = Double(m) * Double(r.o) / Double(r.n)
            let lower = max(0, Int((centre - halfSpan).rounded(.down)))
            let upper = min(x.count - 1, Int((centre + halfSpan).rounded(.up)))
            guard lower <= upper else { return 0 }
            var sum = 0.0
            for i in lower...upper {
                let t = Double(i * r.n - m * r.o) / Double(r.o * r.n) * r.base
                guard abs(t) < 6 else { continue }
                let sinc = t == 0 ? 1 : sin(.pi * t) / (.pi * t)
                sum += Double(x[i]) * sinc * pow(cos(t * .pi / 12), 2) * r.base / Double(r.o)
            }
            return Float(sum)
        }
    }

    /// A literal restatement of torchaudio's float32 code for output m = q·n + j: every one of the
    /// 2·width + o taps (clamped ones included) over the zero-padded input, no support trimming.
    private func denseTorchOutput(_ x: [Float], m: Int, from inputRate: Int, to outputRate: Int) -> Float {
        let r = ReducedRates(inputRate, outputRate)
        let (q, j) = m.quotientAndRemainder(dividingBy: r.n)
        let pi = Float(Double.pi)
        let base = Float(r.base)
        var sum = 0.0
        for k in 0..<(2 * r.width + r.o) {
            let i = q * r.o + k - r.width
            guard i >= 0, i < x.count else { continue }
            let t = min(max((Float(-j) / Float(r.n) + Float(k - r.width) / Float(r.o)) * base, -6), 6)
            let c = cos(t * pi / 6 / 2)
            let tpi = t * pi
            let sinc: Float = tpi == 0 ? 1 : sin(tpi) / tpi
            sum += Double(sinc * (c * c * Float(r.base / Double(r.o))) * x[i])
        }
        return Float(sum)
    }

    func testEqualRatesAreIdentity() throws {
        let x = signal(count: 1000, rate: 24000)
        let resampler = try Resampler(from: 24000, to: 24000)
        XCTAssertEqual(resampler.process(x), x)
        XCTAssertEqual(resampler.kernelFloatCount, 0)
    }

    func testOutputLengthIsCeilingOfScaledLength() throws {
        for (from, to) in [(48000, 24000), (8000, 24000), (44100, 24000), (16000, 24000)] {
            let resampler = try Resampler(from: from, to: to)
            for length in [0, 1, 2, 3, 7, 999, 1000, 1001, 4410] {
                let expected = (length * to + from - 1) / from
                XCTAssertEqual(resampler.outputLength(forInputLength: length), expected, "\(from)->\(to) len \(length)")
                XCTAssertEqual(
                    resampler.process(signal(count: length, rate: from)).count, expected, "\(from)->\(to) len \(length)"
                )
            }
        }
    }

    func testInvalidRatesThrow() {
        for (from, to) in [(0, 24000), (-8000, 24000), (24000, 0), (768_001, 24000), (Int.max, 24000)] {
            XCTAssertThrowsError(try Resampler(from: from, to: to)) { error in
                XCTAssertEqual(error as? ResamplerError, .invalidSampleRate(from <= 0 || from > 768_000 ? from : to))
            }
        }
    }

    // The trimmed polyphase table must reproduce torchaudio's dense float32 conv1d up to summation order
    // and the dropped clamped taps (< 1e-21): a few float32 ulps, as against the goldens.
    func testMatchesDenseTorchaudioFormula() throws {
        for (from, to) in [
            (44100, 24000), (48000, 24000), (8000, 24000), (22050, 16000), (44099, 24000), (24000, 44099),
        ] {
            let x = signal(count: 3000, rate: from)
            let y = try resample(x, from: from, to: to)
            var error: Float = 0
            for m in stride(from: 0, to: y.count, by: 7) {
                error = max(error, abs(y[m] - denseTorchOutput(x, m: m, from: from, to: to)))
            }
            XCTAssertLessThanOrEqual(error, 5e-7, "\(from)->\(to)")
        }
    }

    // torchaudio rounds phase (-j/n) and tap offset ((k-width)/o) to float32 before multiplying by
    // base = 0.99·min(o, n), so its filter drifts from the ideal one as base grows. Measured: ≤ 2.4e-7
    // for 48000/16000/8000 → 24000 (base ≤ 1.98), 2.3e-6 for 44100 → 24000 (base 79.2), 9e-6 for
    // 22050 → 16000 (base 316.8), 5e-5 for 44099 → 24000 (base 23760); numpy's float32 restatement of
    // torchaudio drifts the same way.
    // We follow torchaudio, so these bounds only catch gross mistakes.
    func testApproximatesIdealSincFilter() throws {
        let cases: [(from: Int, to: Int, tolerance: Float)] = [
            (44100, 24000, 5e-6), (48000, 24000, 1e-6), (8000, 24000, 1e-6), (16000, 24000, 1e-6),
            (22050, 16000, 3e-5), (44099, 24000, 2e-4),
        ]
        for (from, to, tolerance) in cases {
            let x = signal(count: 3000, rate: from)
            let error = maxAbsDifference(try resample(x, from: from, to: to), idealResample(x, from: from, to: to))
            print("\(from)->\(to): max |resampler - ideal| = \(error)")
            XCTAssertLessThanOrEqual(error, tolerance, "\(from)->\(to)")
        }
    }

    /// 44099 and 24000 are coprime: torchaudio's dense kernel would be 24000 × 44123 floats (4 GiB),
    /// the trimmed table stays small.
    func testCoprimeRatesUseBoundedMemory() throws {
        let down = try Resampler(from: 44099, to: 24000)
        XCTAssertLessThan(down.kernelFloatCount, 1_000_000)
        XCTAssertEqual(down.process(signal(count: 4000, rate: 44099)).count, (4000 * 24000 + 44098) / 44099)
        let worst = try Resampler(from: 767_999, to: 768_000)
        XCTAssertLessThan(worst.kernelFloatCount, 12_000_000)
    }

    func testLowPassRemovesToneAboveNewNyquist() throws {
        // 15 kHz cannot exist at 24 kHz; the rolloff filter must suppress it by far more than 40 dB.
        let x = (0..<44100).map { Float(0.5 * sin(2 * Double.pi * 15000 * Double($0) / 44100)) }
        let y = try resample(x, from: 44100, to: 24000)
        let interior = y[1000..<(y.count - 1000)]
        XCTAssertLessThan(interior.map(abs).max() ?? 1, 0.005)
    }
}
