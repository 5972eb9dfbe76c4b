import Foundation
import MiMoAudio

/// Spoken replies' codes, kept so that a later turn naming `message.audio.id` gives the model the
/// very speech it produced. Bounded by bytes (the least recently used go first) and each entry
/// expires. An id carries its reply's transcript, so a replica that never saw it, or a turn that
/// comes after the expiry, still renders that turn, as text.
final class ReplyAudioCache: @unchecked Sendable {
    struct Entry {
        var audio: LMAudio
        var transcript: String
        var expires: Date
        var bytes: Int
    }

    let capacityBytes: Int
    let lifetime: TimeInterval
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    /// Ids from least to most recently used.
    private var order: [String] = []
    private var bytes = 0

    /// The transcript an id carries is cut to this many UTF-8 bytes (about a minute of speech).
    static let transcriptLimit = 2048

    init(capacityBytes: Int = 64 << 20, lifetime: TimeInterval = 3600) {
        self.capacityBytes = capacityBytes
        self.lifetime = lifetime
    }

    /// A fresh id for a reply with this transcript.
    static func newID(transcript: String) -> String {
        let random = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let text = Data(transcript.utf8.prefix(transcriptLimit)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "audio_\(random).\(text)"
    }

    /// The transcript inside an id (nil when the id is not one of ours).
    static func transcript(in id: String) -> String? {
        guard id.hasPrefix("audio_"), let dot = id.firstIndex(of: ".") else { return nil }
        var text = id[id.index(after: dot)...].replacingOccurrences(of: "-", with: "+")
            .replacingOccurrences(of: "_", with: "/")
        text += String(repeating: "=", count: (4 - text.count % 4) % 4)
        guard let data = Data(base64Encoded: text) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// Keeps `audio` under `id` until `lifetime` from `now`; returns the expiry.
    @discardableResult
    func store(_ audio: LMAudio, transcript: String, id: String, now: Date = Date()) -> Date {
        let size = audio.frames.reduce(0) { $0 + $1.count } * MemoryLayout<Int>.size + transcript.utf8.count
        let expires = now.addingTimeInterval(lifetime)
        guard size <= capacityBytes else { return expires }
        lock.lock()
        defer { lock.unlock() }
        remove(id)
        entries[id] = Entry(audio: audio, transcript: transcript, expires: expires, bytes: size)
        order.append(id)
        bytes += size
        while bytes > capacityBytes, let oldest = order.first { remove(oldest) }
        return expires
    }

    /// The entry for `id`, if it is kept and has not expired.
    func lookup(_ id: String, now: Date = Date()) -> Entry? {
        lock.lock()
        defer { lock.unlock() }
        guard let entry = entries[id] else { return nil }
        guard entry.expires > now else {
            remove(id)
            return nil
        }
        order.removeAll { $0 == id }
        order.append(id)
        return entry
    }

    var count: Int { lock.withLock { entries.count } }

    private func remove(_ id: String) {
        guard let entry = entries.removeValue(forKey: id) else { return }
        bytes -= entry.bytes
        order.removeAll { $0 == id }
    }
}
