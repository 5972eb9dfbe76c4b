import Foundation
import Weights
import XCTest

/// Reads a file written by the Python `safetensors` library to prove format compatibility.
final class FixtureCompatibilityTests: XCTestCase {
    private let fixturePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tokenizer/model.safetensors").path

    func testReadsPythonWrittenFile() throws {
        let file = try SafeTensorsFile(url: URL(fileURLWithPath: fixturePath))
        XCTAssertEqual(file.metadata["format"], "pt")
        XCTAssertGreaterThan(file.names.count, 2)

        let conv = try file.require("encoder.conv1.weight", shape: [64, 128, 3])
        XCTAssertEqual(conv.dtype, .f32)
        let codebook = try file.require("encoder.quantizer.vq.layers.0._codebook.embed", shape: [1024, 64])
        XCTAssertEqual(codebook.byteCount, 1024 * 64 * 4)

        let weights = try file.floats("encoder.conv1.weight")
        XCTAssertEqual(weights.count, 64 * 128 * 3)
        XCTAssertTrue(weights.allSatisfy(\.isFinite))
        XCTAssertTrue(weights.contains { $0 != 0 })

        // Every tensor must decode: exercises all offsets in a real file.
        for name in file.names {
            guard let info = file.info(name) else { return XCTFail(name) }
            XCTAssertEqual(try file.bytes(name).count, info.byteCount, name)
        }
    }
}
