import Foundation

/// torchaudio's sinc_interp_hann polyphase filter bank for rates reduced to o → n, restricted to each
/// phase's window support (see `Resampler`).
struct PolyphaseKernel: Sendable {
    static let lowpassFilterWidth = 6
    static let rolloff = 0.99

    /// Reduced input rate: the conv1d stride.
    let o: Int
    /// Reduced output rate: the number of phases.
    let n: Int
    /// torchaudio's `width`: zeros padded on the left (and `width + o` on the right).
    let width: Int
    /// All phases' stored taps, back to back; phase j occupies rowStart[j]..<rowStart[j + 1].
    let coefficients: [Float]
    let rowStart: [Int]
    /// Position of phase j's first stored tap inside torchaudio's 2·width + o taps.
    let firstTap: [Int]

    /// Rates must be validated (1...768000) and different.
    init(inputRate: Int, outputRate: Int) {
        let divisor = Self.gcd(inputRate, outputRate)
        let o = inputRate / divisor
        let n = outputRate / divisor
        let base = Double(Swift.min(o, n)) * Self.rolloff
        let lowpass = Double(Self.lowpassFilterWidth)
        let width = Int((lowpass * Double(o) / base).rounded(.up))
        (self.o, self.n, self.width) = (o, n, width)

        // torchaudio builds the kernel in the waveform's dtype, float32 here (resample() passes
        // waveform.dtype), so every step below is rounded to Float in torch's order, with Python scalars
        // converted to float32 the way ATen does. (Computing in Double instead moves outputs by ~2e-6.)
        let oF = Float(o)
        let nF = Float(n)
        let baseF = Float(base)
        let lowpassF = Float(lowpass)
        let piF = Float(Double.pi)  // not Float.pi, which Swift rounds toward zero
        let scaleF = Float(base / Double(o))
        let tapCount = 2 * width + o
        let halfSpan = lowpass * Double(o) / base  // in taps: |t| < 6 ⇔ |k - centre| < halfSpan

        var coefficients: [Float] = []
        var rowStart = [0]
        var firstTap: [Int] = []
        rowStart.reserveCapacity(n + 1)
        firstTap.reserveCapacity(n)
        for j in 0..<n {
            let phase = Float(-j) / nF
            func t(_ k: Int) -> Float { (phase + Float(k - width) / oF) * baseF }
            // t(k) is monotonic in k, so the support is one run; search it a couple of taps wider than
            // the exact-arithmetic bounds to absorb float32 rounding.
            let centre = Double(width) + Double(j) * Double(o) / Double(n)
            var first = Swift.max(0, Int((centre - halfSpan).rounded(.down)) - 2)
            var last = Swift.min(tapCount - 1, Int((centre + halfSpan).rounded(.up)) + 2)
            while first < last, abs(t(first)) >= lowpassF { first += 1 }
            while last > first, abs(t(last)) >= lowpassF { last -= 1 }
            for k in first...last {
                let clamped = Swift.min(Swift.max(t(k), -lowpassF), lowpassF)
                let c = cos(clamped * piF / lowpassF / 2)
                let window = c * c
                let x = clamped * piF
                let sinc: Float = x == 0 ? 1 : sin(x) / x
                coefficients.append(sinc * (window * scaleF))
            }
            firstTap.append(first)
            rowStart.append(coefficients.count)
        }
        self.coefficients = coefficients
        self.rowStart = rowStart
        self.firstTap = firstTap
    }

    func outputLength(forInputLength length: Int) -> Int {
        // ceil(n·length / o) split so the products stay far below Int.max (o, n ≤ 768000).
        let whole = length / o
        let rest = length % o
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: n)
        // Unreachable for any array that fits in memory; saturate rather than trap.
        guard !overflow else { return Int.max }
        return scaled + (rest * n + o - 1) / o
    }

    /// Output m = q·n + j is phase j's filter dotted with input starting at q·o + firstTap[j] - width;
    /// indices outside the input read torchaudio's zero padding.
    func apply(_ x: [Float]) -> [Float] {
        let length = x.count
        let outputCount = outputLength(forInputLength: length)
        guard length > 0, outputCount < Int.max else { return [] }
        return [Float](unsafeUninitializedCapacity: outputCount) { out, initialized in
            x.withUnsafeBufferPointer { input in
                coefficients.withUnsafeBufferPointer { taps in
                    rowStart.withUnsafeBufferPointer { rowStart in
                        firstTap.withUnsafeBufferPointer { firstTap in
                            guard let xp = input.baseAddress, let cp = taps.baseAddress else { return }
                            var m = 0
                            var frameStart = -width  // input index under tap 0 for q = 0
                            while m < outputCount {
                                for j in 0..<n where m < outputCount {
                                    let row = cp + rowStart[j]
                                    let count = rowStart[j + 1] - rowStart[j]
                                    let start = frameStart + firstTap[j]
                                    var sum: Float = 0
                                    if start >= 0, start + count <= length {
                                        let window = xp + start
                                        for i in 0..<count { sum += row[i] * window[i] }
                                    } else {
                                        let lower = Swift.max(0, -start)
                                        let upper = Swift.min(count, length - start)
                                        if lower < upper {
                                            for i in lower..<upper { sum += row[i] * xp[start + i] }
                                        }
                                    }
                                    out[m] = sum
                                    m += 1
                                }
                                frameStart += o
                            }
                        }
                    }
                }
            }
            initialized = outputCount
        }
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
