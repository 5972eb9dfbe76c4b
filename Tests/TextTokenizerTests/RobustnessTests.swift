import XCTest

@testable import TextTokenizer

/// Hostile or odd inputs must not trap.
final class RobustnessTests: XCTestCase {
    func testOutOfRangeIDsAreSkipped() throws {
        let tokenizer = try TokenizerFixtures.real.get()
        let ids = [-1, Int.min, Int.max, 151_673, 151_679, 9707, 1_000_000_000]
        XCTAssertEqual(tokenizer.decode(ids), "Hello")
        XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: true), "Hello")
        XCTAssertEqual(tokenizer.tokens(ids), ["", "", "", "", "", "Hello", ""])
        XCTAssertEqual(tokenizer.decode([]), "")
    }

    func testEmptyAndWhitespaceOnlyText() throws {
        let tokenizer = try TokenizerFixtures.real.get()
        XCTAssertEqual(tokenizer.encode(""), [])
        XCTAssertEqual(tokenizer.decode(tokenizer.encode(" \n\t \u{3000}")), " \n\t \u{3000}")
    }

    func testLongRunsRoundTrip() throws {
        let tokenizer = try TokenizerFixtures.real.get()
        for text in [
            String(repeating: "ab", count: 20_000),
            String(repeating: "中", count: 5_000),
            String(repeating: " ", count: 10_000) + "x",
            String(repeating: "=", count: 10_000),
            String(repeating: "😀", count: 3_000),
            String(repeating: "e\u{301}", count: 3_000),
        ] {
            let ids = tokenizer.encode(text)
            XCTAssertSameScalars(tokenizer.decode(ids), text.precomposedStringWithCanonicalMapping, "round trip")
        }
    }

    func testConcurrentEncodingAgrees() throws {
        let tokenizer = try TokenizerFixtures.real.get()
        let goldens = try Goldens.realEncodings()
        let failures = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        failures.initialize(to: 0)
        defer { failures.deallocate() }
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for golden in goldens.shuffled() where tokenizer.encode(golden.text) != golden.ids {
                lock.lock()
                failures.pointee += 1
                lock.unlock()
            }
            _ = worker
        }
        XCTAssertEqual(failures.pointee, 0)
    }
}
