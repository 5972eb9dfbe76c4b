import Foundation
import Tensor

public enum SpectrogramError: Error, CustomStringConvertible, Equatable {
    case audioTooShort(samples: Int, minimum: Int)
    case nonFiniteSample(index: Int)

    public var description: String {
        switch self {
        case .audioTooShort(let n, let minimum):
            return
                "audio too short: \(n) samples, the log-mel front end needs at least \(minimum) (its reflect padding)"
        case .nonFiniteSample(let i):
            return "audio sample \(i) is not a finite number"
        }
    }
}

/// torchaudio's `MelSpectrogram(power=1, center=True, pad_mode="reflect", norm=None,
/// mel_scale="htk")` followed by `log(clamp(·, 1e-7))`, as the MiMo-Audio front end uses it.
/// The DFT is a matrix product in f64 (960 is not a power of two), which is more accurate than
/// the reference's f32 FFT, so differences stay at float rounding level.
public struct LogMelSpectrogram: Sendable {
    public let sampleRate: Int
    public let nfft: Int
    public let hop: Int
    public let nMels: Int
    let window: [Double]
    /// [nfft, 2·bins]: cosine columns then −sine columns.
    let dftBasis: [Double]
    /// [bins, nMels].
    let filterbank: [Double]

    public var bins: Int { nfft / 2 + 1 }
    /// The shortest input the reflect padding accepts.
    public var minimumSamples: Int { nfft / 2 + 1 }

    public init(sampleRate: Int, nfft: Int, hop: Int, nMels: Int, fmin: Double = 0, fmax: Double? = nil) {
        self.sampleRate = sampleRate
        self.nfft = nfft
        self.hop = hop
        self.nMels = nMels
        window = Window.periodicHann(nfft)
        let bins = nfft / 2 + 1
        var basis = [Double](repeating: 0, count: nfft * 2 * bins)
        for n in 0..<nfft {
            for k in 0..<bins {
                let angle = 2 * Double.pi * Double((n * k) % nfft) / Double(nfft)
                basis[n * 2 * bins + k] = cos(angle)
                basis[n * 2 * bins + bins + k] = -sin(angle)
            }
        }
        dftBasis = basis
        filterbank = Self.melFilterbank(
            bins: bins, nMels: nMels, sampleRate: sampleRate, fmin: fmin,
            fmax: fmax ?? Double(sampleRate / 2))
    }

    /// torchaudio `melscale_fbanks(..., norm=None, mel_scale="htk")`, evaluated in f32 as torch does.
    static func melFilterbank(bins: Int, nMels: Int, sampleRate: Int, fmin: Double, fmax: Double) -> [Double] {
        func hzToMel(_ f: Double) -> Double { 2595 * log10(1 + f / 700) }
        let nyquist = Float(sampleRate / 2)
        let freqs: [Float] = (0..<bins).map { bins == 1 ? 0 : nyquist * Float($0) / Float(bins - 1) }
        let mMin = Float(hzToMel(fmin))
        let mMax = Float(hzToMel(fmax))
        let points: [Float] = (0..<(nMels + 2)).map { i in
            let m = mMin + (mMax - mMin) * Float(i) / Float(nMels + 1)
            return 700 * (powf(10, m / 2595) - 1)
        }
        var fb = [Double](repeating: 0, count: bins * nMels)
        for i in 0..<bins {
            for m in 0..<nMels {
                let down = (freqs[i] - points[m]) / (points[m + 1] - points[m])
                let up = (points[m + 2] - freqs[i]) / (points[m + 2] - points[m + 1])
                fb[i * nMels + m] = Double(max(0, min(down, up)))
            }
        }
        return fb
    }

    /// Number of frames for `n` samples: 1 + ⌊n / hop⌋.
    public func frameCount(samples n: Int) -> Int { 1 + n / hop }

    /// Log-mel `[frames, nMels]`.
    public func callAsFunction(_ samples: [Float]) throws -> Matrix {
        let n = samples.count
        guard n >= minimumSamples else { throw SpectrogramError.audioTooShort(samples: n, minimum: minimumSamples) }
        if let bad = samples.firstIndex(where: { !$0.isFinite }) { throw SpectrogramError.nonFiniteSample(index: bad) }
        let pad = nfft / 2
        let frames = frameCount(samples: n)
        let bins = self.bins
        var out = Matrix(rows: frames, cols: nMels)
        // Frames in blocks bound the f64 scratch (an hour of audio would otherwise need GBs).
        let block = 512
        var framesBuf = [Double](repeating: 0, count: block * nfft)
        var spec = [Double](repeating: 0, count: block * 2 * bins)
        var mags = [Double](repeating: 0, count: block * bins)
        var mel = [Double](repeating: 0, count: block * nMels)
        for f0 in stride(from: 0, to: frames, by: block) {
            let nb = min(block, frames - f0)
            for f in 0..<nb {
                let start = (f0 + f) * hop - pad
                for i in 0..<nfft {
                    var j = start + i
                    if j < 0 { j = -j } else if j >= n { j = 2 * (n - 1) - j }
                    framesBuf[f * nfft + i] = Double(samples[j]) * window[i]
                }
            }
            framesBuf.withUnsafeBufferPointer { a in
                dftBasis.withUnsafeBufferPointer { b in
                    spec.withUnsafeMutableBufferPointer { c in
                        BLAS.dgemm(
                            transA: false, transB: false, m: nb, n: 2 * bins, k: nfft,
                            a: a.baseAddress!, lda: nfft, b: b.baseAddress!, ldb: 2 * bins,
                            c: c.baseAddress!, ldc: 2 * bins)
                    }
                }
            }
            for f in 0..<nb {
                for k in 0..<bins {
                    let re = spec[f * 2 * bins + k]
                    let im = spec[f * 2 * bins + bins + k]
                    mags[f * bins + k] = (re * re + im * im).squareRoot()
                }
            }
            mags.withUnsafeBufferPointer { a in
                filterbank.withUnsafeBufferPointer { b in
                    mel.withUnsafeMutableBufferPointer { c in
                        BLAS.dgemm(
                            transA: false, transB: false, m: nb, n: nMels, k: bins,
                            a: a.baseAddress!, lda: bins, b: b.baseAddress!, ldb: nMels,
                            c: c.baseAddress!, ldc: nMels)
                    }
                }
            }
            for f in 0..<nb {
                for m in 0..<nMels {
                    out[f0 + f, m] = Float(log(max(mel[f * nMels + m], 1e-7)))
                }
            }
        }
        return out
    }
}

public enum Window {
    /// torch.hann_window(n) (periodic): 0.5 − 0.5·cos(2πi/n).
    public static func periodicHann(_ n: Int) -> [Double] {
        (0..<n).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n)) }
    }
}
