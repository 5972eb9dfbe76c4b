import TestSupport
import XCTest

@testable import MiMoAudio

final class PrefixCacheTests: XCTestCase {
    /// States of three unrelated prompts, and of a prompt extending the first.
    func states() throws -> [LMState] {
        let pipeline = TinyModels.pipeline
        let options = GenerationOptions(maxNewTokens: 2, stopTokens: [], textSampler: .greedy, audioSampler: .greedy)
        return try ["One.", "Two, a longer one.", "Three, the longest of all three.", "One. And more."].map { text in
            let session = LMSession(model: pipeline.lm)
            try session.generate(prompt: try pipeline.prompts.grid([.text(text)]), options: options)
            return session.state
        }
    }

    func testTheLeastRecentlyUsedGoFirstByBytes() throws {
        let s = try states()
        let (a, b, c) = (s[0], s[1], s[2])
        let cache = PrefixCache(capacityBytes: a.bytes + b.bytes + c.bytes - 1, groupSize: 4)
        cache.insert(a)
        cache.insert(b)
        cache.insert(c)
        XCTAssertEqual(cache.count, 2, "a, the oldest, made room")
        XCTAssertEqual(cache.bytes, b.bytes + c.bytes)
        // Evicted: at most a group or two it shares with another prompt is found.
        XCTAssertLessThan(cache.longestPrefix(of: a.grid)?.groups ?? 0, a.groups - 2, "a was evicted")
        // Using b makes c the least recently used.
        XCTAssertEqual(cache.longestPrefix(of: b.grid)?.groups, b.groups)
        cache.insert(a)
        XCTAssertEqual(cache.count, 2)
        XCTAssertLessThan(cache.longestPrefix(of: c.grid)?.groups ?? 0, c.groups - 2, "c was evicted")
        XCTAssertLessThanOrEqual(cache.bytes, cache.capacity)
        XCTAssertNotNil(cache.longestPrefix(of: b.grid))
    }

    func testAStateThatExtendsAnotherReplacesIt() throws {
        let s = try states()
        let cache = PrefixCache(capacityBytes: 1 << 30, groupSize: 4)
        let head = s[0].prefix(3, groupSize: 4)
        cache.insert(head)
        cache.insert(s[0])
        XCTAssertEqual(cache.count, 1)
        XCTAssertEqual(cache.bytes, s[0].bytes)
        // The longest match: the prompt "One. And more." shares "One." with s[0].
        let hit = try XCTUnwrap(cache.longestPrefix(of: s[3].grid))
        XCTAssertGreaterThan(hit.groups, 0)
        XCTAssertEqual(hit.grid, s[3].grid.slice(0..<(hit.groups * 4)))
        XCTAssertEqual(hit.bytes * s[0].groups, s[0].bytes * hit.groups, "a copy of just the shared groups")
    }

    func testAStateLargerThanTheCacheIsNotKept() throws {
        let s = try states()
        let cache = PrefixCache(capacityBytes: s[0].bytes - 1, groupSize: 4)
        cache.insert(s[0])
        XCTAssertEqual(cache.count, 0)
        XCTAssertEqual(cache.bytes, 0)
    }
}

final class ThinkingSplitterTests: XCTestCase {
    func run(_ pieces: [String], startsThinking: Bool = true) -> (thinking: String, answer: String) {
        var splitter = ThinkingSplitter(startsThinking: startsThinking)
        var (thinking, answer) = ("", "")
        for part in pieces.flatMap({ splitter.push($0) }) + splitter.finish() {
            if part.thinking { thinking += part.text } else { answer += part.text }
        }
        return (thinking, answer)
    }

    func testTheMarkerIsFoundAcrossPieces() {
        XCTAssertTrue(run(["Hmm, é", "</th", "ink>\n\nThe ", "answer"]) == ("Hmm, é", "\n\nThe answer"))
        XCTAssertTrue(
            run(["a<", "/", "t", "hink", ">b</think>c"]) == ("a", "b</think>c"), "only the first marker splits")
        XCTAssertTrue(run(["a </thing>"]) == ("a </thing>", ""), "a near miss is thinking text")
        XCTAssertTrue(run(["ends in </thi"]) == ("ends in </thi", ""), "a held-back tail is flushed at the end")
        XCTAssertTrue(run(["no </think> here"], startsThinking: false) == ("", "no </think> here"))
    }

    func testHeldBackPiecesAreNotEmittedEarly() {
        var splitter = ThinkingSplitter(startsThinking: true)
        XCTAssertTrue(splitter.push("x</").map(\.text) == ["x"])
        XCTAssertTrue(splitter.push("think>y").map(\.text) == ["y"])
        XCTAssertFalse(splitter.thinking)
    }

    func testTheFinalTextSplitsTheSameWay() {
        XCTAssertTrue(ThinkingSplitter.split("plan </think> answer", startsThinking: true) == ("plan", "answer"))
        XCTAssertTrue(ThinkingSplitter.split("still planning", startsThinking: true) == ("still planning", ""))
        XCTAssertTrue(ThinkingSplitter.split("answer", startsThinking: false) == (nil, "answer"))
    }
}
