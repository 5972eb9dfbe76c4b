import Audio
import Foundation
import JSON

/// `POST /v1/audio/speech`, decoded and checked without a server: body bytes in, a typed request
/// or the 4xx naming the field out.
public struct SpeechRequest: Sendable, Equatable {
    public enum StreamFormat: String, Sendable { case audio, sse }

    public var model: String
    public var input: String
    public var voice: String
    public var instructions: String?
    public var format: AudioFileFormat
    public var streamFormat: StreamFormat?
    /// Our extension: a fixed seed (else one derived from the voice and the text).
    public var seed: UInt64?

    public static let maxInputCharacters = 4096
    /// OpenAI's response formats (m4a is ours too, since the encoder has it).
    static let formats: [String: AudioFileFormat] = [
        "mp3": .mp3, "wav": .wav, "flac": .flac, "opus": .opus, "aac": .aac, "pcm": .pcm,
    ]

    public static func decode(_ body: some Collection<UInt8>) throws(APIError) -> SpeechRequest {
        let fields = try RequestFields(body)
        try fields.allow([
            "model", "input", "voice", "instructions", "response_format", "speed", "stream_format", "seed",
        ])
        let model = try fields.string("model")
        let input = try fields.string("input")
        guard !input.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw .invalid("'input' is empty: give the text to speak.", param: "input")
        }
        guard input.count <= maxInputCharacters else {
            throw .invalid(
                "'input' is \(input.count) characters; the limit is \(maxInputCharacters).", param: "input",
                code: "string_above_max_length")
        }
        let voice = try fields.string("voice")
        let instructions = try fields.optionalString("instructions")
        let formatName = try fields.optionalString("response_format") ?? "mp3"
        guard let format = formats[formatName] else {
            throw .invalid(
                "'response_format' must be one of \(formats.keys.sorted().joined(separator: ", ")); got '\(formatName)'.",
                param: "response_format")
        }
        if let speed = try fields.optionalNumber("speed") {
            guard (0.25...4.0).contains(speed) else {
                throw .invalid("'speed' must be between 0.25 and 4.0; got \(speed).", param: "speed")
            }
            // Never silently ignored: time-stretching is not implemented yet.
            guard speed == 1 else {
                throw .invalid("'speed' other than 1.0 is not supported by this server; got \(speed).", param: "speed")
            }
        }
        var streamFormat: StreamFormat?
        if let name = try fields.optionalString("stream_format") {
            guard let value = StreamFormat(rawValue: name) else {
                throw .invalid("'stream_format' must be 'audio' or 'sse'; got '\(name)'.", param: "stream_format")
            }
            streamFormat = value
        }
        var seed: UInt64?
        if let value = try fields.optionalInteger("seed") {
            guard value >= 0 && value < (1 << 53) else {
                throw .invalid("'seed' must be in 0...2^53 − 1; got \(value).", param: "seed")
            }
            seed = UInt64(value)
        }
        return SpeechRequest(
            model: model, input: input, voice: voice, instructions: instructions, format: format,
            streamFormat: streamFormat, seed: seed)
    }

    /// The same voice and text give the same seed, so a voice sounds as alike across requests as
    /// the model allows (a request's `seed` overrides it).
    public var effectiveSeed: UInt64 {
        if let seed { return seed }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in (voice + "\u{0}" + (instructions ?? "") + "\u{0}" + input).utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return hash & ((1 << 53) - 1)
    }
}

/// A JSON object body's fields, read strictly (the one JSON reader of the code base): every
/// wrong type, unknown field or missing one is a 400 that names it.
struct RequestFields {
    let object: [String: JSONValue]

    init(object: [String: JSONValue]) { self.object = object }

    init(_ body: some Collection<UInt8>) throws(APIError) {
        let value: JSONValue
        do { value = try JSONParser.parse(body) } catch {
            throw .invalid("The body is not valid JSON: \(error).", code: "invalid_json")
        }
        guard case .object(let object) = value else {
            throw .invalid("The body must be a JSON object; got \(value.typeName).", code: "invalid_json")
        }
        self.object = object
    }

    func allow(_ names: Set<String>) throws(APIError) {
        if let unknown = object.keys.sorted().first(where: { !names.contains($0) }) {
            throw .invalid(
                "Unrecognized request argument supplied: \(unknown).", param: unknown, code: "unknown_parameter")
        }
    }

    func string(_ name: String) throws(APIError) -> String {
        guard let value = try optionalString(name) else {
            throw .invalid("Missing required parameter: '\(name)'.", param: name, code: "missing_required_parameter")
        }
        return value
    }

    /// `path` names the field in errors when it is nested (`messages[0].role`).
    func optionalString(_ name: String, path: String? = nil) throws(APIError) -> String? {
        switch object[name] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        case let other?:
            let path = path ?? name
            throw .invalid("'\(path)' must be a string; got \(other.typeName).", param: path, code: "invalid_type")
        }
    }

    func optionalNumber(_ name: String) throws(APIError) -> Double? {
        switch object[name] {
        case nil, .null?: return nil
        case let value? where value.doubleValue != nil: return value.doubleValue
        case let other?:
            throw .invalid("'\(name)' must be a number; got \(other.typeName).", param: name, code: "invalid_type")
        }
    }

    func optionalInteger(_ name: String) throws(APIError) -> Int? {
        switch object[name] {
        case nil, .null?: return nil
        case .int(let value)?: return value
        case let other?:
            throw .invalid("'\(name)' must be an integer; got \(other.typeName).", param: name, code: "invalid_type")
        }
    }
}
