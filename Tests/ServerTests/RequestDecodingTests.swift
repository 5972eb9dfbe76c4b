import Foundation
import XCTest

@testable import Server

/// The speech request's decoding and checks, without a server: every malformed body is a 4xx
/// naming its field, in OpenAI's error shape.
final class RequestDecodingTests: XCTestCase {
    func decode(_ json: String) throws(APIError) -> SpeechRequest { try SpeechRequest.decode(Array(json.utf8)) }

    func rejection(_ json: String) -> APIError? {
        do {
            _ = try decode(json)
            return nil
        } catch { return error }
    }

    func testAValidRequestAndItsDefaults() throws {
        let r = try decode(#"{"model": "tts-1", "input": "Hello.", "voice": "alloy"}"#)
        XCTAssertEqual(r.format, .mp3, "OpenAI's default format")
        XCTAssertNil(r.streamFormat)
        XCTAssertNil(r.instructions)
        let full = try decode(
            #"{"model": "m", "input": "Hi", "voice": "nova", "instructions": "Whisper.", "response_format": "pcm", "speed": 1.0, "stream_format": "sse", "seed": 7}"#
        )
        XCTAssertEqual(full.format, .pcm)
        XCTAssertEqual(full.streamFormat, .sse)
        XCTAssertEqual(full.instructions, "Whisper.")
        XCTAssertEqual(full.effectiveSeed, 7)
    }

    func testEachMalformedFieldIsA400NamingIt() {
        let cases: [(String, String?, String)] = [
            ("not json", nil, "not valid JSON"),
            ("[1]", nil, "must be a JSON object"),
            (#"{"input": "x", "voice": "alloy"}"#, "model", "Missing required parameter: 'model'"),
            (#"{"model": "m", "voice": "alloy"}"#, "input", "'input'"),
            (#"{"model": "m", "input": "  ", "voice": "alloy"}"#, "input", "empty"),
            (#"{"model": "m", "input": 5, "voice": "alloy"}"#, "input", "must be a string; got integer"),
            (#"{"model": "m", "input": "x"}"#, "voice", "'voice'"),
            (#"{"model": "m", "input": "x", "voice": "alloy", "response_format": "ogg"}"#, "response_format", "one of"),
            (#"{"model": "m", "input": "x", "voice": "alloy", "speed": 9}"#, "speed", "between 0.25 and 4.0"),
            (#"{"model": "m", "input": "x", "voice": "alloy", "speed": 1.5}"#, "speed", "not supported"),
            (#"{"model": "m", "input": "x", "voice": "alloy", "speed": "fast"}"#, "speed", "must be a number"),
            (
                #"{"model": "m", "input": "x", "voice": "alloy", "stream_format": "chunks"}"#, "stream_format",
                "'audio' or 'sse'"
            ),
            (#"{"model": "m", "input": "x", "voice": "alloy", "seed": -1}"#, "seed", "2^53"),
            (#"{"model": "m", "input": "x", "voice": "alloy", "temperature": 1}"#, "temperature", "Unrecognized"),
            (#"{"model": "m", "input": "x", "input": "y", "voice": "alloy"}"#, nil, "not valid JSON"),
        ]
        for (body, param, message) in cases {
            guard let error = rejection(body) else {
                XCTFail("accepted: \(body)")
                continue
            }
            XCTAssertEqual(error.status, .badRequest, body)
            XCTAssertEqual(error.param, param, body)
            XCTAssertTrue(error.message.contains(message), "\(body): \(error.message)")
            XCTAssertEqual(error.type, "invalid_request_error")
        }
        let long = String(repeating: "a", count: 4097)
        XCTAssertEqual(
            rejection(#"{"model": "m", "input": "\#(long)", "voice": "alloy"}"#)?.code, "string_above_max_length")
        XCTAssertNil(rejection(#"{"model": "m", "input": "\#(String(long.dropLast()))", "voice": "alloy"}"#))
        XCTAssertEqual(rejection("{\"model\": \"m\", \"input\": \"\u{FF}\"}")?.status, .badRequest)
        XCTAssertEqual(rejection(String(decoding: [0x7B, 0xFF, 0x7D], as: UTF8.self))?.code, "invalid_json")
    }

    func testTheSeedIsTheSameForTheSameVoiceAndText() throws {
        let a = try decode(#"{"model": "m", "input": "Hello.", "voice": "alloy"}"#)
        let b = try decode(#"{"model": "tts-1", "input": "Hello.", "voice": "alloy", "response_format": "wav"}"#)
        let c = try decode(#"{"model": "m", "input": "Hello.", "voice": "echo"}"#)
        XCTAssertEqual(a.effectiveSeed, b.effectiveSeed, "the model name and format do not change the voice")
        XCTAssertNotEqual(a.effectiveSeed, c.effectiveSeed)
        XCTAssertLessThan(a.effectiveSeed, 1 << 53)
    }

    func testModelsAndVoices() throws {
        let catalog = ModelCatalog(id: "XiaomiMiMo/MiMo-Audio-7B-Instruct")
        XCTAssertNoThrow(try catalog.check("tts-1"))
        XCTAssertNoThrow(try catalog.check("whisper-1"))
        XCTAssertNoThrow(try catalog.check("XiaomiMiMo/MiMo-Audio-7B-Instruct"))
        XCTAssertThrowsError(try catalog.check("gpt-5")) { error in
            XCTAssertEqual((error as? APIError)?.status, .notFound)
            XCTAssertEqual((error as? APIError)?.code, "model_not_found")
        }
        let book = try VoiceBook()
        XCTAssertEqual(
            book.names,
            ["alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse"])
        XCTAssertThrowsError(try book.voice("bob")) { error in
            XCTAssertTrue((error as? APIError)?.message.contains("alloy, ash") == true, "\(error)")
        }
        let voice = try book.voice("nova")
        XCTAssertEqual(voice.instruction(for: "Good morning."), voice.english)
        XCTAssertEqual(voice.instruction(for: "今天天气真好"), voice.chinese)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("voices-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("A pirate's gravelly voice.\n".utf8).write(to: directory.appendingPathComponent("pirate.txt"))
        try Data().write(to: directory.appendingPathComponent("pirate.wav"))
        let mine = try VoiceBook(directory: directory)
        XCTAssertEqual(try mine.voice("pirate").english, "A pirate's gravelly voice.")
        XCTAssertNotNil(try mine.voice("pirate").prompt)
        XCTAssertNoThrow(try mine.voice("alloy"), "the built-in voices stay")
        try Data([0xFF, 0xFE]).write(to: directory.appendingPathComponent("broken.txt"))
        XCTAssertThrowsError(try VoiceBook(directory: directory))
    }

    func testErrorsHaveOpenAIsShapeAndKeysCompareInConstantTime() throws {
        let error = APIError.invalid("bad", param: "input")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: error.body) as? [String: [String: Any]])
        XCTAssertEqual(object["error"]?["message"] as? String, "bad")
        XCTAssertEqual(object["error"]?["type"] as? String, "invalid_request_error")
        XCTAssertEqual(object["error"]?["param"] as? String, "input")
        XCTAssertEqual(object["error"]?["code"] as? String, "invalid_value")
        XCTAssertTrue(BearerAuthMiddlewareCheck.equal("secret", "secret"))
        XCTAssertFalse(BearerAuthMiddlewareCheck.equal("secret", "secreT"))
        XCTAssertFalse(BearerAuthMiddlewareCheck.equal("secret", "secret2"))
        XCTAssertFalse(BearerAuthMiddlewareCheck.equal("", "x"))
    }
}

/// The transcription request's multipart decoding, without a server.
final class TranscriptionDecodingTests: XCTestCase {
    static let boundary = "XyZ123"

    static func body(_ fields: [(String, String)], file: Data? = Data("RIFF....".utf8), filename: String = "a.wav")
        -> Data
    {
        var text = ""
        for (name, value) in fields {
            text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
        }
        var data = Data(text.utf8)
        if let file {
            data += Data(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\nContent-Type: audio/wav\r\n\r\n"
                    .utf8)
            data += file + Data("\r\n".utf8)
        }
        data += Data("--\(boundary)--\r\n".utf8)
        return data
    }

    func decode(_ fields: [(String, String)], file: Data? = Data("RIFF....".utf8)) throws(APIError)
        -> TranscriptionRequest
    {
        try TranscriptionRequest.decode(
            Self.body(fields, file: file), contentType: "multipart/form-data; boundary=\(Self.boundary)")
    }

    func testAValidRequest() throws {
        let r = try decode([("model", "whisper-1"), ("response_format", "verbose_json"), ("language", "zh")])
        XCTAssertEqual(r.model, "whisper-1")
        XCTAssertEqual(r.format, .verboseJSON)
        XCTAssertEqual(r.language, "zh")
        XCTAssertEqual(r.audio, Data("RIFF....".utf8))
        XCTAssertEqual(r.filename, "a.wav")
        XCTAssertFalse(r.stream)
        XCTAssertEqual(try decode([("model", "m"), ("stream", "true")]).stream, true)
        XCTAssertEqual(try decode([("model", "m"), ("prompt", "")]).format, .json, "an empty prompt is no prompt")
    }

    func testEachMalformedFieldIsA4xxNamingIt() {
        let cases: [([(String, String)], Data?, String?, String)] = [
            ([("model", "m")], nil, "file", "Missing required parameter: 'file'"),
            ([("model", "m")], Data(), "file", "empty"),
            ([], Data("x".utf8), "model", "'model'"),
            ([("model", "m"), ("language", "fr")], Data("x".utf8), "language", "'en' or 'zh'"),
            ([("model", "m"), ("prompt", "Names: Ann")], Data("x".utf8), "prompt", "not supported"),
            ([("model", "m"), ("temperature", "hot")], Data("x".utf8), "temperature", "0 to 2"),
            ([("model", "m"), ("response_format", "xml")], Data("x".utf8), "response_format", "one of"),
            ([("model", "m"), ("stream", "yes")], Data("x".utf8), "stream", "true or false"),
            ([("model", "m"), ("stream", "true"), ("response_format", "srt")], Data("x".utf8), "stream", "Streaming"),
            ([("model", "m"), ("voice", "x")], Data("x".utf8), "voice", "Unrecognized"),
            ([("model", "m"), ("model", "n")], Data("x".utf8), "model", "more than once"),
        ]
        for (fields, file, param, message) in cases {
            do {
                _ = try decode(fields, file: file)
                XCTFail("accepted \(fields)")
            } catch {
                XCTAssertEqual(error.status, .badRequest, "\(fields)")
                XCTAssertEqual(error.param, param, "\(fields)")
                XCTAssertTrue(error.message.contains(message), "\(fields): \(error.message)")
            }
        }
        for contentType in [nil, "application/json", "multipart/form-data"] {
            XCTAssertThrowsError(try TranscriptionRequest.decode(Self.body([("model", "m")]), contentType: contentType))
        }
        XCTAssertThrowsError(
            try TranscriptionRequest.decode(
                Data("garbage".utf8), contentType: "multipart/form-data; boundary=\(Self.boundary)"))
    }

    func testTranscriptFormats() {
        XCTAssertEqual(TranscriptFormatter.stamp(3725.5, ","), "01:02:05,500")
        XCTAssertEqual(TranscriptFormatter.body("Hi.", format: .text, duration: 1, language: nil).1, "Hi.\n")
        XCTAssertEqual(
            TranscriptFormatter.body("Hi.", format: .srt, duration: 2.25, language: nil).1,
            "1\n00:00:00,000 --> 00:00:02,250\nHi.\n\n")
        XCTAssertEqual(
            TranscriptFormatter.body("Hi.", format: .vtt, duration: 2.25, language: nil).1,
            "WEBVTT\n\n00:00:00.000 --> 00:00:02.250\nHi.\n\n")
    }
}
