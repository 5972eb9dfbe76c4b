import Foundation
import MiMoAudio
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `mimo-audio serve` over real HTTP on loopback, on the tiny fixtures.
final class ServeTests: CLITestCase {
    /// A running `serve`, stopped with SIGTERM.
    final class Server {
        let process = Process()
        let base: URL
        private let stderr = Pipe()

        init(binary: URL, arguments: [String], environment: [String: String]) throws {
            process.executableURL = binary
            process.arguments = ["serve", "--port", "0"] + arguments
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = stderr
            try process.run()
            // "listening on http://HOST:PORT" comes first, before the models load.
            var text = ""
            while !text.contains("listening on http://") || !text.hasSuffix("\n") {
                let byte = stderr.fileHandleForReading.readData(ofLength: 1)
                guard !byte.isEmpty else { break }
                text += String(decoding: byte, as: UTF8.self)
            }
            guard let line = text.split(separator: "\n").first(where: { $0.contains("listening on http://") }),
                let url = URL(string: String(line.split(separator: " ").last ?? ""))
            else {
                process.terminate()
                throw StandInFailure("serve did not start: \(text)")
            }
            base = url
            // The rest of stderr is drained so the server never blocks on it.
            let handle = stderr.fileHandleForReading
            DispatchQueue.global().async { _ = handle.readDataToEndOfFile() }
        }

        /// A test that does not stop its server leaves no process behind.
        deinit {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }

        /// SIGTERM, a graceful stop; a server still there 60 s later is killed, and its status
        /// (SIGKILL's 9) fails the caller's check instead of hanging the suite.
        func stop() -> Int32 {
            if process.isRunning {
                process.terminate()
                let deadline = Date().addingTimeInterval(60)
                while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                process.waitUntilExit()
            }
            return process.terminationStatus
        }

        struct Reply {
            let status: Int
            let headers: [String: String]
            let body: Data
            var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
            var error: [String: Any]? { json?["error"] as? [String: Any] }
        }

        func request(
            _ method: String, _ path: String, json: Any? = nil, body: Data? = nil, headers: [String: String] = [:]
        ) throws -> Reply {
            var request = URLRequest(url: base.appendingPathComponent(path))
            request.httpMethod = method
            request.timeoutInterval = 300
            if let json {
                request.httpBody = try JSONSerialization.data(withJSONObject: json)
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            if let body { request.httpBody = body }
            for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var reply: Result<Reply, Error> = .failure(StandInFailure("no reply"))
            URLSession.shared.dataTask(with: request) { data, response, error in
                if let error {
                    reply = .failure(error)
                } else if let http = response as? HTTPURLResponse {
                    var fields: [String: String] = [:]
                    for (key, value) in http.allHeaderFields { fields["\(key)".lowercased()] = "\(value)" }
                    reply = .success(Reply(status: http.statusCode, headers: fields, body: data ?? Data()))
                }
                done.signal()
            }.resume()
            done.wait()
            return try reply.get()
        }

        /// Waits until /health says the models are loaded.
        func waitUntilReady() throws {
            for _ in 0..<600 {
                if try request("GET", "health").status == 200 { return }
                Thread.sleep(forTimeInterval: 0.1)
            }
            throw StandInFailure("serve never became ready")
        }
    }

    struct StandInFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    var lm: String { Self.fixtures.appendingPathComponent("lm").path }

    /// `serve` on the fixtures, ready; responses end after `maxNewTokens` steps.
    func start(_ extra: [String] = [], maxNewTokens: Int = 6) throws -> Server {
        let server = try Server(
            binary: binary,
            arguments: ["--model", lm, "--audio-tokenizer", tokenizer, "--max-new-tokens", "\(maxNewTokens)"] + extra,
            environment: hubEnvironment)
        try server.waitUntilReady()
        return server
    }

    /// `serve` whose speech requests keep the engine busy: each runs `steps` cheap forced text
    /// steps (2,000 take 3.2 s, debug build), where the random model would mostly stop at once.
    func startBusy(_ extra: [String] = [], steps: Int) throws -> Server {
        try start(extra + ["--force-text-steps", String(steps)], maxNewTokens: steps)
    }

