import Foundation
import TestSupport
import XCTest

@testable import MiMoAudio

/// OpenAI's `stop` strings: the answer ends before the first one, in the events and the result,
/// and generation stops after the step that completed it.
final class StopTextTests: XCTestCase {
    func testTextThatMightBeginAStopIsHeldBackUntilItIsNot() {
        var stops = StopTexts(["lo!", "END"])
        XCTAssertEqual(stops.push("Hel"), "He", "'l' may begin 'lo!'")
        XCTAssertEqual(stops.push("p E"), "lp ", "'E' may begin 'END'")
        XCTAssertEqual(stops.push("Nx"), "ENx")
        XCTAssertFalse(stops.stopped)
        XCTAssertEqual(stops.push(" hello! more"), " hel")
        XCTAssertTrue(stops.stopped)
        XCTAssertEqual(stops.push("after"), "")
        XCTAssertEqual(stops.finish(), "")

        var open = StopTexts(["abc"])
        XCTAssertEqual(open.push("xab"), "x")
        XCTAssertEqual(open.finish(), "ab", "held text comes out at the end")
        XCTAssertEqual(StopTexts(["b", "ab"]).cut("xxabb"), "xx", "the earliest stop wins")
        var none = StopTexts([])
        XCTAssertEqual(none.push("anything"), "anything")
    }

    func testGenerationEndsAtAStopStringFromTheAnswer() async throws {
        let engine = Engine(pipeline: TinyModels.pipeline, options: EngineOptions(prefixCacheBytes: 0))
        func run(_ stops: [String]) async throws -> Collected {
            var request = TaskRequest(.textDialogue([.user("Hello there")]), seed: 5, maxNewTokens: 24)
            request.stopTexts = stops
            return try await collect(engine, request)
        }
        let free = try await run([])
        let text = free.text
        // A stop string from the middle of what the model says unstopped (the same seed gives
        // the same text up to it).
        let chars = Array(text)
        XCTAssertGreaterThanOrEqual(chars.count, 4, "the random model said too little with this seed: \(text)")
        let stop = String(chars[(chars.count / 2)...].prefix(2))
        let before = String(text[..<text.range(of: stop)!.lowerBound])
        let stopped = try await run([stop])
        XCTAssertEqual(stopped.text, before)
        let result = try XCTUnwrap(stopped.result)
        XCTAssertEqual(result.stopReason, .stopRequested)
        XCTAssertFalse(result.answer.contains(stop))
        XCTAssertLessThan(result.usage.generatedGroups, try XCTUnwrap(free.result).usage.generatedGroups)
    }
}
