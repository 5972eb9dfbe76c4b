import Foundation
import MiMoAudio
import XCTest

@testable import Server

/// The chat request's decoding and checks, without a server: every malformed message is a 4xx
/// naming the field, in OpenAI's error shape.
final class ChatDecodingTests: XCTestCase {
    func decode(_ json: String) throws(APIError) -> ChatRequest { try ChatRequest.decode(Array(json.utf8)) }

    static let audio = Data("RIFF-not-really-audio".utf8).base64EncodedString()

    func testValidRequestsAndTheirDefaults() throws {
        let text = try decode(#"{"model": "m", "messages": [{"role": "user", "content": "Hi"}]}"#)
        XCTAssertEqual(text.messages.map(\.text), ["Hi"])
        XCTAssertFalse(text.speaks)
        XCTAssertFalse(text.hearsAudio)
        XCTAssertFalse(text.thinking)
        XCTAssertEqual(text.stop, [])

        let spoken = try decode(
            #"""
            {"model": "m", "modalities": ["text", "audio"], "audio": {"voice": "nova", "format": "mp3"},
             "messages": [
               {"role": "system", "content": "Be brief."},
               {"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "\#(Self.audio)", "format": "wav"}}]},
               {"role": "assistant", "audio": {"id": "audio_1"}},
               {"role": "user", "content": [{"type": "text", "text": "And"}, {"type": "text", "text": "then?"}]}],
             "max_completion_tokens": 50, "temperature": 0.7, "top_p": 0.9, "seed": 3, "stop": ["\n\n", "END"]}
            """#)
        XCTAssertTrue(spoken.speaks)
        XCTAssertTrue(spoken.hearsAudio)
        XCTAssertEqual(spoken.voice, "nova")
        XCTAssertEqual(spoken.audioFormat, .mp3)
        XCTAssertEqual(spoken.messages.map(\.role), [.system, .user, .assistant, .user])
        XCTAssertEqual(spoken.messages[1].audio?.data, Data("RIFF-not-really-audio".utf8))
        XCTAssertEqual(spoken.messages[2].audioID, "audio_1")
        XCTAssertEqual(spoken.messages[3].text, "And\nthen?")
        XCTAssertEqual(spoken.maxTokens, 50)
        XCTAssertEqual(spoken.seed, 3)
        XCTAssertEqual(spoken.stop, ["\n\n", "END"])

        let streamed = try decode(
            #"{"model": "m", "stream": true, "stream_options": {"include_usage": true}, "modalities": ["audio"], "messages": [{"role": "user", "content": "Hi"}]}"#
        )
        XCTAssertEqual(streamed.audioFormat, .pcm16, "a streamed spoken reply is PCM16 by default")
        XCTAssertTrue(streamed.includeUsage)

        // Thinking: reasoning_effort other than none/minimal, or our boolean, which wins.
        let base = #""model": "m", "messages": [{"role": "user", "content": "Hi"}]"#
        XCTAssertTrue(try decode(#"{\#(base), "reasoning_effort": "low"}"#).thinking)
        XCTAssertFalse(try decode(#"{\#(base), "reasoning_effort": "minimal"}"#).thinking)
        XCTAssertFalse(try decode(#"{\#(base), "reasoning_effort": "high", "thinking": false}"#).thinking)
        XCTAssertTrue(try decode(#"{\#(base), "thinking": true}"#).thinking)
        XCTAssertEqual(try decode(#"{\#(base), "max_tokens": 7}"#).maxTokens, 7, "the older name")
        XCTAssertEqual(try decode(#"{\#(base), "stop": "x"}"#).stop, ["x"])
    }

    func testEachMalformedRequestIsA400NamingTheField() {
        let user = #"{"role": "user", "content": "Hi"}"#
        func body(_ messages: String, _ extra: String = "") -> String {
            #"{"model": "m", "messages": [\#(messages)]\#(extra)}"#
        }
        let cases: [(String, String?, String)] = [
            (#"{"model": "m"}"#, "messages", "Missing required parameter: 'messages'"),
            (body(""), "messages", "non-empty array"),
            (#"{"model": "m", "messages": {}}"#, "messages", "non-empty array"),
            (#"{"messages": [\#(user)]}"#, "model", "'model'"),
            (body(#"{"role": "tool", "content": "x"}, \#(user)"#), "messages[0].role", "got 'tool'"),
            (body(#"{"content": "x"}"#), "messages[0].role", "'messages[0].role'"),
            (body(#"\#(user), {"role": "assistant", "content": "Hello"}"#), "messages[1].role", "must be the user's"),
            (body(#"{"role": "user", "content": ""}"#), "messages[0].content", "empty"),
            (body(#"{"role": "user"}"#), "messages[0].content", "required"),
            (body(#"{"role": "user", "content": 5}"#), "messages[0].content", "got integer"),
            (body(#"{"role": "user", "content": "x", "tool_calls": []}"#), "messages[0].tool_calls", "Unrecognized"),
            (
                body(#"{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}"#),
                "messages[0].content[0].type", "got 'image_url'"
            ),
            (body(#"{"role": "user", "content": [{"text": "x"}]}"#), "messages[0].content[0].type", "got none"),
            (body(#"{"role": "user", "content": [{"type": "text"}]}"#), "messages[0].content[0].text", "required"),
            (
                body(
                    #"{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "@@@", "format": "wav"}}]}"#
                ),
                "messages[0].content[0].input_audio.data", "not valid base64"
            ),
            (
                body(#"{"role": "user", "content": [{"type": "input_audio", "input_audio": {"format": "wav"}}]}"#),
                "messages[0].content[0].input_audio.data", "required"
            ),
            (
                body(
                    #"{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "\#(Self.audio)", "format": "../x"}}]}"#
                ), "messages[0].content[0].input_audio.format", "short name"
            ),
            (
                body(
                    #"{"role": "assistant", "content": [{"type": "input_audio", "input_audio": {"data": "\#(Self.audio)"}}]}, \#(user)"#
                ), "messages[0].content[0].type", "only user messages"
            ),
            (body(#"{"role": "user", "content": "x", "audio": {"id": "a"}}"#), "messages[0].audio", "assistant"),
            (body(#"{"role": "assistant", "audio": {}}, \#(user)"#), "messages[0].audio.id", "required"),
            (body(user, #", "n": 2"#), "n", "must be 1"),
            (body(user, #", "modalities": ["image"]"#), "modalities", "\"text\" and \"audio\""),
            (body(user, #", "audio": {"voice": "nova"}"#), "audio", "'modalities'"),
            (body(user, #", "modalities": ["audio"], "audio": {"format": "ogg"}"#), "audio.format", "one of"),
            (
                body(user, #", "stream": true, "modalities": ["audio"], "audio": {"format": "wav"}"#),
                "audio.format", "pcm16"
            ),
            (body(user, #", "stream_options": {"include_usage": true}"#), "stream_options", "only allowed"),
            (body(user, #", "modalities": ["audio"], "reasoning_effort": "high""#), "reasoning_effort", "spoken"),
            (body(user, #", "reasoning_effort": "extreme""#), "reasoning_effort", "got 'extreme'"),
            (body(user, #", "thinking": "yes""#), "thinking", "must be a boolean"),
            (body(user, #", "max_tokens": 0"#), "max_completion_tokens", "at least 1"),
            (body(user, #", "temperature": 3"#), "temperature", "between 0 and 2"),
            (body(user, #", "top_p": 0"#), "top_p", "(0, 1]"),
            (body(user, #", "seed": -5"#), "seed", "2^53"),
            (body(user, #", "stop": ["a", "b", "c", "d", "e"]"#), "stop", "up to 4"),
            (body(user, #", "stop": [""]"#), "stop", "non-empty"),
            (body(user, #", "presence_penalty": 1"#), "presence_penalty", "not supported"),
            (body(user, #", "logprobs": true"#), "logprobs", "not supported"),
            (body(user, #", "tools": []"#), "tools", "Unrecognized"),
        ]
        for (json, param, message) in cases {
            do {
                _ = try decode(json)
                XCTFail("accepted: \(json)")
            } catch {
                XCTAssertEqual(error.status, .badRequest, json)
                XCTAssertEqual(error.param, param, json)
                XCTAssertTrue(error.message.contains(message), "\(json): \(error.message)")
            }
        }
    }

    func testReplyAudioIdsCarryTheirTranscriptAndTheCacheIsBoundedAndExpires() {
        let id = ReplyAudioCache.newID(transcript: "Hello, 世界? +/=")
        XCTAssertTrue(id.hasPrefix("audio_"))
        XCTAssertEqual(ReplyAudioCache.transcript(in: id), "Hello, 世界? +/=")
        XCTAssertNil(ReplyAudioCache.transcript(in: "msg_123"))

        let frames = LMAudio(frames: Array(repeating: Array(repeating: 0, count: 8), count: 4))
        let size = 4 * 8 * 8 + 2  // 4 frames × 8 channels × 8 bytes, and the transcript
        let cache = ReplyAudioCache(capacityBytes: 2 * size, lifetime: 60)
        let now = Date(timeIntervalSince1970: 1000)
        cache.store(frames, transcript: "aa", id: "a", now: now)
        cache.store(frames, transcript: "bb", id: "b", now: now)
        XCTAssertNotNil(cache.lookup("a", now: now))  // a is now the most recently used
        cache.store(frames, transcript: "cc", id: "c", now: now)
        XCTAssertNil(cache.lookup("b", now: now), "the least recently used goes first")
        XCTAssertEqual(cache.lookup("a", now: now)?.transcript, "aa")
        XCTAssertEqual(cache.count, 2)
        XCTAssertNil(cache.lookup("c", now: now.addingTimeInterval(61)), "expired")
        XCTAssertEqual(cache.count, 1)
    }
}
