import Foundation
import Tensor

/// The vocoder's inverse STFT with "same" padding: irfft of each frame, periodic Hann window,
/// overlap-add, division by the overlap-added squared window, and `(win − hop)/2` samples
/// trimmed from each end, so `T` frames give exactly `T · hop` samples.
public struct InverseSTFT: Sendable {
    public let nfft: Int
    public let hop: Int
    let window: [Double]
    /// [2·bins, nfft]: rows for the real parts then the imaginary parts (irfft, 1/N scaling).
    let basis: [Double]

    public var bins: Int { nfft / 2 + 1 }

    public init(nfft: Int, hop: Int) {
        self.nfft = nfft
        self.hop = hop
        window = Window.periodicHann(nfft)
        let bins = nfft / 2 + 1
        var b = [Double](repeating: 0, count: 2 * bins * nfft)
        for k in 0..<bins {
            // irfft ignores the imaginary parts of the DC and Nyquist bins; sin is 0 there anyway.
            let weight = (k == 0 || 2 * k == nfft) ? 1.0 : 2.0
            for n in 0..<nfft {
                let angle = 2 * Double.pi * Double((k * n) % nfft) / Double(nfft)
                b[k * nfft + n] = weight * cos(angle) / Double(nfft)
                b[(bins + k) * nfft + n] = (k == 0 || 2 * k == nfft) ? 0 : -weight * sin(angle) / Double(nfft)
            }
        }
        basis = b
    }

    /// `spectrum`: `[frames, 2·bins]`, real parts then imaginary parts of each frame.
    public func callAsFunction(_ spectrum: [Double], frames: Int) -> [Float] {
        precondition(spectrum.count == frames * 2 * bins)
        guard frames > 0 else { return [] }
        let total = (frames - 1) * hop + nfft
        var signal = [Double](repeating: 0, count: total)
        var envelope = [Double](repeating: 0, count: total)
        let block = 512
        var time = [Double](repeating: 0, count: block * nfft)
        for f0 in stride(from: 0, to: frames, by: block) {
            let nb = min(block, frames - f0)
            spectrum.withUnsafeBufferPointer { a in
                basis.withUnsafeBufferPointer { b in
                    time.withUnsafeMutableBufferPointer { c in
                        BLAS.dgemm(
                            transA: false, transB: false, m: nb, n: nfft, k: 2 * bins,
                            a: a.baseAddress! + f0 * 2 * bins, lda: 2 * bins, b: b.baseAddress!, ldb: nfft,
                            c: c.baseAddress!, ldc: nfft)
                    }
                }
            }
            for f in 0..<nb {
                let start = (f0 + f) * hop
                for i in 0..<nfft {
                    signal[start + i] += time[f * nfft + i] * window[i]
                    envelope[start + i] += window[i] * window[i]
                }
            }
        }
        let pad = (nfft - hop) / 2
        return (pad..<(total - pad)).map { Float(signal[$0] / envelope[$0]) }
    }
}
