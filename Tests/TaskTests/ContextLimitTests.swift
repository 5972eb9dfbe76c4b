import Foundation
import MiMoAudio
import TestSupport
import XCTest

final class ContextLimitTests: XCTestCase {
    /// Audio longer than the context is rejected before it is encoded.
    func testAudioThatCannotFitIsRejectedUpFront() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mimo-ctx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["model.safetensors", "tokenizer.json"] {
            try FileManager.default.copyItem(at: Fixtures.url("lm/\(name)"), to: dir.appendingPathComponent(name))
        }
        var config = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("lm/config.json"))) as? [String: Any])
        config["max_position_embeddings"] = 8
        try JSONSerialization.data(withJSONObject: config).write(to: dir.appendingPathComponent("config.json"))
        let pipeline = try Pipeline(
            model: dir, audioTokenizer: Fixtures.tokenizerDirectory, compute: Compute(threads: 1))
        // 1.5 s = 38 frames = 10 groups, plus <|sosp|> and <|eosp|>.
        XCTAssertThrowsError(try pipeline.lmAudio(Fixtures.url("test_audio.wav"))) { error in
            // 6 positions of 0.16 s are left for audio once <|sosp|> and <|eosp|> take theirs.
            XCTAssertEqual(
                error as? Pipeline.PipelineError,
                .audioTooLong(seconds: 1.5, maximumSeconds: 6 * 0.16, groups: 12, maximumGroups: 8))
            XCTAssertTrue("\(error)".contains("at most 1.0 s"), "\(error)")
        }
    }
}
