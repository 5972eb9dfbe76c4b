import Foundation

/// Writes generated speech while it is generated: patches of codes go through the streaming
/// decoder (the reference's schedule: 10 s of left context, 1.6 s held back) every `chunk`
/// frames, and the samples that become final are written out at once.
public final class SpeechStream {
    public enum Destination {
        /// A WAV file whose header is finalised when the stream ends.
        case wav(URL, WAVWriter.SampleFormat)
        /// Raw 16-bit little-endian mono PCM on standard output (playback can start at once).
        case standardOutputPCM16
    }

    let codec: AudioTokenizer
    let decoder: StreamingDecoder
    let chunk: Int
    private var pending: [[Int]] = []
    private var wav: WAVStreamWriter?
    public private(set) var framesReceived = 0
    public private(set) var samplesWritten = 0
    /// Wall time spent decoding (for the stream's real-time factor).
    public private(set) var decodeSeconds = 0.0

    public init(codec: AudioTokenizer, destination: Destination, chunkFrames: Int) throws {
        precondition(chunkFrames > 0)
        self.codec = codec
        decoder = StreamingDecoder(tokenizer: codec)
        chunk = chunkFrames
        if case let .wav(url, format) = destination {
            wav = try WAVStreamWriter(url: url, sampleRate: codec.sampleRate, format: format)
        }
    }

    /// One patch of frames `[groupSize][channels]`.
    public func add(patch: [[Int]]) throws {
        pending += patch
        framesReceived += patch.count
        while pending.count >= chunk {
            let part = Array(pending.prefix(chunk))
            pending.removeFirst(chunk)
            try write(try decode(part, last: false))
        }
    }

    /// Flushes everything; with no audio at all, writes 1 s of silence as the reference does.
    public func finish() throws {
        var tail = try decode(pending, last: true)
        pending = []
        if framesReceived == 0 { tail = [Float](repeating: 0, count: codec.sampleRate) }
        try write(tail)
        try wav?.finalize()
    }

    public var audioSeconds: Double { Double(samplesWritten) / Double(codec.sampleRate) }

    private func decode(_ frames: [[Int]], last: Bool) throws -> [Float] {
        let start = DispatchTime.now()
        defer { decodeSeconds += Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 }
        let channels = frames.first?.count ?? codec.config.numQuantizers
        let codes = (0..<min(channels, 8)).map { c in frames.map { $0[c] } }
        return try decoder.feed(codes: codes.isEmpty ? Array(repeating: [], count: 8) : codes, last: last)
    }

    private func write(_ samples: [Float]) throws {
        guard !samples.isEmpty else { return }
        samplesWritten += samples.count
        if let wav {
            try wav.append(samples)
        } else {
            var data = Data(capacity: samples.count * 2)
            for s in samples {
                withUnsafeBytes(of: WAVWriter.pcm16(s).littleEndian) { data.append(contentsOf: $0) }
            }
            FileHandle.standardOutput.write(data)
        }
    }
}
