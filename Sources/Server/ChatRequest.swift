import Foundation
import JSON

/// `POST /v1/chat/completions`, decoded and checked without a server: body bytes in, a typed
/// request or the 4xx naming the field (`messages[2].content[0].input_audio.data`) out.
public struct ChatRequest: Sendable, Equatable {
    public enum Role: String, Sendable { case system, developer, user, assistant }

    public struct InputAudio: Sendable, Equatable {
        public var data: Data
        /// The client's name for the container (`wav`, `mp3`, …): a hint, FFmpeg probes the bytes.
        public var format: String
    }

    public struct Message: Sendable, Equatable {
        public var role: Role
        /// The text parts, joined.
        public var text: String
        public var audio: InputAudio?
        /// An earlier reply's `message.audio.id`.
        public var audioID: String?
        /// Where the message is, for error messages (`messages[3]`).
        public var index: Int
    }

    /// The reply's audio formats (OpenAI's names).
    public enum AudioFormat: String, Sendable, CaseIterable { case wav, mp3, flac, opus, pcm16 }

    public var model: String
    public var messages: [Message]
    /// `modalities` includes "audio": a spoken reply.
    public var speaks: Bool
    public var voice: String
    public var audioFormat: AudioFormat
    public var stream: Bool
    public var includeUsage: Bool
    public var maxTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var seed: UInt64?
    public var stop: [String]
    public var thinking: Bool

    static let allowed: Set<String> = [
        "model", "messages", "modalities", "audio", "stream", "stream_options", "max_tokens", "max_completion_tokens",
        "temperature", "top_p", "seed", "stop", "n", "reasoning_effort", "thinking", "user", "metadata",
        "frequency_penalty", "presence_penalty", "logprobs",
    ]

    public static func decode(_ body: some Collection<UInt8>) throws(APIError) -> ChatRequest {
        let fields = try RequestFields(body)
        try fields.allow(allowed)
        let model = try fields.string("model")
        let messages = try Self.messages(fields.object["messages"])

        var speaks = false
        if let modalities = fields.object["modalities"], modalities != .null {
            guard case .array(let items) = modalities, !items.isEmpty else {
                throw .invalid("'modalities' must be a non-empty array of strings.", param: "modalities")
            }
            for item in items {
                guard case .string(let name) = item, name == "text" || name == "audio" else {
                    throw .invalid("'modalities' may hold \"text\" and \"audio\"; got \(item).", param: "modalities")
                }
                if name == "audio" { speaks = true }
            }
        }
        let stream = try fields.optionalBool("stream") ?? false
        var voice = "alloy"
        var audioFormat: AudioFormat = stream ? .pcm16 : .wav
        if let audio = fields.object["audio"], audio != .null {
            guard speaks else {
                throw .invalid("'audio' is given but 'modalities' does not include \"audio\".", param: "audio")
            }
            let options = try RequestFields.object(audio, name: "audio", allowed: ["voice", "format"])
            voice = try options.optionalString("voice", path: "audio.voice") ?? voice
            if let name = try options.optionalString("format", path: "audio.format") {
                guard let format = AudioFormat(rawValue: name) else {
                    throw .invalid(
                        "'audio.format' must be one of \(AudioFormat.allCases.map(\.rawValue).joined(separator: ", ")); got '\(name)'.",
                        param: "audio.format")
                }
                audioFormat = format
            }
        }
        if stream && speaks && audioFormat != .pcm16 {
            throw .invalid(
                "A streamed spoken reply comes as 'pcm16' (as OpenAI's API requires); got '\(audioFormat.rawValue)'.",
                param: "audio.format")
        }
        var includeUsage = false
        if let options = fields.object["stream_options"], options != .null {
            guard stream else {
                throw .invalid("'stream_options' is only allowed with 'stream': true.", param: "stream_options")
            }
            let object = try RequestFields.object(options, name: "stream_options", allowed: ["include_usage"])
            includeUsage = try object.optionalBool("include_usage", path: "stream_options.include_usage") ?? false
        }
        if let n = try fields.optionalInteger("n"), n != 1 {
            throw .invalid("Only one choice is generated: 'n' must be 1; got \(n).", param: "n")
        }
        for name in ["frequency_penalty", "presence_penalty"] {
            if let value = try fields.optionalNumber(name), value != 0 {
                throw .invalid("'\(name)' is not supported (only 0); got \(value).", param: name)
            }
        }
        if try fields.optionalBool("logprobs") == true {
            throw .invalid("'logprobs' is not supported.", param: "logprobs")
        }
        var maxTokens = try fields.optionalInteger("max_completion_tokens")
        if maxTokens == nil { maxTokens = try fields.optionalInteger("max_tokens") }
        if let value = maxTokens, value < 1 {
            throw .invalid("'max_completion_tokens' must be at least 1; got \(value).", param: "max_completion_tokens")
        }
        let temperature = try fields.optionalNumber("temperature")
        if let t = temperature, !(0...2).contains(t) {
            throw .invalid("'temperature' must be between 0 and 2; got \(t).", param: "temperature")
        }
        let topP = try fields.optionalNumber("top_p")
        if let p = topP, !(p > 0 && p <= 1) {
            throw .invalid("'top_p' must be in (0, 1]; got \(p).", param: "top_p")
        }
        var seed: UInt64?
        if let value = try fields.optionalInteger("seed") {
            guard value >= 0 && value < (1 << 53) else {
                throw .invalid("'seed' must be in 0...2^53 − 1; got \(value).", param: "seed")
            }
            seed = UInt64(value)
        }
        let stop = try Self.stop(fields.object["stop"])
        // Thinking: OpenAI's `reasoning_effort` (anything but none/minimal turns it on), or our
        // boolean `thinking`, which wins.
        var thinking = false
        if let effort = try fields.optionalString("reasoning_effort") {
            guard ["none", "minimal", "low", "medium", "high"].contains(effort) else {
                throw .invalid(
                    "'reasoning_effort' must be none, minimal, low, medium or high; got '\(effort)'.",
                    param: "reasoning_effort")
            }
            thinking = effort != "none" && effort != "minimal"
        }
        thinking = try fields.optionalBool("thinking") ?? thinking
        if thinking && speaks {
            throw .invalid(
                "Thinking is not available with a spoken reply (MiMo-Audio's spoken dialogue does not think).",
                param: fields.object["thinking"] != nil ? "thinking" : "reasoning_effort")
        }
        return ChatRequest(
            model: model, messages: messages, speaks: speaks, voice: voice, audioFormat: audioFormat, stream: stream,
            includeUsage: includeUsage, maxTokens: maxTokens, temperature: temperature, topP: topP, seed: seed,
            stop: stop, thinking: thinking)
    }

