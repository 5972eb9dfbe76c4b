import Foundation
import TestSupport
import XCTest

/// `GET /metrics` on the real `serve`: every documented metric, and values that move with requests.
extension ServeTests {
    /// Sample lines of the Prometheus text, by name with labels (`name{a="b"}`).
    func scrape(_ server: Server) throws -> [String: Double] {
        let reply = try server.request("GET", "metrics")
        XCTAssertEqual(reply.status, 200)
        XCTAssertTrue(reply.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") ?? false)
        var samples: [String: Double] = [:]
        for line in String(decoding: reply.body, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                XCTFail("not a sample line: \(line)")
                continue
            }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    static let documentedMetrics = [
        "mimo_audio_requests_running", "mimo_audio_requests_waiting", "mimo_audio_queue_time_seconds_count",
        "mimo_audio_prompt_tokens_total", "mimo_audio_generation_tokens_total",
        "mimo_audio_audio_input_seconds_total", "mimo_audio_audio_output_seconds_total",
        "mimo_audio_speech_real_time_factor_count", "mimo_audio_model_load_seconds",
        "mimo_audio_prefix_cache_hits_total", "mimo_audio_prefix_cache_hit_tokens_total",
        "mimo_audio_prefix_cache_bytes",
    ]

    func testMetricsArePrometheusTextAndMoveWithRequests() throws {
        let server = try startBusy(["--api-key", "sk-m"], steps: 2000)
        let before = try scrape(server)  // no key needed
        for name in Self.documentedMetrics { XCTAssertNotNil(before[name], name) }
        XCTAssertGreaterThan(before["mimo_audio_model_load_seconds"] ?? 0, 0)
        XCTAssertEqual(before["mimo_audio_requests_running"], 0)

        // While a long generation runs, the running gauge says so.
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = try? server.request("POST", "v1/audio/speech", json: self.longSpeech, headers: self.key)
            done.signal()
        }
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(try scrape(server)["mimo_audio_requests_running"], 1)
        done.wait()

        let chat = try server.request(
            "POST", "v1/chat/completions",
            json: ["model": "tts-1", "messages": [["role": "user", "content": "Hi"]], "max_tokens": 4], headers: key)
        XCTAssertEqual(chat.status, 200)
        XCTAssertEqual(try server.request("POST", "v1/chat/completions", json: [:]).status, 401)
        let after = try scrape(server)
        XCTAssertEqual(after["mimo_audio_requests_running"], 0)
        XCTAssertEqual(after["mimo_audio_requests_waiting"], 0)
        XCTAssertEqual(after[#"mimo_audio_requests_total{endpoint="/v1/audio/speech",status="200"}"#], 1)
        XCTAssertEqual(after[#"mimo_audio_requests_total{endpoint="/v1/chat/completions",status="200"}"#], 1)
        XCTAssertEqual(after[#"mimo_audio_requests_total{endpoint="/v1/chat/completions",status="401"}"#], 1)
        XCTAssertEqual(after[#"mimo_audio_request_duration_seconds_count{endpoint="/v1/audio/speech"}"#], 1)
        XCTAssertEqual(after[#"mimo_audio_time_to_first_token_seconds_count{endpoint="/v1/chat/completions"}"#], 1)
        XCTAssertEqual(after[#"mimo_audio_time_to_first_audio_seconds_count{endpoint="/v1/audio/speech"}"#], 1)
        XCTAssertEqual(after["mimo_audio_queue_time_seconds_count"], 2)
        XCTAssertGreaterThan(after["mimo_audio_prompt_tokens_total"] ?? 0, 0)
        XCTAssertGreaterThan(after["mimo_audio_generation_tokens_total"] ?? 0, 0)
        XCTAssertGreaterThan(after["mimo_audio_audio_output_seconds_total"] ?? 0, 0)
        XCTAssertGreaterThanOrEqual(after["mimo_audio_speech_real_time_factor_count"] ?? 0, 1)
        XCTAssertGreaterThan(after["mimo_audio_prefix_cache_bytes"] ?? 0, 0)
        XCTAssertEqual(server.stop(), 0)
    }

    var key: [String: String] { ["Authorization": "Bearer sk-m"] }
}

extension ServeTests {
    /// 64 clients for 15 s against a server with room for 4 waiting requests: every answer is
    /// 200, 429 or 503, `/health` answers throughout, hung-up work is freed (the running and
    /// waiting gauges return to 0). `Tests/ServerClient/load_test.py` does the checking.
    func testLoadOf64ClientsIsAnsweredAndFreed() throws {
        let server = try start(["--max-queue", "4"], maxNewTokens: 40)
        let script = Self.fixtures.deletingLastPathComponent().appendingPathComponent("ServerClient/load_test.py")
        let run = try runTool([
            "python3", script.path, server.base.absoluteString, String(server.process.processIdentifier),
            Self.fixtures.appendingPathComponent("test_audio.wav").path, "--clients", "64", "--seconds", "15",
        ])
        print(run.output)
        XCTAssertEqual(run.status, 0, run.output)
        let summary = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any], run.output)
        XCTAssertGreaterThan(summary["answered"] as? Int ?? 0, 100)
        // Measured 122 MB (debug build, tiny fixtures, ~800 requests); a third of a gigabyte
        // leaves room for the machine's variation, not for per-request growth over ~800 requests.
        XCTAssertLessThan(summary["peak_rss_mb"] as? Int ?? .max, 350)
        XCTAssertEqual(server.stop(), 0)
    }
}
