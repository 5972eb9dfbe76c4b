import Foundation
import MultipartKit
import NIOCore

/// `POST /v1/audio/transcriptions`, decoded and checked without a server: the multipart body and
/// its Content-Type in, a typed request or the 4xx naming the field out.
public struct TranscriptionRequest: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        case json, text, srt, vtt
        case verboseJSON = "verbose_json"
    }

    public var model: String
    public var audio: Data
    public var filename: String
    /// `en` or `zh`: the instruction's language (the model hears any language).
    public var language: String?
    public var temperature: Double?
    public var format: Format
    public var stream: Bool

    public static let maxFileBytes = 25 << 20
    static let fields: Set<String> = [
        "file", "model", "language", "prompt", "temperature", "response_format", "stream", "timestamp_granularities[]",
        "include[]",
    ]

    public static func decode(_ body: some Collection<UInt8>, contentType: String?) throws(APIError)
        -> TranscriptionRequest
    {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data"),
            let boundary = Self.boundary(contentType)
        else {
            throw .invalid(
                "The body must be multipart/form-data with a boundary (got \(contentType ?? "no Content-Type")).",
                code: "invalid_content_type")
        }
        // RFC 2046: 1 to 70 characters.
        guard (1...70).contains(boundary.utf8.count) else {
            throw .invalid(
                "The multipart boundary must be 1 to 70 characters long.", code: "invalid_content_type")
        }
        let buffer = ByteBuffer(bytes: body)
        try Self.checkHeaderNames(buffer, boundary: boundary)
        let parts = try Self.parts(buffer, boundary: boundary)
        if let unknown = parts.keys.sorted().first(where: { !fields.contains($0) }) {
            throw .invalid(
                "Unrecognized request argument supplied: \(unknown).", param: unknown, code: "unknown_parameter")
        }
        guard let file = parts["file"] else {
            throw .invalid("Missing required parameter: 'file'.", param: "file", code: "missing_required_parameter")
        }
        guard !file.body.isEmpty else { throw .invalid("'file' is empty.", param: "file") }
        guard file.body.count <= maxFileBytes else {
            throw APIError(
                status: .contentTooLarge, message: "'file' is larger than \(maxFileBytes) bytes.",
                type: "invalid_request_error", param: "file", code: "file_too_large")
        }
        func text(_ name: String) throws(APIError) -> String? {
            guard let part = parts[name] else { return nil }
            guard let value = String(data: part.body, encoding: .utf8) else {
                throw .invalid("'\(name)' is not UTF-8 text.", param: name)
            }
            return value
        }
        guard let model = try text("model"), !model.isEmpty else {
            throw .invalid("Missing required parameter: 'model'.", param: "model", code: "missing_required_parameter")
        }
        var language: String?
        if let value = try text("language"), !value.isEmpty {
            guard ["en", "zh"].contains(value) else {
                throw .invalid("'language' must be 'en' or 'zh' (ISO-639-1); got '\(value)'.", param: "language")
            }
            language = value
        }
        if let prompt = try text("prompt"), !prompt.isEmpty {
            throw .invalid("'prompt' is not supported: MiMo-Audio's recognition takes no text prompt.", param: "prompt")
        }
        var temperature: Double?
        if let value = try text("temperature") {
            guard let number = Double(value), (0...2).contains(number) else {
                throw .invalid("'temperature' must be a number from 0 to 2; got '\(value)'.", param: "temperature")
            }
            temperature = number
        }
        let formatName = try text("response_format") ?? "json"
        guard let format = Format(rawValue: formatName) else {
            throw .invalid(
                "'response_format' must be one of \(Format.allCases.map(\.rawValue).joined(separator: ", ")); got '\(formatName)'.",
                param: "response_format")
        }
        var stream = false
        if let value = try text("stream") {
            guard ["true", "false"].contains(value) else {
                throw .invalid("'stream' must be true or false; got '\(value)'.", param: "stream")
            }
            stream = value == "true"
        }
        if stream && format != .json && format != .text {
            throw .invalid("Streaming returns text deltas: use response_format json or text.", param: "stream")
        }
        return TranscriptionRequest(
            model: model, audio: file.body, filename: file.filename ?? "audio", language: language,
            temperature: temperature, format: format, stream: stream)
    }

    struct Part {
        var body = Data()
        var filename: String?
    }

    /// The parts by field name; a repeated field (other than the array ones) is an error.
    static func parts(_ body: ByteBuffer, boundary: String) throws(APIError) -> [String: Part] {
        let parser = MultipartParser(boundary: boundary)
        var parts: [String: Part] = [:]
        var current = Part()
        var name: String?
        var duplicate: String?
        parser.onHeader = { field, value in
            guard field.lowercased() == "content-disposition" else { return }
            name = Self.parameter("name", in: value)
            current.filename = Self.parameter("filename", in: value)
        }
        parser.onBody = { buffer in current.body.append(contentsOf: buffer.readableBytesView) }
        parser.onPartComplete = {
            if let name {
                if parts[name] != nil && !name.hasSuffix("[]") { duplicate = name }
                parts[name] = current
            }
            current = Part()
            name = nil
        }
        do { try parser.execute(body) } catch {
            throw .invalid("The multipart body is malformed: \(error).", code: "invalid_multipart")
        }
        if let duplicate { throw .invalid("'\(duplicate)' is given more than once.", param: duplicate) }
        return parts
    }

    /// multipart-kit 4.7.1 traps on a byte above 0x7F in a part's header name (it indexes a
    /// 128-entry table with it), so such bytes are refused first. Every header block the parser
    /// reads follows a `--boundary` and a CRLF; this checks every such place, up to the blank line
    /// (a superset of what the parser reads).
    static func checkHeaderNames(_ body: ByteBuffer, boundary: String) throws(APIError) {
        let delimiter = Array(("--" + boundary + "\r\n").utf8)
        let offending: Int? = body.withUnsafeReadableBytes { bytes in
            var at = 0
            while at + delimiter.count <= bytes.count {
                defer { at += 1 }
                guard bytes[at] == delimiter[0], bytes[at..<at + delimiter.count].elementsEqual(delimiter) else {
                    continue
                }
                var i = at + delimiter.count
                // Header lines up to the blank one: each name runs to its first ':', each line
                // ends at CR (a CR without LF is the parser's syntax error).
                while i < bytes.count, bytes[i] != 0x0D {
                    var inName = true
                    while i < bytes.count, bytes[i] != 0x0D {
                        if bytes[i] == UInt8(ascii: ":") { inName = false }
                        if inName && bytes[i] > 0x7F { return i }
                        i += 1
                    }
                    i += 2
                }
            }
            return nil
        }
        if let offending {
            throw .invalid(
                "The multipart body is malformed: a part's header name has a non-ASCII byte at offset \(offending).",
                code: "invalid_multipart")
        }
    }

    static func boundary(_ contentType: String) -> String? { parameter("boundary", in: contentType) }

    /// `name="value"` (or unquoted) from a header value's parameters.
    static func parameter(_ key: String, in header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == key else { continue }
            var value = pair[1]
            if value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 {
                value = String(value.dropFirst().dropLast())
            }
            return value
        }
        return nil
    }
}

