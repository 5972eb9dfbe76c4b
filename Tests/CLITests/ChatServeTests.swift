import Foundation
import MiMoAudio
import XCTest

/// `POST /v1/chat/completions` over HTTP on the real `serve` with the tiny fixtures.
extension ServeTests {
    func chat(_ server: Server, _ fields: [String: Any]) throws -> Server.Reply {
        try server.request(
            "POST", "v1/chat/completions", json: ["model": "gpt-4o-audio-preview"].merging(fields) { $1 })
    }

    var audioPart: [String: Any] {
        let wav = try! Data(contentsOf: Self.fixtures.appendingPathComponent("test_audio.wav"))
        return ["type": "input_audio", "input_audio": ["data": wav.base64EncodedString(), "format": "wav"]]
    }

    func message(_ reply: Server.Reply) -> [String: Any] {
        ((reply.json?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any]) ?? [:]
    }

    func usage(_ reply: Server.Reply) -> [String: Any] { reply.json?["usage"] as? [String: Any] ?? [:] }

    func testTextChatAndThePrefixCacheOnTheSecondTurn() throws {
        let server = try start(maxNewTokens: 8)
        let first = [["role": "user", "content": "Hello there"]]
        let one = try chat(server, ["messages": first, "seed": 1])
        XCTAssertEqual(one.status, 200, String(decoding: one.body, as: UTF8.self))
        XCTAssertEqual(one.json?["object"] as? String, "chat.completion")
        let choice = try XCTUnwrap((one.json?["choices"] as? [[String: Any]])?.first)
        XCTAssertTrue(["stop", "length"].contains(choice["finish_reason"] as? String))
        XCTAssertEqual(message(one)["role"] as? String, "assistant")
        let answer = try XCTUnwrap(message(one)["content"] as? String)
        XCTAssertNil(message(one)["reasoning_content"], "no thinking asked, none returned")
        let promptTokens = try XCTUnwrap(usage(one)["prompt_tokens"] as? Int)
        XCTAssertEqual(
            usage(one)["total_tokens"] as? Int, promptTokens + (usage(one)["completion_tokens"] as? Int ?? -1))

        // The client resends the history: the engine's prefix cache has all of turn 1's prompt
        // but its think-off block (a few tokens turn 2's history does not repeat).
        let two = try chat(
            server,
            [
                "messages": first + [
                    ["role": "assistant", "content": answer], ["role": "user", "content": "And then?"],
                ],
                "seed": 1,
            ])
        XCTAssertEqual(two.status, 200)
        let cached = try XCTUnwrap((usage(two)["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int)
        XCTAssertGreaterThanOrEqual(cached, promptTokens - 8)
        XCTAssertLessThan(cached, usage(two)["prompt_tokens"] as? Int ?? 0)
        XCTAssertEqual(server.stop(), 0)
    }

    func testAudioQuestionsThinkApartAndSpokenRepliesAreRememberedByID() throws {
        let server = try start(maxNewTokens: 12)
        let heard = try chat(
            server,
            [
                "messages": [["role": "user", "content": [audioPart, ["type": "text", "text": "What is said?"]]]],
                "thinking": true,
            ])
        XCTAssertEqual(heard.status, 200, String(decoding: heard.body, as: UTF8.self))
        let thinking = try XCTUnwrap(message(heard)["reasoning_content"] as? String)
        XCTAssertFalse((message(heard)["content"] as? String ?? "</think>").contains("</think>"))
        XCTAssertFalse(thinking.contains("</think>"))
        XCTAssertGreaterThan(usage(heard)["audio_seconds_in"] as? Double ?? 0, 1)

        // A spoken reply: 24 kHz WAV, an id, its transcript.
        let firstTurn: [[String: Any]] = [["role": "user", "content": [audioPart]]]
        let spoken = try chat(
            server,
            [
                "modalities": ["text", "audio"], "audio": ["voice": "alloy", "format": "wav"], "messages": firstTurn,
                "seed": 4,
            ])
        XCTAssertEqual(spoken.status, 200, String(decoding: spoken.body, as: UTF8.self))
        let audio = try XCTUnwrap(message(spoken)["audio"] as? [String: Any])
        let wav = try XCTUnwrap(Data(base64Encoded: audio["data"] as? String ?? ""))
        XCTAssertEqual(wav.prefix(4), Data("RIFF".utf8))
        XCTAssertEqual(wav.subdata(in: 24..<28), Data([0xC0, 0x5D, 0, 0]), "24000 Hz")
        XCTAssertEqual(audio["transcript"] as? String, message(spoken)["content"] as? String)
        XCTAssertGreaterThan(audio["expires_at"] as? Int ?? 0, Int(Date().timeIntervalSince1970))
        let id = try XCTUnwrap(audio["id"] as? String)
        // The other reply formats decode too (PCM16: raw 16-bit samples).
        for format in ["mp3", "flac", "opus", "pcm16"] {
            let reply = try chat(
                server,
                [
                    "modalities": ["text", "audio"], "audio": ["voice": "alloy", "format": format],
                    "messages": firstTurn, "seed": 4,
                ])
            let data = try XCTUnwrap(
                Data(base64Encoded: (message(reply)["audio"] as? [String: Any])?["data"] as? String ?? ""))
            if format == "pcm16" {
                XCTAssertEqual(data.count % 2, 0)
                XCTAssertGreaterThan(data.count, 0)
                continue
            }
            let file = scratch.appendingPathComponent("reply.\(format == "opus" ? "ogg" : format)")
            try data.write(to: file)
            XCTAssertGreaterThan(try AudioInput.load(file, sampleRate: 24000).count, 0, format)
        }

        // Turn 2 names the reply by id: this replica has its codes, so the reply is given as the
        // speech it was; an id it does not know (another replica's, or expired) falls back to the
        // transcript the id carries, as text: a shorter prompt, still a 200.
        func secondTurn(_ id: String) throws -> Server.Reply {
            try chat(
                server,
                [
                    "modalities": ["text", "audio"],
                    "messages": firstTurn + [
                        ["role": "assistant", "audio": ["id": id]], ["role": "user", "content": "And?"],
                    ],
                ])
        }
        let known = try secondTurn(id)
        XCTAssertEqual(known.status, 200, String(decoding: known.body, as: UTF8.self))
        let foreign = "audio_" + String(repeating: "0", count: 32) + id[id.firstIndex(of: ".")!...]
        let fallback = try secondTurn(foreign)
        XCTAssertEqual(fallback.status, 200)
        XCTAssertGreaterThan(
            usage(known)["prompt_tokens"] as? Int ?? 0, usage(fallback)["prompt_tokens"] as? Int ?? .max,
            "the kept reply's speech makes the prompt longer than its transcript alone")
        XCTAssertEqual(server.stop(), 0)
    }

    func testStreamedChunksComeInOrder() throws {
        let server = try start(maxNewTokens: 12)
        for speaks in [false, true] {
            var request: [String: Any] = [
                "messages": [["role": "user", "content": [audioPart]]], "stream": true,
                "stream_options": ["include_usage": true], "seed": 4,
            ]
            if speaks { request["modalities"] = ["text", "audio"] }
            let reply = try chat(server, request)
            XCTAssertEqual(reply.status, 200)
            XCTAssertEqual(reply.headers["content-type"], "text/event-stream")
            let body = String(decoding: reply.body, as: UTF8.self)
            XCTAssertTrue(body.hasSuffix("data: [DONE]\n\n"))
            let chunks = body.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }
                .compactMap { try? JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any] }
            XCTAssertGreaterThanOrEqual(chunks.count, 3)
            for chunk in chunks { XCTAssertEqual(chunk["object"] as? String, "chat.completion.chunk") }
            func choice(_ chunk: [String: Any]) -> [String: Any] {
                (chunk["choices"] as? [[String: Any]])?.first ?? [:]
            }
            XCTAssertEqual((choice(chunks[0])["delta"] as? [String: Any])?["role"] as? String, "assistant")
            XCTAssertNotNil(chunks.last?["usage"] as? [String: Any], "the usage chunk last")
            XCTAssertEqual((chunks.last?["choices"] as? [Any])?.count, 0)
            let final = chunks[chunks.count - 2]
            XCTAssertTrue(["stop", "length"].contains(choice(final)["finish_reason"] as? String))
            for chunk in chunks.dropLast(2) { XCTAssertTrue(choice(chunk)["finish_reason"] is NSNull) }
            let audio = chunks.compactMap { (choice($0)["delta"] as? [String: Any])?["audio"] as? [String: Any] }
            let pcm = audio.compactMap { $0["data"] as? String }.compactMap { Data(base64Encoded: $0) }
            if speaks {
                XCTAssertGreaterThan(pcm.reduce(0) { $0 + $1.count }, 0, "speech as PCM16 deltas")
                XCTAssertNotNil(((choice(final)["delta"] as? [String: Any])?["audio"] as? [String: Any])?["id"])
            } else {
                XCTAssertTrue(audio.isEmpty)
            }
        }
        XCTAssertEqual(server.stop(), 0)
    }

    func testMalformedChatRequestsAre4xxNamingTheField() throws {
        let server = try start()
        let user = ["role": "user", "content": "Hi"]
        let cases: [([String: Any], Int, String?)] = [
            (["messages": [user], "model": "gpt-5"], 404, "model"),
            (["messages": [[String: Any]]()], 400, "messages"),
            (["messages": [user, ["role": "assistant", "content": "x"]]], 400, "messages[1].role"),
            (["messages": [["role": "narrator", "content": "x"]]], 400, "messages[0].role"),
            (
                ["messages": [["role": "user", "content": [["type": "video", "video": "x"]]]]], 400,
                "messages[0].content[0].type"
            ),
            (
                [
                    "messages": [
                        ["role": "user", "content": [["type": "input_audio", "input_audio": ["data": "%%%"]]]]
                    ]
                ], 400, "messages[0].content[0].input_audio.data"
            ),
            (
                [
                    "messages": [
                        [
                            "role": "user",
                            "content": [
                                [
                                    "type": "input_audio",
                                    "input_audio": ["data": Data("noise".utf8).base64EncodedString()],
                                ]
                            ],
                        ]
                    ]
                ], 400, "messages[0].content.input_audio.data"
            ),
            (["messages": [user], "n": 3], 400, "n"),
            (["messages": [user], "modalities": ["audio"], "audio": ["voice": "bob"]], 400, "voice"),
        ]
        for (fields, status, param) in cases {
            let reply = try chat(server, fields)
            XCTAssertEqual(reply.status, status, "\(fields): \(String(decoding: reply.body, as: UTF8.self))")
            XCTAssertEqual(reply.error?["param"] as? String, param, "\(fields)")
            XCTAssertFalse((reply.error?["message"] as? String ?? "").isEmpty)
        }
        XCTAssertEqual(server.stop(), 0)
    }
}