    /// A speech request (on a `startBusy` server, it runs its forced steps).
    var longSpeech: [String: Any] { speech(["response_format": "pcm"]) }

    func speech(_ fields: [String: Any]) -> [String: Any] {
        ["model": "tts-1", "input": "Hello there.", "voice": "alloy"].merging(fields) { $1 }
    }

    func testSpeechInEveryFormatIsAudioOfTheRightRate() throws {
        let server = try start()
        for format in ["mp3", "wav", "flac", "opus", "aac", "pcm"] {
            let reply = try server.request("POST", "v1/audio/speech", json: speech(["response_format": format]))
            XCTAssertEqual(reply.status, 200, "\(format): \(String(decoding: reply.body, as: UTF8.self))")
            XCTAssertFalse(reply.body.isEmpty, format)
            let file = scratch.appendingPathComponent("speech.\(format == "opus" ? "ogg" : format)")
            if format == "pcm" {
                XCTAssertEqual(reply.body.count % 2, 0, "16-bit samples")
                continue
            }
            try reply.body.write(to: file)
            let samples = try AudioInput.load(file, sampleRate: 24000)
            XCTAssertGreaterThan(samples.count, 0, format)
        }
        let wav = try server.request("POST", "v1/audio/speech", json: speech(["response_format": "wav"]))
        XCTAssertEqual(wav.headers["content-type"], "audio/wav")
        XCTAssertEqual(wav.body.prefix(4), Data("RIFF".utf8))
        XCTAssertEqual(wav.body.subdata(in: 24..<28), Data([0xC0, 0x5D, 0, 0]), "24000 Hz")
        // The same voice and text give the same audio (a seed derived from them).
        let again = try server.request("POST", "v1/audio/speech", json: speech(["response_format": "wav"]))
        XCTAssertEqual(again.body, wav.body)
        XCTAssertEqual(server.stop(), 0, "SIGTERM stops it cleanly")
    }

