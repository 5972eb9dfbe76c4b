import Foundation

/// Reads audio the way the reference loads it: decode to float, downmix by the channel mean,
/// resample to the tokenizer's rate (torchaudio `resample` defaults). WAV goes through our own
/// reader (bit-exact with torchaudio's); every other format (and WAV encodings it does not take)
/// through FFmpeg's decoders. `-` reads standard input.
public enum AudioInput {
    /// Sample rates accepted as model input (telephone to high-resolution audio).
    public static let supportedRates = 8_000...384_000

    /// `maxSeconds` stops a compressed file's decoding once that much is decoded (the caller
    /// refuses what is too long; a WAV is read whole, its size being plain from its header).
    public static func load(_ url: URL, sampleRate target: Int, maxSeconds: Double? = nil) throws -> [Float] {
        let path = url.path
        if FileAccess.isDirectory(path) {
            throw WAVError.unreadableFile(path: path, reason: "it is a directory, not an audio file")
        }
        if url.relativePath == "-" { return try loadStandardInput(sampleRate: target, maxSeconds: maxSeconds) }
        guard FileManager.default.fileExists(atPath: path) else {
            throw WAVError.unreadableFile(path: path, reason: FileAccess.systemMessage(ENOENT))
        }
        if try startsLikeWAV(path) {
            do {
                let wav = try WAVReader.read(contentsOf: url)
                return try prepare(wav.monoSamples(), rate: wav.sampleRate, path: path, target: target)
            } catch let error as WAVError {
                // Valid WAV in an encoding we do not read (ADPCM, A-law, RF64, ...): FFmpeg may.
                switch error {
                // Not for PCM or float with an odd sample size: FFmpeg would read it no better.
                case .unsupportedFormat(let tag, _) where tag != 1 && tag != 3: break
                case .unsupportedExtensibleSubFormat, .unsupportedContainer: break
                default: throw error
                }
            }
        }
        let decoded = try CompressedAudioReader.read(path: path, maxSeconds: maxSeconds)
        return try prepare(decoded.monoSamples(), rate: decoded.sampleRate, path: path, target: target)
    }

    /// Standard input, whole: a WAV is parsed from memory, anything else decoded from a
    /// temporary copy (FFmpeg's demuxers need to seek).
    static func loadStandardInput(sampleRate target: Int, maxSeconds: Double?) throws -> [Float] {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        guard !data.isEmpty else { throw WAVError.unreadableFile(path: "standard input", reason: "it is empty") }
        if data.starts(with: Array("RIFF".utf8)) {
            let wav = try WAVReader.read(data: data)
            return try prepare(wav.monoSamples(), rate: wav.sampleRate, path: "standard input", target: target)
        }
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mimo-audio-stdin-\(getpid())-\(UUID().uuidString)")
        try FileOutput.write(data, to: temporary.path)
        defer { try? FileManager.default.removeItem(at: temporary) }
        do {
            let decoded = try CompressedAudioReader.read(path: temporary.path, maxSeconds: maxSeconds)
            return try prepare(decoded.monoSamples(), rate: decoded.sampleRate, path: "standard input", target: target)
        } catch AudioFileError.notAudio(_, let reason) {
            throw AudioFileError.notAudio(path: "standard input", reason: reason)
        }
    }

    private static func startsLikeWAV(_ path: String) throws -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw WAVError.unreadableFile(path: path, reason: FileAccess.systemMessage(EACCES))
        }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 12)) ?? Data()
        return head.starts(with: Array("RIFF".utf8)) || head.starts(with: Array("RIFX".utf8))
            || head.starts(with: Array("RF64".utf8))
    }

    private static func prepare(_ mono: [Float], rate: Int, path: String, target: Int) throws -> [Float] {
        // Refused before resampling, whose work and memory grow with the ratio of the rates.
        guard supportedRates.contains(rate) else { throw AudioInputError.unsupportedSampleRate(rate, path: path) }
        if let bad = mono.firstIndex(where: { !$0.isFinite }) { throw SpectrogramError.nonFiniteSample(index: bad) }
        return try resample(mono, from: rate, to: target)
    }
}

public enum AudioInputError: Error, CustomStringConvertible, Equatable {
    case unsupportedSampleRate(Int, path: String)

    public var description: String {
        switch self {
        case .unsupportedSampleRate(let rate, let path):
            return "\(path) declares a sample rate of \(rate) Hz; audio input must be between 8000 and 384000 Hz"
        }
    }
}
