import Foundation
import MiMoAudio
import TestSupport
import XCTest

final class LMBadInputTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mimo-lm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        for name in ["config.json", "model.safetensors", "tokenizer.json"] {
            try FileManager.default.copyItem(at: Fixtures.url("lm/\(name)"), to: scratch.appendingPathComponent(name))
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    func editConfig(_ edit: (inout [String: Any]) -> Void) throws {
        let url = scratch.appendingPathComponent("config.json")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: url)
    }

    func load() throws -> MiMoAudioLM { try MiMoAudioLM(directory: scratch, compute: Compute(threads: 1)) }

    func testMissingRequiredConfigKeyIsNamed() throws {
        try editConfig { $0.removeValue(forKey: "num_hidden_layers") }
        XCTAssertThrowsError(try load()) { error in
            guard case .missingKey(let key, _)? = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "num_hidden_layers")
        }
    }

    func testMiMoKeysFallBackToReferenceDefaults() throws {
        // Removing keys whose defaults equal the fixture's values must still load.
        try editConfig {
            for k in ["delay_pattern", "speech_vocab_size", "speech_zeroemb_idx", "group_size", "audio_channels"] {
                $0.removeValue(forKey: k)
            }
        }
        let model = try load()
        XCTAssertEqual(model.config.delayPattern, [0, 1, 2, 3, 4, 5, 6, 7])
        XCTAssertEqual(model.config.speechEmptyIDs, [1024, 1024, 128, 128, 128, 128, 128, 128])
        // The V2.5-ASR spelling of the patch encoder's heads is accepted too.
        try editConfig {
            $0["input_local_attn_heads"] = 2
            $0["input_local_head_dim"] = 16
        }
        XCTAssertEqual(try load().config.patchEncoder.heads, 2)
    }

    func testMalformedDashListIsRejected() throws {
        try editConfig { $0["delay_pattern"] = "0-1-x" }
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("delay_pattern"), "\($0)") }
        try editConfig { $0["delay_pattern"] = "0-1-2" }
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("audio_channels"), "\($0)") }
    }

    func testMisshapedTensorNamesBothShapes() throws {
        // A config claiming a wider patch decoder than the weights.
        try editConfig { $0["local_ffn_dim"] = 96 }
        XCTAssertThrowsError(try load()) { error in
            guard case .shapeMismatch(let name, let expected, let found)? = error as? WeightsError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(name, "local_transformer.layers.0.mlp.gate_proj.weight")
            XCTAssertEqual(expected, [96, 32])
            XCTAssertEqual(found, [64, 32])
        }
    }

    func testExtraTensorsSuchAsMTPLayersAreIgnored() throws {
        let source = try SafeTensorsFile(url: scratch.appendingPathComponent("model.safetensors"))
        var writer = SafeTensorsWriter()
        for name in source.names {
            try writer.add(name, floats: try source.floats(name), shape: try XCTUnwrap(source.info(name)).shape)
        }
        try writer.add("model.mtp_layers.0.proj.weight", floats: [1, 2, 3, 4], shape: [2, 2])
        try writer.write(to: scratch.appendingPathComponent("model.safetensors"))
        let tracked = UsageTrackingSource(try Checkpoint(directory: scratch))
        let config = try LMConfig(contentsOf: scratch.appendingPathComponent("config.json"))
        _ = try MiMoAudioLM(
            config: config, weights: tracked, specialTokens: try SpecialTokens(directory: scratch),
            compute: Compute(threads: 1))
        XCTAssertEqual(tracked.unusedNames, ["model.mtp_layers.0.proj.weight"])
    }

    func testTokenizerWithoutEmptyTokenIsAnError() throws {
        try Data(#"{"added_tokens": [{"id": 0, "content": "<|im_end|>"}]}"#.utf8).write(
            to: scratch.appendingPathComponent("tokenizer.json"))
        XCTAssertThrowsError(try load()) { XCTAssertEqual($0 as? SpecialTokensError, .unknownToken("<|empty|>")) }
    }

    func testBadGridsAreRejectedWithoutCrashing() throws {
        let model = try load()
        let c = model.config
        let empty = model.emptyTextID
        func grid(_ text: Int, _ code: Int = 1024, columns: Int = 4) -> TokenGrid {
            TokenGrid(
                rows: [Array(repeating: text, count: columns)]
                    + c.speechEmptyIDs.map { e in Array(repeating: e, count: columns) }
                    .enumerated().map { $0.offset == 0 ? Array(repeating: code, count: columns) : $0.element })
        }
        let opts = GenerationOptions(maxNewTokens: 2, stopTokens: [], textSampler: .greedy, audioSampler: .greedy)
        let session = LMSession(model: model)
        let cases: [(TokenGrid, GridError)] = [
            (TokenGrid(rows: [[1, 2, 3, 4]]), .wrongRowCount(found: 1, expected: 9)),
            (grid(5, columns: 6), .notWholeGroups(columns: 6, groupSize: 4)),
            (grid(5, columns: 0), .empty),
            (grid(5000), .textOutOfRange(group: 0, id: 5000, vocab: 1024)),
            (grid(-100), .textOutOfRange(group: 0, id: -100, vocab: 1024)),
            (grid(empty, 1025), .codeOutOfRange(channel: 0, column: 0, code: 1025, vocab: 1025)),
            (grid(empty, -1), .codeOutOfRange(channel: 0, column: 0, code: -1, vocab: 1025)),
        ]
        for (bad, expected) in cases {
            XCTAssertThrowsError(try session.generate(prompt: bad, options: opts)) {
                XCTAssertEqual($0 as? GridError, expected)
            }
        }
        var ragged = grid(5)
        ragged.rows[3].removeLast()
        XCTAssertThrowsError(try session.generate(prompt: ragged, options: opts)) {
            XCTAssertEqual($0 as? GridError, .raggedRows(row: 3, length: 3, expected: 4))
        }
        // A rejected prompt leaves the session usable.
        XCTAssertNoThrow(try session.generate(prompt: grid(5), options: opts))
    }

    func testPromptLongerThanTheContextIsRejected() throws {
        try editConfig { $0["max_position_embeddings"] = 3 }
        let model = try load()
        let c = model.config
        let long = TokenGrid(
            rows: [Array(repeating: 5, count: 16)] + c.speechEmptyIDs.map { Array(repeating: $0, count: 16) })
        XCTAssertThrowsError(
            try LMSession(model: model).generate(prompt: long, options: GenerationOptions(stopTokens: []))
        ) {
            XCTAssertEqual($0 as? GridError, .tooLong(groups: 4, maximum: 3))
        }
        // Generation stops at the context limit instead of running past it.
        let short = long.slice(0..<8)
        let result = try LMSession(model: model).generate(
            prompt: short, options: GenerationOptions(stopTokens: [], textSampler: .greedy))
        XCTAssertEqual(result.stopReason, .maxLength)
        XCTAssertEqual(result.newIDs.groups(size: 4), 1)
    }

    func testHugeTokenCountsDoNotOverflow() throws {
        try editConfig { $0["max_position_embeddings"] = 64 }
        let model = try load()
        let prompt = TokenGrid(
            rows: [Array(repeating: 5, count: 4)] + model.config.speechEmptyIDs.map { Array(repeating: $0, count: 4) })
        let options = GenerationOptions(
            minNewTokens: Int.max, maxNewTokens: Int.max, stopTokens: [], textSampler: .greedy)
        let result = try LMSession(model: model).generate(prompt: prompt, options: options)
        XCTAssertEqual(result.stopReason, .maxLength, "generation ends at the context")
        XCTAssertEqual(result.newIDs.groups(size: 4), 63)
    }

    func testInvalidSamplerSettingsAreRejected() throws {
        let model = try load()
        let prompt = TokenGrid(
            rows: [Array(repeating: 5, count: 4)] + model.config.speechEmptyIDs.map { Array(repeating: $0, count: 4) })
        for bad in [
            SamplerSettings(doSample: true, temperature: 0), SamplerSettings(doSample: true, topP: 1.5),
            SamplerSettings(doSample: true, topK: 0), SamplerSettings(doSample: true, temperature: .nan),
        ] {
            XCTAssertThrowsError(
                try LMSession(model: model).generate(
                    prompt: prompt, options: GenerationOptions(stopTokens: [], textSampler: bad)))
        }
    }
}
