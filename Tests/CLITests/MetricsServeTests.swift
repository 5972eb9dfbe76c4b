import Foundation
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
        let server = try start(["--api-key", "sk-m"], maxNewTokens: 2000)
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
