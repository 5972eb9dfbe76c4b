import Foundation
import TestSupport
import XCTest

@testable import Benchmarks
@testable import MiMoAudio

/// q8 and q4 LMs: convert → load (memory-mapped) → generate, against the fp32 goldens.
final class QuantizedModelTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mimo-q-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    func convert(_ format: WeightFormat) throws -> URL {
        let out = scratch.appendingPathComponent(format.rawValue)
        let report = try CheckpointConverter.convert(
            from: Fixtures.url("lm"), to: out, format: format, compute: Compute(threads: 2)
        ) { _ in }
        // Backbone 2 × 7 + patch encoder 2 × 7 + patch decoder 2 × 7 linears, lm_head, 8 local
        // heads and the two downcasts.
        XCTAssertEqual(report.quantizedTensors, 42 + 1 + 8 + 2)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("tokenizer.json").path))
        return out
    }

    /// Greedy ASR and TTS with the fp32 goldens' prompts; returns the largest text-logit error
    /// over the steps whose prefix (every earlier group, text and codes) still equals the
    /// golden one: after a flipped near-tie the contexts differ and logits are not comparable.
    func generate(_ model: MiMoAudioLM) throws -> (sameTokens: Bool, maxLogitError: Float) {
        let g = try Fixtures.goldens("generation_goldens.safetensors")
        var same = true
        var worst: Float = 0
        for (task, stops, minNew) in [
            ("asr", ["<|endoftext|>", "<|im_end|>"], 4), ("tts", ["<|endoftext|>", "<|eostm|>", "<|im_end|>"], 6),
        ] {
            let options = GenerationOptions(
                minNewTokens: minNew, maxNewTokens: 16,
                stopTokens: Set(try stops.map { try model.specialTokens.id($0) }),
                textSampler: .greedy, audioSampler: .greedy, recordLogits: true)
            let result = try LMSession(model: model).generate(
                prompt: TokenGrid(rows: try g.intRows("gen_\(task).prompt_input_ids")), options: options)
            let golden = try g.intRows("gen_\(task).new_ids")
            same = same && result.newIDs.rows == golden
            let logits = try g.matrix("gen_\(task).text_logits_per_step")
            for (step, row) in result.stepLogits.enumerated() where step < logits.rows {
                worst = max(worst, maxAbsDifference(row, Array(logits.row(step))))
                let columns = (step * 4)..<((step + 1) * 4)
                let sameGroup =
                    columns.upperBound <= golden[0].count && result.newIDs.rows.count == golden.count
                    && zip(result.newIDs.rows, golden).allSatisfy {
                        columns.upperBound <= $0.0.count && $0.0[columns] == $0.1[columns]
                    }
                if !sameGroup { break }
            }
        }
        return (same, worst)
    }

    func testQ8ReproducesTheGreedyGoldens() throws {
        let model = try MiMoAudioLM(directory: try convert(.q8_0), compute: Compute(threads: 2))
        let (same, error) = try generate(model)
        print("q8: greedy generations equal the fp32 goldens: \(same); max text-logit error \(error)")
        // The bar: the same generations, or (where a near-tie flips) within the logit
        // error the bf16 reference itself shows on these fixtures (0.152).
        XCTAssertTrue(same || error <= 0.152, "q8 logit error \(error)")
        XCTAssertLessThanOrEqual(error, 0.152)
    }

    func testHalfPrecisionKVCacheKeepsTheGreedyGoldens() throws {
        let exact = try MiMoAudioLM(directory: Fixtures.url("lm"), compute: Compute(threads: 2), kvPrecision: .f16)
        let (same, error) = try generate(exact)
        print(
            "f32 weights, f16 KV cache: greedy generations equal the fp32 goldens: \(same); max text-logit error \(error)"
        )
        XCTAssertTrue(same)
        // Keys and values rounded to 11 significant bits (2^-12 relative) move these logits
        // (|·| ≤ 20) by ~1e-3 (measured 2.1e-3); 1e-2 keeps a margin a wrong row or position
        // (errors of O(1)) cannot hide in.
        XCTAssertLessThanOrEqual(error, 0.01)
        // The command line's default: q8 weights with an f16 cache, held to q8's bar.
        let q8 = try MiMoAudioLM(directory: try convert(.q8_0), compute: Compute(threads: 2), kvPrecision: .f16)
        let (q8Same, q8Error) = try generate(q8)
        print(
            "q8 weights, f16 KV cache: greedy generations equal the fp32 goldens: \(q8Same); max text-logit error \(q8Error)"
        )
        XCTAssertLessThanOrEqual(q8Error, 0.152)
    }

    func testQ4ConvertedAndLoadTimeQuantizedModelsAgree() throws {
        let converted = try MiMoAudioLM(directory: try convert(.q4_0), compute: Compute(threads: 2))
        let onTheFly = try MiMoAudioLM(directory: Fixtures.url("lm"), compute: Compute(threads: 2), quantize: .q4_0)
        let a = try generate(converted)
        let b = try generate(onTheFly)
        // The same blocks either way: identical results.
        XCTAssertEqual(a.sameTokens, b.sameTokens)
        XCTAssertEqual(a.maxLogitError, b.maxLogitError)
        print("q4: greedy generations equal the fp32 goldens: \(a.sameTokens); max text-logit error \(a.maxLogitError)")
        // Reported, not a parity bar (measured 4.2 on logits of magnitude ≤ 20): 4-bit steps of
        // 1/7 of each block's maximum on these small random matrices. The bound only has to
        // catch a broken path (wrong nibble order or scale), which scrambles the logits entirely.
        XCTAssertLessThan(a.maxLogitError, 6)
    }

    /// `bench load` writes its checkpoint from the tensors a model bound: on the fixture, that file
    /// must load and generate exactly as the model quantized while loading.
    func testCheckpointWrittenFromABoundModelLoadsUnchanged() throws {
        let fixture = Fixtures.url("lm")
        let out = scratch.appendingPathComponent("bound")
        let config = try LMConfig(contentsOf: fixture.appendingPathComponent("config.json"))
        try LoadBenchmark.writeConverted(
            from: try Checkpoint(directory: fixture), config: config,
            configJSON: try Data(contentsOf: fixture.appendingPathComponent("config.json")),
            specialTokens: try SpecialTokens(directory: fixture), format: .q4_0, to: out,
            compute: Compute(threads: 2))
        try FileManager.default.copyItem(
            at: fixture.appendingPathComponent("tokenizer.json"), to: out.appendingPathComponent("tokenizer.json"))
        let written = try MiMoAudioLM(directory: out, compute: Compute(threads: 2))
        let onTheFly = try MiMoAudioLM(directory: fixture, compute: Compute(threads: 2), quantize: .q4_0)
        let a = try generate(written)
        let b = try generate(onTheFly)
        // The same blocks and the same unquantized tensors either way: identical results.
        XCTAssertEqual(a.sameTokens, b.sameTokens)
        XCTAssertEqual(a.maxLogitError, b.maxLogitError)
        XCTAssertLessThan(a.maxLogitError, 6, "q4's bound as in the converted-model test")
    }

    func testCorruptQuantizationMetadataIsRejected() throws {
        let dir = try convert(.q8_0)
        let file = dir.appendingPathComponent("model.safetensors")
        let source = try SafeTensorsFile(url: file)
        var writer = SafeTensorsWriter()
        writer.metadata = source.metadata
        writer.metadata[Quantization.metadataKey("lm_head.weight")] = "q8_0:48"
        for name in source.names {
            let info = try XCTUnwrap(source.info(name))
            try writer.add(name, dtype: info.dtype, shape: info.shape, bytes: Data(try source.bytes(name)))
        }
        try writer.write(to: file)
        XCTAssertThrowsError(try MiMoAudioLM(directory: dir, compute: Compute(threads: 1))) { error in
            XCTAssertTrue("\(error)".contains("lm_head.weight"), "\(error)")
        }
    }
}
