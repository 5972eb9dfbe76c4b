import Foundation
import MiMoAudio
import TestSupport
import XCTest

/// The tiny fixtures loaded once for every engine test (an engine per test, sharing them).
enum TinyModels {
    static let pipeline: Pipeline = try! Pipeline(
        model: Fixtures.url("lm"), audioTokenizer: Fixtures.tokenizerDirectory,
        compute: Compute(threads: 2))
    static let testAudio: AudioSource = .samples(
        try! AudioInput.load(Fixtures.url("test_audio.wav"), sampleRate: 24000))
    static let clip2: AudioSource = .samples(try! AudioInput.load(Fixtures.url("tasks/clip2.wav"), sampleRate: 24000))
    static let generationGoldens = try! Fixtures.goldens("generation_goldens.safetensors")
}

/// A run's events, in order, and its result.
struct Collected {
    var events: [TaskEvent] = []
    var result: TaskResult?

    var text: String { events.map { if case .text(let t) = $0 { return t } else { return "" } }.joined() }
    var thinking: String { events.map { if case .thinking(let t) = $0 { return t } else { return "" } }.joined() }
    var audio: [[Float]] { events.compactMap { if case .audio(let a) = $0 { return a } else { return nil } } }
    var warnings: [String] { events.compactMap { if case .warning(let w) = $0 { return w } else { return nil } } }
}

func collect(_ engine: Engine, _ request: TaskRequest) async throws -> Collected {
    var c = Collected()
    for try await event in engine.run(request) {
        XCTAssertNil(c.result, "an event after finished")
        if case .finished(let r) = event { c.result = r }
        c.events.append(event)
    }
    return c
}

/// Records what an engine reports through its trace, from the executor's thread.
final class TraceRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var traces: [EngineTrace] = []
    private let ended = DispatchSemaphore(value: 0)
    /// Called with each trace once it is recorded (e.g. to slow the executor down).
    let hook: (@Sendable (EngineTrace) -> Void)?

    init(hook: (@Sendable (EngineTrace) -> Void)? = nil) { self.hook = hook }

    var options: EngineOptions {
        var o = EngineOptions()
        o.trace = { [self] trace in
            lock.lock()
            traces.append(trace)
            lock.unlock()
            hook?(trace)
            if case .ended = trace { ended.signal() }
        }
        return o
    }

    var all: [EngineTrace] {
        lock.lock()
        defer { lock.unlock() }
        return traces
    }

    /// Waits until `count` requests have ended (their state freed).
    func waitForEnds(_ count: Int, file: StaticString = #filePath, line: UInt = #line) {
        for _ in 0..<count {
            XCTAssertEqual(ended.wait(timeout: .now() + 60), .success, "a request never ended", file: file, line: line)
        }
    }
}

/// Polls `condition` every millisecond; fails after `seconds` instead of hanging the suite.
func waitUntil(
    _ what: String, seconds: Double = 30, file: StaticString = #filePath, line: UInt = #line, _ condition: () -> Bool
) {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        guard Date() < deadline else { return XCTFail("timed out waiting for \(what)", file: file, line: line) }
        usleep(1000)
    }
}
