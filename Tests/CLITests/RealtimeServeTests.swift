import Foundation
import TestSupport
import XCTest

/// `/v1/realtime` over a real WebSocket (`Tests/ServerClient/realtime_check.py`, the `websockets`
/// package): the key, session updates in GA and beta shapes, every client event, malformed and
/// out-of-order events answered with `error`, spoken turns with the history reused from the cache,
/// a cancel that stops the audio (at most the delta in flight after it), a truncate, turns taken
/// by the server VAD on espeak-ng speech with a pause and a barge-in over a reply, two sessions.
extension ServeTests {
    func testRealtimeSessionsOverAWebSocket() throws {
        // The random model would often stop at once: its responses begin with 30 speech steps.
        let server = try start(["--force-speech-steps", "30", "--api-key", "k"], maxNewTokens: 60)
        let script = Self.fixtures.deletingLastPathComponent().appendingPathComponent("ServerClient/realtime_check.py")
        let url = "ws://127.0.0.1:\(server.base.port!)/v1/realtime"
        let run = try runTool([
            "python3", script.path, url, "k", Self.fixtures.appendingPathComponent("test_audio.wav").path,
            Self.fixtures.deletingLastPathComponent().appendingPathComponent("VADTests/Fixtures/speech_24k.wav").path,
        ])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("all checks passed"), run.output)
        XCTAssertEqual(server.stop(), 0)
    }
}
