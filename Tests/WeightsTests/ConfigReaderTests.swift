import Foundation
import XCTest

@testable import Weights

final class ConfigReaderTests: XCTestCase {
    private let source = "test/config.json"
    private let text = """
        {
          "hidden_size": 4096, "rope_theta": 10000.0, "rms_norm_eps": 1e-06, "ratio": 1.5,
          "tie_word_embeddings": false, "model_type": "qwen2", "sliding_window": null,
          "kernel_sizes": [3, 3.0, 5], "scales": [1, 0.5], "names": ["a", "b"],
          "audio_config": {"n_mels": 128, "extra": {"depth": 2}}
        }
        """

    private func reader() throws -> ConfigReader {
        try ConfigReader(data: Data(text.utf8), source: source)
    }

    func testTypedGetters() throws {
        let config = try reader()
        XCTAssertEqual(try config.int("hidden_size"), 4096)
        XCTAssertEqual(try config.int("rope_theta"), 10000, "integer-valued double accepted as Int")
        XCTAssertEqual(try config.double("rms_norm_eps"), 1e-6)
        XCTAssertEqual(try config.double("hidden_size"), 4096)
        XCTAssertEqual(try config.bool("tie_word_embeddings"), false)
        XCTAssertEqual(try config.string("model_type"), "qwen2")
        XCTAssertEqual(try config.intArray("kernel_sizes"), [3, 3, 5])
        XCTAssertEqual(try config.doubleArray("scales"), [1, 0.5])
        XCTAssertEqual(try config.stringArray("names"), ["a", "b"])
        XCTAssertEqual(try config.nested("audio_config").int("n_mels"), 128)
        XCTAssertEqual(config.value("ratio"), .double(1.5))
        XCTAssertEqual(config.anyValue("hidden_size") as? Int, 4096)
        XCTAssertTrue(config.anyValue("sliding_window") is NSNull)
        XCTAssertNil(config.anyValue("absent"))
    }

    func testDefaultsAndNulls() throws {
        let config = try reader()
        XCTAssertEqual(try config.int("num_layers", default: 32), 32)
        XCTAssertEqual(try config.int("hidden_size", default: 1), 4096)
        XCTAssertEqual(try config.int("sliding_window", default: 7), 7, "null falls back to the default")
        XCTAssertEqual(try config.double("absent", default: 0.25), 0.25)
        XCTAssertEqual(try config.bool("absent", default: true), true)
        XCTAssertEqual(try config.string("absent", default: "x"), "x")
        XCTAssertNil(try config.optionalInt("sliding_window"))
        XCTAssertNil(try config.optionalInt("absent"))
        XCTAssertNil(try config.optionalNested("absent"))
        XCTAssertEqual(try config.optionalDouble("rms_norm_eps"), 1e-6)
        XCTAssertTrue(config.has("sliding_window"))
        XCTAssertFalse(config.has("absent"))
    }

    func testMissingKeyNamesKeyAndFile() throws {
        let config = try reader()
        let message = assertThrows(ConfigError.missingKey(key: "num_attention_heads", file: source)) {
            try config.int("num_attention_heads")
        }
        XCTAssertTrue(message.contains("num_attention_heads") && message.contains(source))
        assertThrows(ConfigError.missingKey(key: "audio_config.extra.width", file: source)) {
            try config.nested("audio_config").nested("extra").int("width")
        }
    }

    func testWrongTypes() throws {
        let config = try reader()
        let message = assertThrows(
            ConfigError.wrongType(key: "ratio", expected: "an integer", found: "number 1.5", file: source)
        ) { try config.int("ratio") }
        XCTAssertTrue(message.contains("ratio") && message.contains(source))
        assertThrows(
            ConfigError.wrongType(
                key: "tie_word_embeddings", expected: "an integer", found: "boolean false",
                file: source)
        ) { try config.int("tie_word_embeddings") }
        assertThrows(
            ConfigError.wrongType(
                key: "hidden_size", expected: "a boolean", found: "integer 4096",
                file: source)
        ) { try config.bool("hidden_size") }
        assertThrows(
            ConfigError.wrongType(
                key: "sliding_window", expected: "an integer", found: "null",
                file: source)
        ) { try config.int("sliding_window") }
        XCTAssertThrowsError(try config.intArray("scales"))
        XCTAssertThrowsError(try config.int("model_type", default: 3), "wrong type is not masked by a default")
        XCTAssertThrowsError(try config.optionalString("hidden_size"))
    }

    func testFileErrors() throws {
        let directory = try makeTemporaryDirectory(self)
        let missing = directory.appendingPathComponent("config.json")
        assertThrows(ConfigError.fileNotFound(path: missing.path)) { try ConfigReader(url: missing) }

        try Data("{\"a\": 1,}".utf8).write(to: missing)
        XCTAssertThrowsError(try ConfigReader(url: missing)) { error in
            guard case .invalidJSON(let path, _)? = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, missing.path)
            XCTAssertTrue(String(describing: error).contains(missing.path))
        }

        try Data("[1]".utf8).write(to: missing)
        XCTAssertThrowsError(try ConfigReader(url: missing))

        try Data(text.utf8).write(to: missing)
        XCTAssertEqual(try ConfigReader(url: missing).int("hidden_size"), 4096)
    }
}
