import Foundation
import JSON

/// A client event of the OpenAI Realtime API (GA names, and the beta session fields many clients
/// still send), decoded and checked without a socket: text in, a typed event or the error to send.
public enum RealtimeClientEvent: Sendable, Equatable {
    case sessionUpdate(RealtimeSessionUpdate)
    /// 24 kHz mono samples.
    case appendAudio([Float])
    case commitAudio
    case clearAudio
    case createItem(RealtimeUserItem)
    case truncate(itemID: String, contentIndex: Int, audioEndMs: Int)
    case createResponse
    case cancelResponse
}

/// A user message added with `conversation.item.create`.
public enum RealtimeUserItem: Sendable, Equatable {
    case text(String)
    case audio([Float])
}

/// The fields of a `session.update` that were present.
public struct RealtimeSessionUpdate: Sendable, Equatable {
    public enum TurnDetection: Sendable, Equatable {
        case manual
        case serverVAD(RealtimeVADSettings)
    }
    public var instructions: String?
    /// ["audio"] (spoken replies, with their transcript) or ["text"].
    public var outputModalities: [String]?
    public var voice: String?
    public var turnDetection: TurnDetection?
    /// Transcripts of the user's audio turns (`conversation.item.input_audio_transcription.*`),
    /// in the instruction's language (`en` or `zh`; nil: English); `.some(nil)` turns them off.
    public var inputTranscription: InputTranscription??
}

/// What `audio.input.transcription` (GA) or `input_audio_transcription` (beta) asks for.
public struct InputTranscription: Sendable, Equatable {
    public var model: String
    public var language: String?
}

public struct RealtimeVADSettings: Sendable, Equatable {
    public var threshold = 0.5
    public var prefixPaddingMs = 300
    public var silenceDurationMs = 500
    public var createResponse = true
    public var interruptResponse = true
    public init() {}
}

/// An `error` event's content.
public struct RealtimeError: Error, Equatable, Sendable {
    public var message: String
    public var type = "invalid_request_error"
    public var code: String?
    public var param: String?
    public var eventID: String?

    init(_ message: String, code: String? = "invalid_value", param: String? = nil) {
        (self.message, self.code, self.param) = (message, code, param)
    }
}

public enum RealtimeEventDecoder {
    /// Base64 PCM16 larger than this in one event is refused (about 5 minutes of 24 kHz audio).
    static let maxAudioBytes = 15 << 20

    public static func decode(_ text: String) -> Result<(eventID: String?, event: RealtimeClientEvent), RealtimeError> {
        let value: JSONValue
        do { value = try JSONParser.parse(Array(text.utf8)) } catch {
            return .failure(RealtimeError("The event is not valid JSON: \(error).", code: "invalid_json"))
        }
        guard case .object(let object) = value else {
            return .failure(RealtimeError("An event must be a JSON object.", code: "invalid_json"))
        }
        var eventID: String?
        if case .string(let id)? = object["event_id"] { eventID = id }
        do {
            return .success((eventID, try event(object)))
        } catch var error as RealtimeError {
            error.eventID = eventID
            return .failure(error)
        } catch {
            return .failure(RealtimeError("\(error)"))
        }
    }

    static func event(_ object: [String: JSONValue]) throws -> RealtimeClientEvent {
        guard case .string(let type)? = object["type"] else {
            throw RealtimeError("The event has no 'type'.", code: "missing_required_parameter", param: "type")
        }
        switch type {
        case "session.update":
            guard case .object(let session)? = object["session"] else {
                throw RealtimeError("'session' must be an object.", param: "session")
            }
            return .sessionUpdate(try sessionUpdate(session))
        case "input_audio_buffer.append":
            return .appendAudio(try pcm(object["audio"], param: "audio"))
        case "input_audio_buffer.commit": return .commitAudio
        case "input_audio_buffer.clear": return .clearAudio
        case "conversation.item.create":
            guard case .object(let item)? = object["item"] else {
                throw RealtimeError("'item' must be an object.", param: "item")
            }
            return .createItem(try userItem(item))
        case "conversation.item.truncate":
            guard case .string(let id)? = object["item_id"] else {
                throw RealtimeError("'item_id' is required.", param: "item_id")
            }
            guard case .int(let end)? = object["audio_end_ms"], end >= 0 else {
                throw RealtimeError("'audio_end_ms' must be a non-negative integer.", param: "audio_end_ms")
            }
            var index = 0
            if let value = object["content_index"] {
                guard case .int(let i) = value, i >= 0 else {
                    throw RealtimeError("'content_index' must be a non-negative integer.", param: "content_index")
                }
                index = i
            }
            return .truncate(itemID: id, contentIndex: index, audioEndMs: end)
        case "response.create": return .createResponse
        case "response.cancel": return .cancelResponse
        default:
            throw RealtimeError("Unknown event type '\(type)'.", code: "unknown_event", param: "type")
        }
    }