    func testStreamedAudioAndServerSentEvents() throws {
        let server = try start()
        let audio = try server.request(
            "POST", "v1/audio/speech", json: speech(["response_format": "wav", "stream_format": "audio"]))
        XCTAssertEqual(audio.status, 200)
        XCTAssertEqual(audio.body.prefix(4), Data("RIFF".utf8))
        let sse = try server.request(
            "POST", "v1/audio/speech", json: speech(["response_format": "pcm", "stream_format": "sse"]))
        XCTAssertEqual(sse.status, 200)
        XCTAssertEqual(sse.headers["content-type"], "text/event-stream")
        let events = String(decoding: sse.body, as: UTF8.self).components(separatedBy: "\n\n")
            .filter { $0.hasPrefix("data: ") }
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any] }
        XCTAssertEqual(events.last?["type"] as? String, "speech.audio.done")
        let usage = try XCTUnwrap(events.last?["usage"] as? [String: Any])
        XCTAssertGreaterThan(usage["input_tokens"] as? Int ?? 0, 0)
        for delta in events.dropLast() {
            XCTAssertEqual(delta["type"] as? String, "speech.audio.delta")
            XCTAssertNotNil(Data(base64Encoded: delta["audio"] as? String ?? "-"))
        }
    }

    func testModelsVoicesHealthAndErrorsInOpenAIsShape() throws {
        let server = try start()
        XCTAssertEqual(try server.request("GET", "health").json?["status"] as? String, "ok")
        let models = try server.request("GET", "v1/models")
        let ids = (models.json?["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
        XCTAssertEqual(ids.first, "lm")
        XCTAssertTrue(ids.contains("tts-1") && ids.contains("whisper-1"), "\(ids)")
        let voices = try server.request("GET", "v1/audio/voices")
        XCTAssertEqual((voices.json?["data"] as? [[String: Any]])?.count, 11)

        let cases: [([String: Any], Int, String?)] = [
            (speech(["voice": "bob"]), 400, "voice"),
            (speech(["model": "gpt-9"]), 404, "model"),
            (["model": "tts-1", "voice": "alloy"], 400, "input"),
            (speech(["input": String(repeating: "x", count: 4097)]), 400, "input"),
            (speech(["speed": 2]), 400, "speed"),
            (speech(["response_format": "ogg"]), 400, "response_format"),
        ]
        for (body, status, param) in cases {
            let reply = try server.request("POST", "v1/audio/speech", json: body)
            XCTAssertEqual(reply.status, status, "\(body)")
            XCTAssertEqual(reply.error?["param"] as? String, param, "\(body)")
            XCTAssertNotNil(reply.error?["message"] as? String)
        }
        let garbage = try server.request("POST", "v1/audio/speech", body: Data("{\"model\":".utf8))
        XCTAssertEqual(garbage.status, 400)
        XCTAssertEqual(garbage.error?["code"] as? String, "invalid_json")
    }

    func testTheAPIKeyGuardsV1ButNotHealth() throws {
        let server = try start(["--api-key", "sk-test"])
        XCTAssertEqual(try server.request("GET", "health").status, 200)
        let none = try server.request("GET", "v1/models")
        XCTAssertEqual(none.status, 401)
        XCTAssertEqual(none.error?["code"] as? String, "invalid_api_key")
        XCTAssertEqual(try server.request("GET", "v1/models", headers: ["Authorization": "Bearer sk-tesT"]).status, 401)
        XCTAssertEqual(try server.request("GET", "v1/models", headers: ["Authorization": "Bearer sk-test"]).status, 200)
    }
}

extension ServeTests {
    func upload(_ server: Server, file: URL, fields: [(String, String)]) throws -> Server.Reply {
        let boundary = "mimo-\(UUID().uuidString)"
        var body = Data()
        for (name, value) in fields {
            body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        body += Data(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(file.lastPathComponent)\"\r\n\r\n"
                .utf8)
        body += try Data(contentsOf: file) + Data("\r\n--\(boundary)--\r\n".utf8)
        return try server.request(
            "POST", "v1/audio/transcriptions", body: body,
            headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"])
    }

    func testTranscriptionsInEveryFormatAndStreamed() throws {
        let server = try start()
        let wav = Self.fixtures.appendingPathComponent("test_audio.wav")
        let json = try upload(server, file: wav, fields: [("model", "whisper-1")])
        XCTAssertEqual(json.status, 200, String(decoding: json.body, as: UTF8.self))
        let text = try XCTUnwrap(json.json?["text"] as? String)
        // The same audio gives the same transcript in every format (fixed instruction, seed 0).
        let plain = try upload(server, file: wav, fields: [("model", "whisper-1"), ("response_format", "text")])
        XCTAssertEqual(String(decoding: plain.body, as: UTF8.self), text + "\n")
        let verbose = try upload(
            server, file: wav, fields: [("model", "gpt-4o-transcribe"), ("response_format", "verbose_json")])
        XCTAssertEqual(verbose.json?["text"] as? String, text)
        let duration = try XCTUnwrap(verbose.json?["duration"] as? Double)
        XCTAssertGreaterThan(duration, 0.5)
        let segments = try XCTUnwrap(verbose.json?["segments"] as? [[String: Any]])
        XCTAssertEqual(segments.first?["end"] as? Double, duration)
        let srt = try upload(server, file: wav, fields: [("model", "whisper-1"), ("response_format", "srt")])
        XCTAssertTrue(String(decoding: srt.body, as: UTF8.self).hasPrefix("1\n00:00:00,000 --> "))
        let vtt = try upload(server, file: wav, fields: [("model", "whisper-1"), ("response_format", "vtt")])
        XCTAssertTrue(String(decoding: vtt.body, as: UTF8.self).hasPrefix("WEBVTT\n\n00:00:00.000 --> "))
        // Any format the CLI reads.
        let flac = try upload(
            server, file: Self.fixtures.appendingPathComponent("formats/test_audio.flac"),
            fields: [("model", "whisper-1")])
        XCTAssertEqual(flac.status, 200)

        let streamed = try upload(server, file: wav, fields: [("model", "whisper-1"), ("stream", "true")])
        XCTAssertEqual(streamed.headers["content-type"], "text/event-stream")
        let events = String(decoding: streamed.body, as: UTF8.self).components(separatedBy: "\n\n")
            .filter { $0.hasPrefix("data: ") }
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any] }
        XCTAssertEqual(events.last?["type"] as? String, "transcript.text.done")
        XCTAssertEqual(events.last?["text"] as? String, text)
        XCTAssertNotNil((events.last?["usage"] as? [String: Any])?["input_tokens"])

        let garbage = scratch.appendingPathComponent("notes.wav")
        try Data("this is not audio at all".utf8).write(to: garbage)
        let bad = try upload(server, file: garbage, fields: [("model", "whisper-1")])
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(bad.error?["param"] as? String, "file")
        XCTAssertFalse((bad.error?["message"] as? String ?? "").contains("mimo-upload"), "no server paths leak")
        let unknown = try upload(server, file: wav, fields: [("model", "gpt-9")])
        XCTAssertEqual(unknown.status, 404)
    }
}

extension ServeTests {
    func testAFullQueueIsA429WithRetryAfter() throws {
        // Generations of about a second and no room to wait.
        let server = try startBusy(["--max-queue", "0"], steps: 600)
        let body = longSpeech
        let replies = Locked<[Server.Reply]>([])
        DispatchQueue.concurrentPerform(iterations: 3) { _ in
            if let reply = try? server.request("POST", "v1/audio/speech", json: body) {
                replies.mutate { $0.append(reply) }
            }
        }
        let statuses = replies.value.map(\.status).sorted()
        XCTAssertEqual(statuses.count, 3)
        XCTAssertEqual(statuses.first, 200, "\(statuses)")
        let busy = try XCTUnwrap(replies.value.first { $0.status == 429 }, "\(statuses)")
        XCTAssertEqual(busy.headers["retry-after"], "1")
        XCTAssertEqual(busy.error?["type"] as? String, "rate_limit_error")
        XCTAssertEqual(server.stop(), 0)
    }
}

final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
    func mutate(_ body: (inout Value) -> Void) {
        lock.lock()
        body(&stored)
        lock.unlock()
    }
}

