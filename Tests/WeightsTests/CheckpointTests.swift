import Foundation
import XCTest

@testable import Weights

final class CheckpointTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory(self)
    }

    private func writeIndex(_ weightMap: [String: String]) throws {
        let index = JSONValue.object([
            "metadata": .object(["total_size": .int(0)]),
            "weight_map": .object(weightMap.mapValues { .string($0) }),
        ])
        try Data(index.serialized().utf8).write(to: directory.appendingPathComponent(Checkpoint.indexFileName))
    }

    private func writeTwoShards() throws {
        var first = SafeTensorsWriter()
        try first.add("a.weight", floats: [1, 2, 3, 4], shape: [2, 2])
        try first.add("a.bias", floats: [0.5, -0.5], shape: [2], as: .bf16)
        try first.write(to: directory.appendingPathComponent("model-00001-of-00002.safetensors"))
        var second = SafeTensorsWriter()
        try second.add("b.weight", floats: [9], shape: [1, 1])
        try second.add("b.positions", int64s: [3, 4, 5], shape: [3], as: .i32)
        try second.write(to: directory.appendingPathComponent("model-00002-of-00002.safetensors"))
    }

    private var shardedMap: [String: String] {
        [
            "a.weight": "model-00001-of-00002.safetensors",
            "a.bias": "model-00001-of-00002.safetensors",
            "b.weight": "model-00002-of-00002.safetensors",
            "b.positions": "model-00002-of-00002.safetensors",
        ]
    }

    func testShardedCheckpoint() throws {
        try writeTwoShards()
        try writeIndex(shardedMap)
        let checkpoint = try Checkpoint(directory: directory)

        XCTAssertEqual(checkpoint.names, ["a.bias", "a.weight", "b.positions", "b.weight"])
        XCTAssertEqual(checkpoint.files.count, 2)
        XCTAssertEqual(try checkpoint.floats("a.weight", shape: [2, 2]), [1, 2, 3, 4])
        XCTAssertEqual(try checkpoint.floats("a.bias"), [0.5, -0.5])
        XCTAssertEqual(try checkpoint.floats("b.weight"), [9])
        XCTAssertEqual(try checkpoint.int64s("b.positions"), [3, 4, 5])
        XCTAssertEqual(checkpoint.info("b.positions")?.dtype, .i32)
        XCTAssertEqual(try checkpoint.bytes("b.weight").count, 4)
        XCTAssertEqual(try checkpoint.require("a.bias", shape: [2]).dtype, .bf16)
        XCTAssertEqual(
            checkpoint.file(containing: "b.weight")?.url.lastPathComponent, "model-00002-of-00002.safetensors")
        XCTAssertEqual(checkpoint.unusedNames(given: ["a.weight", "b.weight"]), ["a.bias", "b.positions"])

        let indexPath = directory.appendingPathComponent(Checkpoint.indexFileName).path
        assertThrows(WeightsError.missingTensor(name: "c.weight", in: indexPath)) {
            try checkpoint.require("c.weight", shape: [1])
        }
        let message = assertThrows(WeightsError.shapeMismatch(name: "a.weight", expected: [4], found: [2, 2])) {
            try checkpoint.floats("a.weight", shape: [4])
        }
        XCTAssertTrue(message.contains("[4]") && message.contains("[2, 2]"))
    }

    func testShardNotCoveringItsTensors() throws {
        try writeTwoShards()
        var map = shardedMap
        map["b.weight"] = "model-00001-of-00002.safetensors"
        try writeIndex(map)
        let shardPath = directory.appendingPathComponent("model-00001-of-00002.safetensors").path
        let message = assertThrows(WeightsError.missingTensor(name: "b.weight", in: shardPath)) {
            try Checkpoint(directory: directory)
        }
        XCTAssertTrue(message.contains("model-00001-of-00002.safetensors") && message.contains("b.weight"))
    }

    func testIndexPointingToMissingShard() throws {
        try writeTwoShards()
        var map = shardedMap
        map["c.weight"] = "model-00003-of-00003.safetensors"
        try writeIndex(map)
        XCTAssertThrowsError(try Checkpoint(directory: directory)) { error in
            guard case .invalidIndex(_, let reason)? = error as? WeightsError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("model-00003-of-00003.safetensors") && reason.contains("c.weight"), reason)
        }
    }

    func testIndexRejectsPathTraversal() throws {
        try writeTwoShards()
        // A real file outside the checkpoint directory must still be refused.
        var outside = SafeTensorsWriter()
        try outside.add("x", floats: [1], shape: [1])
        try outside.write(to: directory.deletingLastPathComponent().appendingPathComponent("x-\(UUID().uuidString)"))
        for shardName in ["../x", "sub/model.safetensors", "/etc/passwd", "..", ""] {
            var map = shardedMap
            map["a.weight"] = shardName
            try writeIndex(map)
            XCTAssertThrowsError(try Checkpoint(directory: directory), shardName) { error in
                guard case .invalidIndex(_, let reason)? = error as? WeightsError else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.contains("plain file name"), reason)
            }
        }
    }

    func testMalformedIndex() throws {
        for text in ["{", "[]", #"{"metadata":{}}"#, #"{"weight_map":{}}"#, #"{"weight_map":{"a":1}}"#] {
            try Data(text.utf8).write(to: directory.appendingPathComponent(Checkpoint.indexFileName))
            XCTAssertThrowsError(try Checkpoint(directory: directory), text) { error in
                guard case .invalidIndex? = error as? WeightsError else { return XCTFail("\(text): \(error)") }
            }
        }
    }

    func testSingleFileCheckpoint() throws {
        var writer = SafeTensorsWriter()
        try writer.add("w", floats: [1, 2], shape: [2])
        try writer.write(to: directory.appendingPathComponent(Checkpoint.singleFileName))
        let checkpoint = try Checkpoint(directory: directory)
        XCTAssertEqual(checkpoint.names, ["w"])
        XCTAssertEqual(try checkpoint.floats("w"), [1, 2])
        let path = directory.appendingPathComponent(Checkpoint.singleFileName).path
        assertThrows(WeightsError.missingTensor(name: "v", in: path)) { try checkpoint.floats("v") }
    }

    func testEmptyDirectory() throws {
        let message = assertThrows(
            WeightsError.noCheckpoint(
                directory: directory.path, lookedFor: [Checkpoint.indexFileName, Checkpoint.singleFileName])
        ) { try Checkpoint(directory: directory) }
        XCTAssertTrue(message.contains("model.safetensors.index.json") && message.contains(directory.path))
    }
}