    /// Whether any user message carries audio.
    public var hearsAudio: Bool { messages.contains { $0.audio != nil } }

    static func messages(_ value: JSONValue?) throws(APIError) -> [Message] {
        guard let value, value != .null else {
            throw .invalid(
                "Missing required parameter: 'messages'.", param: "messages", code: "missing_required_parameter")
        }
        guard case .array(let items) = value, !items.isEmpty else {
            throw .invalid("'messages' must be a non-empty array.", param: "messages")
        }
        var messages: [Message] = []
        for (i, item) in items.enumerated() {
            messages.append(try message(item, index: i))
        }
        guard messages.last?.role == .user else {
            throw .invalid(
                "The last message must be the user's; got '\(messages.last!.role.rawValue)'.",
                param: "messages[\(messages.count - 1)].role")
        }
        return messages
    }

    static func message(_ value: JSONValue, index: Int) throws(APIError) -> Message {
        let path = "messages[\(index)]"
        let fields = try RequestFields.object(value, name: path, allowed: ["role", "content", "name", "audio"])
        guard let roleName = try fields.optionalString("role", path: "\(path).role") else {
            throw .invalid("Missing required parameter: '\(path).role'.", param: "\(path).role")
        }
        guard let role = Role(rawValue: roleName) else {
            throw .invalid(
                "'\(path).role' must be system, developer, user or assistant; got '\(roleName)'.",
                param: "\(path).role")
        }
        var message = Message(role: role, text: "", audio: nil, audioID: nil, index: index)
        if let audio = fields.object["audio"], audio != .null {
            guard role == .assistant else {
                throw .invalid(
                    "'\(path).audio' belongs to assistant messages; user audio is an 'input_audio' content part.",
                    param: "\(path).audio")
            }
            let object = try RequestFields.object(audio, name: "\(path).audio", allowed: ["id"])
            guard let id = try object.optionalString("id", path: "\(path).audio.id"), !id.isEmpty else {
                throw .invalid("'\(path).audio.id' is required.", param: "\(path).audio.id")
            }
            message.audioID = id
        }
        switch fields.object["content"] {
        case .string(let text)?: message.text = text
        case nil, .null?:
            guard message.audioID != nil else {
                throw .invalid("'\(path).content' is required.", param: "\(path).content")
            }
        case .array(let parts)?:
            var texts: [String] = []
            for (j, part) in parts.enumerated() {
                let partPath = "\(path).content[\(j)]"
                // The type first, so an unsupported part (an image) is named as such.
                let type = try RequestFields.object(part, name: partPath, allowed: nil)
                    .optionalString("type", path: "\(partPath).type")
                guard let type, type == "text" || type == "input_audio" else {
                    throw .invalid(
                        "'\(partPath).type' must be 'text' or 'input_audio'; got \(type.map { "'\($0)'" } ?? "none").",
                        param: "\(partPath).type")
                }
                let object = try RequestFields.object(part, name: partPath, allowed: ["type", type])
                switch type {
                case "text":
                    guard let text = try object.optionalString("text", path: "\(partPath).text") else {
                        throw .invalid("'\(partPath).text' is required.", param: "\(partPath).text")
                    }
                    texts.append(text)
                default:
                    guard role == .user else {
                        throw .invalid("'\(partPath)': only user messages carry audio.", param: "\(partPath).type")
                    }
                    guard message.audio == nil else {
                        throw .invalid("'\(partPath)': one 'input_audio' part per message.", param: "\(partPath).type")
                    }
                    message.audio = try inputAudio(object.object["input_audio"], path: "\(partPath).input_audio")
                }
            }
            message.text = texts.joined(separator: "\n")
        case let other?:
            throw .invalid(
                "'\(path).content' must be a string or an array of parts; got \(other.typeName).",
                param: "\(path).content")
        }
        if role != .assistant && message.text.isEmpty && message.audio == nil {
            throw .invalid("'\(path).content' is empty.", param: "\(path).content")
        }
        return message
    }