    static func sessionUpdate(_ session: [String: JSONValue]) throws -> RealtimeSessionUpdate {
        var update = RealtimeSessionUpdate()
        if case .string(let type)? = session["type"], type != "realtime" {
            throw RealtimeError("Only 'realtime' sessions are served; got '\(type)'.", param: "session.type")
        }
        if let value = session["instructions"] {
            guard case .string(let text) = value else {
                throw RealtimeError("'session.instructions' must be a string.", param: "session.instructions")
            }
            update.instructions = text
        }
        for name in ["output_modalities", "modalities"] {
            guard let value = session[name] else { continue }
            guard case .array(let items) = value else {
                throw RealtimeError("'session.\(name)' must be an array.", param: "session.\(name)")
            }
            var modalities: [String] = []
            for item in items {
                guard case .string(let m) = item, m == "audio" || m == "text" else {
                    throw RealtimeError(
                        "'session.\(name)' may hold \"audio\" and \"text\".", param: "session.\(name)")
                }
                modalities.append(m)
            }
            // Beta sessions send ["text", "audio"] for spoken replies; GA sends ["audio"].
            update.outputModalities = modalities.contains("audio") ? ["audio"] : ["text"]
        }
        if let voice = try voiceField(session) { update.voice = voice }
        // Formats: PCM at 24 kHz only, in GA (`audio.input.format`) or beta (`input_audio_format`) form.
        for (name, value) in [
            ("input_audio_format", session["input_audio_format"]),
            ("output_audio_format", session["output_audio_format"]),
        ] {
            guard let value else { continue }
            guard case .string("pcm16") = value else {
                throw RealtimeError("Only 'pcm16' (24 kHz) audio is served.", param: "session.\(name)")
            }
        }
        if let value = session["turn_detection"] {
            update.turnDetection = try turnDetection(value, param: "session.turn_detection")
        }
        if let value = session["input_audio_transcription"] {
            update.inputTranscription = try inputTranscription(value, param: "session.input_audio_transcription")
        }
        if let audio = session["audio"] {
            guard case .object(let audio) = audio else {
                throw RealtimeError("'session.audio' must be an object.", param: "session.audio")
            }
            for side in ["input", "output"] {
                guard let value = audio[side] else { continue }
                guard case .object(let config) = value else {
                    throw RealtimeError("'session.audio.\(side)' must be an object.", param: "session.audio.\(side)")
                }
                if let format = config["format"] { try checkFormat(format, param: "session.audio.\(side).format") }
                if side == "input", let value = config["turn_detection"] {
                    update.turnDetection = try turnDetection(value, param: "session.audio.input.turn_detection")
                }
                if side == "input", let value = config["transcription"] {
                    update.inputTranscription = try inputTranscription(
                        value, param: "session.audio.input.transcription")
                }
                if side == "output", let value = config["voice"] {
                    guard case .string(let voice) = value else {
                        throw RealtimeError(
                            "'session.audio.output.voice' must be a string.", param: "session.audio.output.voice")
                    }
                    update.voice = voice
                }
            }
        }
        return update
    }

    static func voiceField(_ session: [String: JSONValue]) throws -> String? {
        guard let value = session["voice"] else { return nil }
        guard case .string(let voice) = value else {
            throw RealtimeError("'session.voice' must be a string.", param: "session.voice")
        }
        return voice
    }

    static func checkFormat(_ value: JSONValue, param: String) throws {
        guard case .object(let format) = value, case .string("audio/pcm")? = format["type"] else {
            throw RealtimeError("Only {\"type\": \"audio/pcm\", \"rate\": 24000} is served.", param: param)
        }
        if let rate = format["rate"], rate != .int(24000) {
            throw RealtimeError("Only a 24000 Hz rate is served.", param: "\(param).rate")
        }
    }

