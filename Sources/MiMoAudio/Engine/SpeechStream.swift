import Foundation

/// Turns generated speech into samples while it is generated: patches of codes go through the
/// streaming decoder (the reference's schedule: 10 s of left context, 1.6 s held back) every
/// `chunk` frames, and the samples that become final are returned at once. Where they go is
/// the caller's business.
final class SpeechStream {
    let codec: AudioTokenizer
    let decoder: StreamingDecoder
    let chunk: Int
    private var pending: [[Int]] = []
    private(set) var framesReceived = 0
    private(set) var samplesOut = 0
    /// Wall time spent decoding (for the stream's real-time factor).
    private(set) var decodeSeconds = 0.0

    init(codec: AudioTokenizer, chunkFrames: Int) {
        precondition(chunkFrames > 0)
        self.codec = codec
        decoder = StreamingDecoder(tokenizer: codec)
        chunk = chunkFrames
    }

    /// One patch of frames `[groupSize][channels]`; returns the samples that became final.
    func add(patch: [[Int]]) throws -> [Float] {
        pending += patch
        framesReceived += patch.count
        var out: [Float] = []
        while pending.count >= chunk {
            let part = Array(pending.prefix(chunk))
            pending.removeFirst(chunk)
            out += try decode(part, last: false)
        }
        samplesOut += out.count
        return out
    }

    /// Everything left; with no audio at all, 1 s of silence as the reference writes.
    func finish() throws -> [Float] {
        var tail = try decode(pending, last: true)
        pending = []
        if framesReceived == 0 { tail = [Float](repeating: 0, count: codec.sampleRate) }
        samplesOut += tail.count
        return tail
    }

    var stats: StreamStats {
        StreamStats(audioSeconds: Double(samplesOut) / Double(codec.sampleRate), decodeSeconds: decodeSeconds)
    }

    private func decode(_ frames: [[Int]], last: Bool) throws -> [Float] {
        let start = DispatchTime.now()
        defer { decodeSeconds += seconds(since: start) }
        let channels = frames.first?.count ?? codec.config.numQuantizers
        let codes = (0..<min(channels, 8)).map { c in frames.map { $0[c] } }
        return try decoder.feed(codes: codes.isEmpty ? Array(repeating: [], count: 8) : codes, last: last)
    }
}