extension ServeTests {
    /// The official `openai` Python client (PyPI) against `serve`: Tests/ServerClient/openai_check.py.
    func testTheOpenAIPythonClient() throws {
        let server = try start(["--api-key", "sk-check"], maxNewTokens: 12)
        let script = Self.fixtures.deletingLastPathComponent().appendingPathComponent("ServerClient/openai_check.py")
        let run = try runTool([
            "python3", script.path, server.base.appendingPathComponent("v1").absoluteString, "sk-check",
            Self.fixtures.appendingPathComponent("test_audio.wav").path,
        ])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("all checks passed"), run.output)
        XCTAssertEqual(server.stop(), 0)
    }
}

extension ServeTests {
    func testSIGTERMRefusesNewRequestsLetsTheRunningOneFinishThenExitsZero() throws {
        let server = try startBusy(steps: 3000)
        let reply = Locked<Server.Reply?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let r = try? server.request("POST", "v1/audio/speech", json: self.longSpeech)
            reply.mutate { $0 = r }
            done.signal()
        }
        // The request is generating: 3,000 forced steps take ~4 s in a debug build (1,000 were
        // sometimes over before the checks below had run).
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertTrue(server.process.isRunning)
        kill(server.process.processIdentifier, SIGTERM)
        // While it drains, the server still listens and says it is going away.
        Thread.sleep(forTimeInterval: 0.1)
        let refused = try server.request("POST", "v1/audio/speech", json: speech(["response_format": "pcm"]))
        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(refused.error?["message"] as? String, "The server is shutting down.")
        XCTAssertEqual(try server.request("GET", "health").status, 503)
        done.wait()
        XCTAssertEqual(reply.value?.status, 200, "the running request finishes")
        XCTAssertGreaterThan(reply.value?.body.count ?? 0, 0)
        server.process.waitUntilExit()
        XCTAssertEqual(server.process.terminationStatus, 0)
        XCTAssertEqual(server.process.terminationReason, .exit)
    }
}