    static func turnDetection(_ value: JSONValue, param: String) throws -> RealtimeSessionUpdate.TurnDetection {
        if value == .null { return .manual }
        guard case .object(let object) = value else {
            throw RealtimeError("'\(param)' must be an object or null.", param: param)
        }
        guard case .string("server_vad")? = object["type"] else {
            throw RealtimeError(
                "'\(param).type' must be 'server_vad' (or turn detection null).", param: "\(param).type")
        }
        var settings = RealtimeVADSettings()
        if let v = object["threshold"] {
            guard let t = v.doubleValue, (0...1).contains(t) else {
                throw RealtimeError("'\(param).threshold' must be between 0 and 1.", param: "\(param).threshold")
            }
            settings.threshold = t
        }
        for (name, keyPath) in [
            ("prefix_padding_ms", \RealtimeVADSettings.prefixPaddingMs),
            ("silence_duration_ms", \RealtimeVADSettings.silenceDurationMs),
        ] {
            guard let v = object[name] else { continue }
            guard case .int(let ms) = v, (0...10_000).contains(ms) else {
                throw RealtimeError("'\(param).\(name)' must be 0...10000 ms.", param: "\(param).\(name)")
            }
            settings[keyPath: keyPath] = ms
        }
        for (name, keyPath) in [
            ("create_response", \RealtimeVADSettings.createResponse),
            ("interrupt_response", \RealtimeVADSettings.interruptResponse),
        ] {
            guard let v = object[name] else { continue }
            guard case .bool(let b) = v else {
                throw RealtimeError("'\(param).\(name)' must be a boolean.", param: "\(param).\(name)")
            }
            settings[keyPath: keyPath] = b
        }
        return .serverVAD(settings)
    }

    /// null turns transcripts off; an object turns them on. A prompt is refused as the
    /// transcription endpoint refuses it: MiMo-Audio's recognition takes none.
    static func inputTranscription(_ value: JSONValue, param: String) throws -> InputTranscription? {
        if value == .null { return nil }
        guard case .object(let object) = value else {
            throw RealtimeError("'\(param)' must be an object or null.", param: param)
        }
        if let unknown = object.keys.sorted().first(where: { !["model", "language", "prompt"].contains($0) }) {
            throw RealtimeError("'\(param)' has no field '\(unknown)'.", param: "\(param).\(unknown)")
        }
        var transcription = InputTranscription(model: "whisper-1")
        if let value = object["model"] {
            guard case .string(let model) = value else {
                throw RealtimeError("'\(param).model' must be a string.", param: "\(param).model")
            }
            transcription.model = model
        }
        switch object["language"] {
        case nil, .null?, .string("")?: break
        case .string(let language)? where language == "en" || language == "zh": transcription.language = language
        default:
            throw RealtimeError("'\(param).language' must be 'en' or 'zh'.", param: "\(param).language")
        }
        switch object["prompt"] {
        case nil, .null?, .string("")?: break
        default:
            throw RealtimeError(
                "'\(param).prompt' is not supported: MiMo-Audio's recognition takes no text prompt.",
                param: "\(param).prompt")
        }
        return transcription
    }

    static func userItem(_ item: [String: JSONValue]) throws -> RealtimeUserItem {
        guard case .string("message")? = item["type"] ?? .string("message") else {
            throw RealtimeError("Only 'message' items are served.", param: "item.type")
        }
        guard case .string("user")? = item["role"] else {
            throw RealtimeError("Only user messages can be added; replies come from responses.", param: "item.role")
        }
        guard case .array(let parts)? = item["content"], parts.count == 1, case .object(let part) = parts[0] else {
            throw RealtimeError("'item.content' must hold one part.", param: "item.content")
        }
        switch part["type"] {
        case .string("input_text")?:
            guard case .string(let text)? = part["text"], !text.isEmpty else {
                throw RealtimeError("'item.content[0].text' must be a non-empty string.", param: "item.content[0].text")
            }
            return .text(text)
        case .string("input_audio")?:
            return .audio(try pcm(part["audio"], param: "item.content[0].audio"))
        default:
            throw RealtimeError(
                "'item.content[0].type' must be 'input_text' or 'input_audio'.", param: "item.content[0].type")
        }
    }

    /// Base64 PCM16 little-endian mono as samples in [-1, 1).
    static func pcm(_ value: JSONValue?, param: String) throws -> [Float] {
        guard case .string(let base64)? = value else {
            throw RealtimeError("'\(param)' must be a base64 string.", code: "missing_required_parameter", param: param)
        }
        guard base64.utf8.count <= maxAudioBytes else {
            throw RealtimeError("'\(param)' is longer than \(maxAudioBytes) characters.", param: param)
        }
        guard let data = Data(base64Encoded: base64) else {
            throw RealtimeError("'\(param)' is not valid base64.", code: "invalid_base64", param: param)
        }
        guard data.count % 2 == 0 else {
            throw RealtimeError("'\(param)' is not whole 16-bit samples (\(data.count) bytes).", param: param)
        }
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 2)).map {
                Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self))) / 32768
            }
        }
    }
}