/// A transcript in each response format. MiMo-Audio returns text without timestamps, so the
/// segments of srt, vtt and verbose_json are one segment spanning the audio.
enum TranscriptFormatter {
    static func body(_ text: String, format: TranscriptionRequest.Format, duration: Double, language: String?) -> (
        String, String
    ) {
        switch format {
        case .json:
            return (
                "application/json", jsonText(["text": text, "usage": ["type": "duration", "seconds": ceil(duration)]])
            )
        case .text:
            return ("text/plain; charset=utf-8", text + "\n")
        case .srt:
            return ("text/plain; charset=utf-8", "1\n\(stamp(0, ",")) --> \(stamp(duration, ","))\n\(text)\n\n")
        case .vtt:
            return ("text/vtt; charset=utf-8", "WEBVTT\n\n\(stamp(0, ".")) --> \(stamp(duration, "."))\n\(text)\n\n")
        case .verboseJSON:
            let segment: [String: Any] = [
                "id": 0, "seek": 0, "start": 0.0, "end": duration, "text": text, "tokens": [Int](), "temperature": 0.0,
                "avg_logprob": 0.0, "compression_ratio": 0.0, "no_speech_prob": 0.0,
            ]
            return (
                "application/json",
                jsonText([
                    "task": "transcribe", "language": language == "zh" ? "chinese" : "english", "duration": duration,
                    "text": text, "segments": [segment], "usage": ["type": "duration", "seconds": ceil(duration)],
                ])
            )
        }
    }

    /// `HH:MM:SS,mmm` (srt) or `HH:MM:SS.mmm` (vtt).
    static func stamp(_ seconds: Double, _ separator: String) -> String {
        let ms = Int((seconds * 1000).rounded())
        return String(
            format: "%02d:%02d:%02d%@%03d", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, separator, ms % 1000)
    }

}

/// A JSON object as text with sorted keys, as every JSON the server writes.
func jsonText(_ object: [String: Any]) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    return String(decoding: data, as: UTF8.self)
}