extension ServeTests {
    /// Sends a request on a raw connection and closes it after `seconds`, without reading.
    func sendAndHangUp(_ server: Server, path: String, json: [String: Any], after seconds: Double) throws {
        let body = try JSONSerialization.data(withJSONObject: json)
        let head =
            "POST /\(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(server.base.port ?? 0).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssertEqual(connected, 0)
        let request = Data(head.utf8) + body
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        Thread.sleep(forTimeInterval: seconds)
        close(fd)
    }

    /// A client that hangs up stops its generation: with no room to wait (`--max-queue 0`), the
    /// next request finds the engine idle (200) only if the abandoned one was cancelled; had it run
    /// on (≈ 1 s here), the next would be refused (429).
    func testAClientThatHangsUpCancelsItsGeneration() throws {
        let server = try startBusy(["--max-queue", "0"], steps: 2000)
        // Whole, streamed audio and events: the streamed ones leave while their body is written.
        for mode in [nil, "audio", "sse"] {
            var request = longSpeech
            request["stream_format"] = mode
            try sendAndHangUp(server, path: "v1/audio/speech", json: request, after: 0.3)
            // The engine is free again well within 1.5 s (one prefill chunk or decode step after
            // the hang-up), while the abandoned generation alone would run ~3 s.
            var status = 0
            for _ in 0..<15 where status != 200 {
                status = try server.request("POST", "v1/audio/speech", json: speech(["response_format": "pcm"])).status
                if status != 200 { Thread.sleep(forTimeInterval: 0.1) }
            }
            XCTAssertEqual(status, 200, "the abandoned generation (\(mode ?? "whole")) still held the engine")
        }
        // The control: a long request that is still running makes the next one a 429.
        let running = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = try? server.request("POST", "v1/audio/speech", json: self.longSpeech)
            running.signal()
        }
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(
            try server.request("POST", "v1/audio/speech", json: speech(["response_format": "pcm"])).status, 429)
        // Streamed requests are refused the same way, before any byte of a 200.
        for mode in ["audio", "sse"] {
            let streamed = try server.request(
                "POST", "v1/audio/speech", json: speech(["response_format": "pcm", "stream_format": mode]))
            XCTAssertEqual(streamed.status, 429, mode)
            XCTAssertEqual(streamed.error?["code"] as? String, "queue_full", mode)
        }
        running.wait()
        XCTAssertEqual(server.stop(), 0)
    }
}

extension ServeTests {
    func testCORSForTheListedOriginsAndTheBodyLimit() throws {
        let server = try start(["--cors-origin", "http://webui.local"])
        let preflight = try server.request(
            "OPTIONS", "v1/audio/speech",
            headers: ["Origin": "http://webui.local", "Access-Control-Request-Method": "POST"])
        XCTAssertEqual(preflight.status, 204)
        XCTAssertEqual(preflight.headers["access-control-allow-origin"], "http://webui.local")
        XCTAssertTrue(preflight.headers["access-control-allow-headers"]?.contains("Authorization") == true)
        let allowed = try server.request("GET", "v1/models", headers: ["Origin": "http://webui.local"])
        XCTAssertEqual(allowed.headers["access-control-allow-origin"], "http://webui.local")
        let other = try server.request("GET", "v1/models", headers: ["Origin": "http://evil.example"])
        XCTAssertEqual(other.status, 200)
        XCTAssertNil(other.headers["access-control-allow-origin"], "no CORS for an origin not listed")

        // 25 MB is the most a body may be (OpenAI's upload limit); more is a 413 in OpenAI's shape.
        let big = Data(repeating: UInt8(ascii: " "), count: (25 << 20) + 1)
        let tooLarge = try server.request("POST", "v1/audio/speech", body: big)
        XCTAssertEqual(tooLarge.status, 413)
        XCTAssertEqual(tooLarge.error?["code"] as? String, "request_too_large")
    }
}
