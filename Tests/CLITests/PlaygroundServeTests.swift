import Foundation
import TestSupport
import XCTest

/// The web playground `serve` ships at `/`, checked byte for byte against `Playground/`, and
/// driven in Debian's headless Chromium by `Tests/Playground/playground_check.py` (Selenium):
/// every tab against the server's own answers, the voice chat over the realtime endpoint with a
/// barge-in, from a fake microphone playing espeak-ng speech.
extension ServeTests {
    var repository: URL { Self.fixtures.deletingLastPathComponent().deletingLastPathComponent() }

    func testThePlaygroundIsServedAsInTheRepositoryAndCanBeTurnedOff() throws {
        let server = try start(["--api-key", "k"])
        for (path, file, type) in [
            ("", "index.html", "text/html"), ("app.js", "app.js", "text/javascript"),
            ("style.css", "style.css", "text/css"),
        ] {
            // No key needed to load the page; the page sends the key with its API calls.
            let reply = try server.request("GET", path)
            XCTAssertEqual(reply.status, 200, path)
            XCTAssertEqual(
                reply.body, try Data(contentsOf: repository.appendingPathComponent("Playground/\(file)")), path)
            XCTAssertEqual(reply.headers["content-type"], "\(type); charset=utf-8")
            XCTAssertTrue(reply.headers["content-security-policy"]?.hasPrefix("default-src 'self';") ?? false)
        }
        XCTAssertEqual(try server.request("GET", "v1/models").status, 401)
        XCTAssertEqual(server.stop(), 0)

        let bare = try start(["--no-playground"])
        XCTAssertEqual(try bare.request("GET", "").status, 404)
        XCTAssertEqual(try bare.request("GET", "app.js").status, 404)
        XCTAssertEqual(bare.stop(), 0)
    }

    func testEveryPlaygroundTabWorksInChromium() throws {
        // Spoken replies begin with 30 forced speech steps: the random model would often stay silent.
        let server = try start(["--force-speech-steps", "30", "--api-key", "k"], maxNewTokens: 60)
        // docs/images/playground-*.png are these, copied by hand.
        let shots = repository.appendingPathComponent(".build/playground-screenshots")
        let run = try runTool([
            "python3", repository.appendingPathComponent("Tests/Playground/playground_check.py").path,
            "http://127.0.0.1:\(server.base.port!)", "k",
            repository.appendingPathComponent("Tests/VADTests/Fixtures/speech_24k.wav").path, shots.path,
        ])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("all passed"), run.output)
        XCTAssertEqual(server.stop(), 0)
    }
}
