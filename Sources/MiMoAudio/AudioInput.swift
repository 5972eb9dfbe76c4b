import Foundation

/// Reads a WAV file the way the reference loads audio: decode to float, downmix by the channel
/// mean, resample to the tokenizer's rate (torchaudio `resample` defaults).
public enum AudioInput {
    public static func load(_ url: URL, sampleRate target: Int) throws -> [Float] {
        let wav = try WAVReader.read(contentsOf: url)
        let mono = wav.monoSamples()
        if let bad = mono.firstIndex(where: { !$0.isFinite }) { throw SpectrogramError.nonFiniteSample(index: bad) }
        return try resample(mono, from: wav.sampleRate, to: target)
    }
}
