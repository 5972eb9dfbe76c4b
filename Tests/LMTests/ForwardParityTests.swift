import MiMoAudio
import TestSupport
import XCTest

/// The LM forward pass against the reference on a fixed mixed text / audio / interleaved prompt.
final class ForwardParityTests: XCTestCase {
    static func model(_ dir: String) throws -> MiMoAudioLM {
        try MiMoAudioLM(directory: Fixtures.url(dir), compute: Compute(threads: 2))
    }

    struct Forward {
        var taps: [String: Matrix] = [:]
        var last: Matrix
        var textLogitsAll: Matrix
        var localTokens: [[Int]]
    }

    static func run(_ model: MiMoAudioLM, grid: TokenGrid) -> Forward {
        var taps: [String: Matrix] = [:]
        let embeds = model.embed(grid) { taps[$0] = $1 }
        let cache = model.makeBackboneCache()
        let hidden = model.backboneForward(embeds, cache: cache) { taps[$0] = $1 }
        taps["backbone_last_hidden"] = hidden
        let last = hidden.rows((hidden.rows - 1)..<hidden.rows)
        taps["forward_local_hidden"] = model.localHidden(last)
        var rng = SeededGenerator(seed: 0)
        let tokens = model.decodePatch(model.localHidden(last), sampler: try! Sampler(.greedy), using: &rng) {
            taps[$0] = $1
        }
        return Forward(taps: taps, last: last, textLogitsAll: model.textLogits(hidden), localTokens: tokens)
    }

    func testEveryTapMatchesTheFP32Goldens() throws {
        let g = try Fixtures.goldens("lm_forward_goldens.safetensors")
        let model = try Self.model("lm")
        let grid = TokenGrid(rows: try g.intRows("mixed.input_ids"))
        try model.config.validate(grid)
        let f = Self.run(model, grid: grid)
        // Measured: ≤ 1.8e-6 on activations of O(4), ≤ 5.7e-6 on logits of O(20) — f32
        // re-association only. Dropping any one of the three bf16 islands misses by ≥ 6e-4
        // (manifest), so 1e-5 / 2e-5 prove the islands are reproduced.
        try checkAgainst(
            g, prefix: "mixed", f, model: model, grid: grid, activationTolerance: 1e-5, logitTolerance: 2e-5)
    }

    func testBF16WeightsComputedInF32MatchTheFP32Goldens() throws {
        // Same weight values stored as bf16 and widened: the computation is the fp32 one.
        let g = try Fixtures.goldens("lm_forward_goldens.safetensors")
        let model = try Self.model("lm_bf16")
        let grid = TokenGrid(rows: try g.intRows("mixed.input_ids"))
        let f = Self.run(model, grid: grid)
        try checkAgainst(
            g, prefix: "mixed", f, model: model, grid: grid, activationTolerance: 1e-5, logitTolerance: 2e-5)
    }

    func testBF16WeightsAreWithinTheReferenceBF16Spread() throws {
        // The reference computing in bf16 sits ~0.15 from fp32 (manifest; measured 0.152 here);
        // the bound is 0.16.
        let err = try textLogitError(
            try Self.model("lm_bf16"), "lm_forward_goldens_bf16.safetensors", prefix: "mixed_bf16")
        XCTAssertLessThanOrEqual(err, 0.16)
    }

    func testFastBF16PathStaysWithinTheReferenceBF16Spread() throws {
        // bf16 weights with `.fast` precision: prompts multiply bf16-rounded activations, as the
        // reference's bf16 run does. Against that run and the fp32 goldens alike the text logits
        // must stay within the bf16 bound (0.16: the reference's own bf16-vs-fp32 spread).
        // CPUs without bf16 dot products run the exact path under `.fast`.
        let model = try MiMoAudioLM(directory: Fixtures.url("lm_bf16"), compute: Compute(threads: 2, precision: .fast))
        for (file, prefix) in [
            ("lm_forward_goldens_bf16.safetensors", "mixed_bf16"), ("lm_forward_goldens.safetensors", "mixed"),
        ] {
            let err = try textLogitError(model, file, prefix: prefix)
            print("fast bf16 path: text-logit error \(err) against \(prefix)")
            XCTAssertLessThanOrEqual(err, 0.16, prefix)
        }
    }

    /// Largest text-logit difference from a goldens file on its mixed prompt.
    func textLogitError(_ model: MiMoAudioLM, _ file: String, prefix: String) throws -> Float {
        let g = try Fixtures.goldens(file)
        let f = Self.run(model, grid: TokenGrid(rows: try g.intRows("\(prefix).input_ids")))
        return maxAbsDifference(f.textLogitsAll.data, try g.floats("\(prefix).text_logits_all"))
    }

    func checkAgainst(
        _ g: SafeTensorsFile, prefix: String, _ f: Forward, model: MiMoAudioLM, grid: TokenGrid,
        activationTolerance: Float, logitTolerance: Float, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let c = model.config
        // The patch encoder's output only matters for audio groups (text groups are multiplied
        // by zero right after), and we only run it there: compare those groups.
        let all = try g.floats("\(prefix).patch_encoder_out")
        let width = c.groupSize * c.patchEncoder.hidden
        let speechGroups = (0..<grid.groups(size: c.groupSize)).filter {
            grid.text(group: $0, size: c.groupSize) == model.emptyTextID
        }
        XCTAssertFalse(speechGroups.isEmpty)
        let expected = speechGroups.flatMap { all[($0 * width)..<(($0 + 1) * width)] }
        let encoded = try XCTUnwrap(f.taps["patch_encoder_out"])
        XCTAssertLessThanOrEqual(
            maxAbsDifference(encoded.data, expected), activationTolerance, "patch_encoder_out", file: file, line: line)
        for name in ["speech_group_downcast_out", "inputs_embeds", "backbone_layer_input1", "backbone_last_hidden"] {
            assertClose(
                try XCTUnwrap(f.taps[name]), try g.matrix("\(prefix).\(name)"), tolerance: activationTolerance, name,
                file: file, line: line)
        }
        assertClose(
            f.textLogitsAll, try g.matrix("\(prefix).text_logits_all"), tolerance: logitTolerance, "text_logits_all",
            file: file, line: line)
        XCTAssertLessThanOrEqual(
            maxAbsDifference(
                try XCTUnwrap(f.taps["forward_local_hidden"]).data, try g.floats("\(prefix).forward_local_hidden")),
            activationTolerance, "forward_local_hidden", file: file, line: line)
        assertClose(
            try XCTUnwrap(f.taps["local_step_hidden"]), try g.matrix("\(prefix).local_step_hidden"),
            tolerance: activationTolerance,
            "local_step_hidden", file: file, line: line)
        for ch in 0..<c.audioChannels {
            assertClose(
                try XCTUnwrap(f.taps["local_logits_ch\(ch)"]), try g.matrix("\(prefix).local_logits_ch\(ch)"),
                tolerance: logitTolerance, "local_logits_ch\(ch)", file: file, line: line)
        }
        // Greedy tokens are an argmax: exact.
        XCTAssertEqual(f.localTokens, try g.intRows("\(prefix).local_tokens"), file: file, line: line)
    }
}
