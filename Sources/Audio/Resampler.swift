import Foundation

public enum ResamplerError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalidSampleRate(Int)

    public var description: String {
        switch self {
        case .invalidSampleRate(let rate):
            return
                "unsupported sample rate \(rate) Hz (expected \(Resampler.supportedRates.lowerBound)...\(Resampler.supportedRates.upperBound) Hz)"
        }
    }
}

/// Band-limited resampling equivalent to `torchaudio.functional.resample(x, from, to)` with its defaults
/// (sinc_interp_hann, lowpass_filter_width 6, rolloff 0.99) on a float32 waveform.
///
/// torchaudio convolves the zero-padded input with one windowed-sinc filter per output phase (conv1d with
/// stride `o`). This does the same dot products, but each filter is stored only over its window support:
/// torchaudio's taps outside it come from the clamp at |t| = 6 and are below 1e-21 (cos²(π/2) in float32
/// times sinc(6π)), so skipping them changes outputs by less than 1e-20 absolute. The stored kernel is
/// therefore about 12·max(o, n) floats (≤ ~10M for any supported rates) instead of n·(2·width + o),
/// which keeps awkward rate pairs such as 44099 → 24000 (o·n ≈ 10⁹) small while staying torchaudio's
/// filter, so no approximate fallback is needed.
///
/// Like torchaudio, the kernel is computed in float32. For large reduced rates that makes the filter
/// itself drift from the ideal one (≈2e-6 at 44100 → 24000, ≈5e-5 at 44099 → 24000); we reproduce
/// torchaudio's values, not the ideal ones.
public struct Resampler: Sendable {
    public static let supportedRates = 1...768_000

    public let inputRate: Int
    public let outputRate: Int
    /// nil when the rates are equal and `process` is the identity.
    private let kernel: PolyphaseKernel?

    public init(from inputRate: Int, to outputRate: Int) throws {
        for rate in [inputRate, outputRate] where !Self.supportedRates.contains(rate) {
            throw ResamplerError.invalidSampleRate(rate)
        }
        self.inputRate = inputRate
        self.outputRate = outputRate
        kernel = inputRate == outputRate ? nil : PolyphaseKernel(inputRate: inputRate, outputRate: outputRate)
    }

    /// Number of Float coefficients held in memory.
    public var kernelFloatCount: Int { kernel?.coefficients.count ?? 0 }

    /// ceil(length · outputRate / inputRate), as torchaudio trims its output.
    public func outputLength(forInputLength length: Int) -> Int {
        guard let kernel else { return length }
        return kernel.outputLength(forInputLength: length)
    }

    public func process(_ x: [Float]) -> [Float] {
        guard let kernel else { return x }
        return kernel.apply(x)
    }
}

/// One-shot convenience; build a `Resampler` once to reuse its kernel across calls.
public func resample(_ x: [Float], from inputRate: Int, to outputRate: Int) throws -> [Float] {
    try Resampler(from: inputRate, to: outputRate).process(x)
}
