import Foundation
import MiMoAudio
import TestSupport
import XCTest

@testable import Server

/// A reply cut where the listener stopped hearing it, and closed as a turn the model ends itself.
final class RealtimeHistoryTests: XCTestCase {
    static let pipeline = ChatTaskTests.pipeline

    /// Generated groups with these text ids (`<|empty|>` for a speech group), codes below.
    func generated(_ texts: [Int]) -> TokenGrid {
        let config = Self.pipeline.lm.config
        var grid = TokenGrid(rows: Array(repeating: [], count: config.gridRows))
        for (g, id) in texts.enumerated() {
            grid.rows[0] += Array(repeating: id, count: config.groupSize)
            for ch in 0..<config.audioChannels { grid.rows[ch + 1] += Array(repeating: g % 7, count: config.groupSize) }
        }
        return grid
    }

    func testACutKeepsTheSpeechHeardAndDropsTheTextAfterIt() throws {
        let ids = Self.pipeline.textTokenizer.specialTokens.idsByName
        let (empty, sostm, word) = (try XCTUnwrap(ids["<|empty|>"]), try XCTUnwrap(ids["<|sostm|>"]), 100)
        // <|sostm|>, two text groups, three speech groups, a text group, two speech groups.
        let reply = generated([sostm, word, word, empty, empty, empty, word, empty, empty])
        let gs = Self.pipeline.lm.config.groupSize
        func kept(_ ms: Int) -> [Int] {
            let cut = RealtimeHistory.cut(reply, keepingAudioMs: ms, pipeline: Self.pipeline)
            return (0..<cut.groups(size: gs)).map { cut.text(group: $0, size: gs) }
        }
        // A speech group is 4 frames of 40 ms: 160 ms.
        XCTAssertEqual(kept(0), [], "nothing heard: nothing kept")
        XCTAssertEqual(kept(1), [sostm, word, word, empty], "the text before the first speech group stays with it")
        XCTAssertEqual(kept(160), [sostm, word, word, empty])
        XCTAssertEqual(kept(161), [sostm, word, word, empty, empty])
        XCTAssertEqual(kept(480), [sostm, word, word, empty, empty, empty], "the text after the kept audio is dropped")
        XCTAssertEqual(kept(10_000), [sostm, word, word, empty, empty, empty, word, empty, empty])
    }

    func testAnUnfinishedReplyIsClosedWithEotAndEostm() throws {
        let ids = Self.pipeline.textTokenizer.specialTokens.idsByName
        let (empty, eot, eostm) = (
            try XCTUnwrap(ids["<|empty|>"]), try XCTUnwrap(ids["<|eot|>"]), try XCTUnwrap(ids["<|eostm|>"])
        )
        let prompt = try Self.pipeline.prompts.grid([.text("<|im_start|>assistant\n<|sostm|>")])
        let gs = Self.pipeline.lm.config.groupSize
        func tail(_ texts: [Int], speaks: Bool = true) -> [Int] {
            let reply = RealtimeSession.Reply(itemID: "i", prompt: prompt, generated: generated(texts), speaks: speaks)
            let closed = RealtimeHistory.closed(reply, pipeline: Self.pipeline)
            XCTAssertEqual(closed.slice(0..<prompt.columns), prompt)
            let all = (0..<closed.groups(size: gs)).map { closed.text(group: $0, size: gs) }
            return Array(all.dropFirst(prompt.groups(size: gs)))
        }
        XCTAssertEqual(tail([100, empty]), [100, empty, eot, eostm], "cut mid-text: both closers")
        XCTAssertEqual(tail([100, eot, empty]), [100, eot, empty, eostm], "the text had ended: only <|eostm|>")
        XCTAssertEqual(tail([100, eot, empty, eostm]), [100, eot, empty, eostm], "the model closed it: as is")
        let imEnd = try XCTUnwrap(ids["<|im_end|>"])
        XCTAssertEqual(tail([100, 101], speaks: false).prefix(3), [100, 101, imEnd], "a text reply: <|im_end|>")
    }
}
