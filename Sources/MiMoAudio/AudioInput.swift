import Foundation

/// Reads a WAV file the way the reference loads audio: decode to float, downmix by the channel
/// mean, resample to the tokenizer's rate (torchaudio `resample` defaults).
public enum AudioInput {
    /// Sample rates accepted as model input (telephone to high-resolution audio).
    public static let supportedRates = 8_000...384_000

    public static func load(_ url: URL, sampleRate target: Int) throws -> [Float] {
        let wav = try WAVReader.read(contentsOf: url)
        // Refused before resampling, whose work and memory grow with the ratio of the rates.
        guard supportedRates.contains(wav.sampleRate) else {
            throw AudioInputError.unsupportedSampleRate(wav.sampleRate, path: url.path)
        }
        let mono = wav.monoSamples()
        if let bad = mono.firstIndex(where: { !$0.isFinite }) { throw SpectrogramError.nonFiniteSample(index: bad) }
        return try resample(mono, from: wav.sampleRate, to: target)
    }
}

public enum AudioInputError: Error, CustomStringConvertible, Equatable {
    case unsupportedSampleRate(Int, path: String)

    public var description: String {
        switch self {
        case let .unsupportedSampleRate(rate, path):
            return "\(path) declares a sample rate of \(rate) Hz; audio input must be between 8000 and 384000 Hz"
        }
    }
}
