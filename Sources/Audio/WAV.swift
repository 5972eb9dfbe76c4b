import FileAccess
import Foundation

/// Mono float audio, the form the model front end consumes.
public struct PCMAudio: Equatable, Sendable {
    public var samples: [Float]
    public var sampleRate: Int

    public init(samples: [Float], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }
}

/// A decoded WAV file with every channel kept, samples normalised to [-1, 1) the way
/// torchaudio/soundfile (libsndfile) normalise them.
public struct WAVFile: Equatable, Sendable {
    public enum SampleFormat: Equatable, Sendable {
        case unsigned8, signed16, signed24, signed32, float32, float64

        public var bitsPerSample: Int {
            switch self {
            case .unsigned8: return 8
            case .signed16: return 16
            case .signed24: return 24
            case .signed32, .float32: return 32
            case .float64: return 64
            }
        }
    }

    public let sampleRate: Int
    public let channels: Int
    /// The encoding stored in the file (the samples themselves are always Float).
    public let format: SampleFormat
    /// Frame-major: channel `c` of frame `f` is at `f * channels + c`.
    public let interleavedSamples: [Float]

    init(sampleRate: Int, channels: Int, format: SampleFormat, interleavedSamples: [Float]) {
        self.sampleRate = sampleRate
        self.channels = channels
        self.format = format
        self.interleavedSamples = interleavedSamples
    }

    public var frameCount: Int { interleavedSamples.count / max(channels, 1) }

    /// One channel's samples; empty for an out-of-range index.
    public func channelSamples(_ channel: Int) -> [Float] {
        guard channel >= 0, channel < channels else { return [] }
        return stride(from: channel, to: interleavedSamples.count, by: channels).map { interleavedSamples[$0] }
    }

    /// Channel mean per frame, matching torch `wav.mean(dim=0)` on float32: the channels are summed
    /// in Float in channel order, then divided by the channel count (ATen's CPU mean is sum-then-divide).
    public func monoSamples() -> [Float] { Self.mono(interleavedSamples, channels: channels) }

    /// The channel mean of interleaved samples (see `monoSamples`).
    public static func mono(_ interleaved: [Float], channels channelCount: Int) -> [Float] {
        let frames = interleaved.count / max(channelCount, 1)
        if channelCount == 1 { return interleaved }
        guard channelCount > 1, frames > 0 else { return [] }
        let divisor = Float(channelCount)
        return interleaved.withUnsafeBufferPointer { source in
            [Float](unsafeUninitializedCapacity: frames) { mono, initialized in
                for frame in 0..<frames {
                    let first = frame * channelCount
                    var sum = source[first]
                    for channel in 1..<channelCount { sum += source[first + channel] }
                    mono[frame] = sum / divisor
                }
                initialized = frames
            }
        }
    }

    public func monoAudio() -> PCMAudio {
        PCMAudio(samples: monoSamples(), sampleRate: sampleRate)
    }
}

public enum WAVReader {
    public static func read(contentsOf url: URL) throws -> WAVFile {
        let data: Data
        do { data = try FileAccess.read(url, options: .mappedIfSafe) } catch let e as FileAccess.ReadError {
            throw WAVError.unreadableFile(path: e.path, reason: e.reason)
        }
        return try read(data: data)
    }

    public static func read(data: Data) throws -> WAVFile {
        try data.withUnsafeBytes { raw in
            let bytes = LittleEndianBytes(raw)
            let layout = try RIFFLayout.parse(bytes)
            return try SampleDecoder.decode(bytes, layout: layout)
        }
    }

    /// Reads a file and downmixes it to mono.
    public static func readMono(contentsOf url: URL) throws -> PCMAudio {
        try read(contentsOf: url).monoAudio()
    }
}