    static func inputAudio(_ value: JSONValue?, path: String) throws(APIError) -> InputAudio {
        guard let value else { throw .invalid("'\(path)' is required.", param: path) }
        let object = try RequestFields.object(value, name: path, allowed: ["data", "format"])
        guard let base64 = try object.optionalString("data", path: "\(path).data"), !base64.isEmpty else {
            throw .invalid("'\(path).data' is required.", param: "\(path).data")
        }
        guard let data = Data(base64Encoded: base64), !data.isEmpty else {
            throw .invalid("'\(path).data' is not valid base64.", param: "\(path).data", code: "invalid_base64")
        }
        let format = try object.optionalString("format", path: "\(path).format") ?? "wav"
        guard (1...8).contains(format.count), format.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
        else {
            throw .invalid("'\(path).format' must be a short name such as wav or mp3.", param: "\(path).format")
        }
        return InputAudio(data: data, format: format.lowercased())
    }

    /// OpenAI's `stop`: a string or up to 4 of them.
    static func stop(_ value: JSONValue?) throws(APIError) -> [String] {
        switch value {
        case nil, .null?: return []
        case .string(let text)?: return text.isEmpty ? [] : [text]
        case .array(let items)? where items.count <= 4:
            var stops: [String] = []
            for item in items {
                guard case .string(let text) = item, !text.isEmpty else {
                    throw .invalid("'stop' must hold non-empty strings.", param: "stop")
                }
                stops.append(text)
            }
            return stops
        default:
            throw .invalid("'stop' must be a string or an array of up to 4 strings.", param: "stop")
        }
    }
}

extension RequestFields {
    /// A nested object's fields, strictly (`allowed` nil: any); `name` is the path used in errors.
    static func object(_ value: JSONValue, name: String, allowed: Set<String>?) throws(APIError) -> RequestFields {
        guard case .object(let object) = value else {
            throw .invalid("'\(name)' must be an object; got \(value.typeName).", param: name, code: "invalid_type")
        }
        if let allowed, let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw .invalid(
                "Unrecognized argument '\(name).\(unknown)'.", param: "\(name).\(unknown)", code: "unknown_parameter")
        }
        return RequestFields(object: object)
    }

    func optionalBool(_ name: String, path: String? = nil) throws(APIError) -> Bool? {
        switch object[name] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case let other?:
            let path = path ?? name
            throw .invalid("'\(path)' must be a boolean; got \(other.typeName).", param: path, code: "invalid_type")
        }
    }
}
