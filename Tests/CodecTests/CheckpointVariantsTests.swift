import Foundation
import MiMoAudio
import TestSupport
import XCTest

/// Loading rules: stored dtypes, shards, and the errors for broken checkpoints and configs.
final class CheckpointVariantsTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mimo-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Copies the fixture tokenizer, letting `edit` change each tensor (return nil to drop it).
    private func writeVariant(
        config: (inout [String: Any]) -> Void = { _ in },
        edit: (String, [Float], [Int]) -> (floats: [Float], shape: [Int], dtype: DType)? = { ($1, $2, .f32) }
    ) throws -> URL {
        let source = try SafeTensorsFile(url: Fixtures.tokenizerDirectory.appendingPathComponent("model.safetensors"))
        var writer = SafeTensorsWriter()
        for name in source.names {
            let info = try XCTUnwrap(source.info(name))
            guard let t = edit(name, try source.floats(name), info.shape) else { continue }
            try writer.add(name, floats: t.floats, shape: t.shape, as: t.dtype)
        }
        try writer.write(to: scratch.appendingPathComponent("model.safetensors"))
        var json = try XCTUnwrap(
            JSONSerialization.jsonObject(
                with: Data(contentsOf: Fixtures.tokenizerDirectory.appendingPathComponent("config.json")))
                as? [String: Any])
        config(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: scratch.appendingPathComponent("config.json"))
        return scratch
    }

    /// The fixture stored as the real checkpoint is believed to be: bf16, codebooks f32.
    private func writeBF16Variant() throws -> URL {
        try writeVariant(edit: { name, floats, shape in (floats, shape, name.contains("_codebook") ? .f32 : .bf16) })
    }

    func testBF16WeightsWithF32CodebooksGiveIdenticalResults() throws {
        // Every fixture weight is bf16-representable and all compute is f32 after widening, so a
        // bf16 copy (codebooks kept f32, as the real checkpoint is believed to be) must agree exactly.
        let dir = try writeBF16Variant()
        let bf16 = try AudioTokenizer(directory: dir, compute: Compute(threads: 2))
        let f32 = try Fixtures.tokenizer()
        let wav = try AudioInput.load(Fixtures.url("test_audio.wav"), sampleRate: 24000)
        let codes = try f32.encode(samples: wav, codebooks: 8)
        XCTAssertEqual(try bf16.encode(samples: wav, codebooks: 8), codes)
        XCTAssertEqual(try bf16.decode(codes: codes), try f32.decode(codes: codes))
    }

    /// How close `tokenizer` stays to the exact f32 one on the test audio: the share of its 8-level
    /// codes equal to the f32 path's, and the SNR (dB) of its decode of the f32 codes.
    private func closeness(_ tokenizer: AudioTokenizer, _ label: String) throws -> (agreement: Double, snr: Double) {
        let f32 = try Fixtures.tokenizer()
        let wav = try AudioInput.load(Fixtures.url("test_audio.wav"), sampleRate: 24000)
        let codes = try f32.encode(samples: wav, codebooks: 8)
        let same = zip(codes.joined(), try tokenizer.encode(samples: wav, codebooks: 8).joined()).filter { $0 == $1 }
            .count
        let agreement = Double(same) / Double(codes.joined().count)
        let quality = snr(try tokenizer.decode(codes: codes), reference: try f32.decode(codes: codes))
        print("\(label): \(agreement * 100)% of codes equal the f32 path's; decode SNR \(quality) dB")
        return (agreement, quality)
    }

    /// bf16 weights with `.fast` precision multiply bf16-rounded activations (the reference's
    /// own arithmetic for the tokenizer) instead of widening to f32, on CPUs with bf16 dot
    /// products (elsewhere `.fast` runs the f32 path; the GEMM itself is tested per ISA).
    func testFastBF16PathStaysCloseToTheF32One() throws {
        let dir = try writeBF16Variant()
        let fast = try AudioTokenizer(directory: dir, compute: Compute(threads: 2, precision: .fast))
        let (agreement, quality) = try closeness(fast, "fast bf16 codec")
        // The reference itself runs the tokenizer in bf16 and flips ~11 % of codes against fp32
        // (docs/model.md §2, argmin near-ties); measured here 98 %. Decoding: bf16 rounding of the
        // activations (2^-9, ≈ −54 dB per product) compounds over the layers; measured 47 dB,
        // while a wrong panel, row or scale leaves < 10 dB.
        XCTAssertGreaterThanOrEqual(agreement, 0.89)
        XCTAssertGreaterThan(quality, 40)
    }

    /// `quantize: .q8_0` runs the linear layers as q8_0 weights against int8 activations.
    func testQ8CodecStaysCloseToTheF32One() throws {
        let dir = try writeBF16Variant()
        let q8 = try AudioTokenizer(directory: dir, compute: Compute(threads: 2), quantize: .q8_0)
        let (agreement, quality) = try closeness(q8, "q8 codec")
        // The integer GEMMs are exact (bit for bit against scalar on every ISA), so the error is
        // the rounding itself: q8 weights and int8 activations per 32-block each cost ≈ −46 dB per
        // product for Gaussian-like blocks, compounding over the layers; measured 95 % of codes
        // and 33.7 dB. The reference's own bf16 run flips ~11 % of codes (docs/model.md §2), hence 0.89;
        // a wrong panel, row or scale leaves < 10 dB.
        XCTAssertGreaterThanOrEqual(agreement, 0.89)
        XCTAssertGreaterThan(quality, 30)
    }

    func testShardedCheckpointLoads() throws {
        let source = try SafeTensorsFile(url: Fixtures.tokenizerDirectory.appendingPathComponent("model.safetensors"))
        var shards = [SafeTensorsWriter(), SafeTensorsWriter()]
        var map: [String: String] = [:]
        for (i, name) in source.names.enumerated() {
            let info = try XCTUnwrap(source.info(name))
            try shards[i % 2].add(name, floats: try source.floats(name), shape: info.shape)
            map[name] = "model-0000\(i % 2 + 1)-of-00002.safetensors"
        }
        for (i, shard) in shards.enumerated() {
            try shard.write(to: scratch.appendingPathComponent("model-0000\(i + 1)-of-00002.safetensors"))
        }
        try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": map])
            .write(to: scratch.appendingPathComponent("model.safetensors.index.json"))
        try FileManager.default.copyItem(
            at: Fixtures.tokenizerDirectory.appendingPathComponent("config.json"),
            to: scratch.appendingPathComponent("config.json"))
        let sharded = try AudioTokenizer(directory: scratch, compute: Compute(threads: 2))
        let g = try Fixtures.goldens("tokenizer_goldens.safetensors")
        let wav = try g.floats("wav")
        XCTAssertEqual(try sharded.encode(samples: wav, codebooks: 20), try g.intRows("rvq.codes"))
    }

    func testMissingTensorIsNamed() throws {
        let dir = try writeVariant(edit: { name, floats, shape in
            name == "decoder.layers.1.fc2.bias" ? nil : (floats, shape, .f32)
        })
        XCTAssertThrowsError(try AudioTokenizer(directory: dir, compute: Compute(threads: 1))) { error in
            XCTAssertTrue("\(error)".contains("decoder.layers.1.fc2.bias"), "\(error)")
        }
    }

    func testMisshapedTensorNamesBothShapes() throws {
        let dir = try writeVariant(edit: { name, floats, shape in
            name == "encoder.conv1.weight"
                ? (Array(floats.prefix(64 * 128 * 2)), [64, 128, 2], .f32) : (floats, shape, .f32)
        })
        XCTAssertThrowsError(try AudioTokenizer(directory: dir, compute: Compute(threads: 1))) { error in
            XCTAssertEqual(
                error as? WeightsError,
                .shapeMismatch(name: "encoder.conv1.weight", expected: [64, 128, 3], found: [64, 128, 2]))
            XCTAssertTrue("\(error)".contains("[64, 128, 2]") && "\(error)".contains("[64, 128, 3]"), "\(error)")
        }
    }

    func testUnusedTensorsAreTolerated() throws {
        // The fixture already holds RVQ EMA buffers and the ISTFT window; add one more stray tensor.
        let dir = try writeVariant()
        var writer = SafeTensorsWriter()
        let source = try SafeTensorsFile(url: dir.appendingPathComponent("model.safetensors"))
        for name in source.names {
            try writer.add(name, floats: try source.floats(name), shape: try XCTUnwrap(source.info(name)).shape)
        }
        try writer.add("decoder.some_future_buffer", floats: [1, 2, 3], shape: [3])
        try writer.write(to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertNoThrow(try AudioTokenizer(directory: dir, compute: Compute(threads: 1)))
    }

    func testTrainingBuffersAreReportedAsUnused() throws {
        let source = UsageTrackingSource(try Checkpoint(directory: Fixtures.tokenizerDirectory))
        let config = try TokenizerConfig(contentsOf: Fixtures.tokenizerDirectory.appendingPathComponent("config.json"))
        _ = try AudioTokenizer(config: config, weights: source, compute: Compute(threads: 1))
        let unused = source.unusedNames
        // The stored ISTFT window plus each of the 20 levels' EMA buffers (inited, cluster_size, embed_avg).
        XCTAssertEqual(unused.count, 1 + 20 * 3)
        XCTAssertTrue(unused.contains("decoder.vocoder.head.istft.window"))
        XCTAssertTrue(
            unused.allSatisfy { $0 == "decoder.vocoder.head.istft.window" || !$0.hasSuffix("_codebook.embed") })
    }

    func testConfigMissingKeyIsNamed() throws {
        let dir = try writeVariant(config: { $0.removeValue(forKey: "d_model") })
        XCTAssertThrowsError(try AudioTokenizer(directory: dir, compute: Compute(threads: 1))) { error in
            guard case .missingKey(let key, _)? = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "d_model")
        }
    }

    func testConfigDefaultsApplyToBehaviouralKeys() throws {
        // Keys whose reference default equals the released value may be absent.
        let dir = try writeVariant(config: {
            for key in ["rope_theta", "vocoder_attn_window_size", "decoder_causal", "ln_type", "fmax"] {
                $0.removeValue(forKey: key)
            }
        })
        let tokenizer = try AudioTokenizer(directory: dir, compute: Compute(threads: 1))
        XCTAssertEqual(tokenizer.config.vocoderWindow, [40, 10])
        XCTAssertEqual(tokenizer.config.ropeTheta, 10000)
        XCTAssertTrue(tokenizer.config.decoderCausal)
    }

    func testUnsupportedConfigValueIsRejected() throws {
        let dir = try writeVariant(config: { $0["ln_type"] = "RMSNorm" })
        XCTAssertThrowsError(try AudioTokenizer(directory: dir, compute: Compute(threads: 1))) { error in
            XCTAssertTrue("\(error)".contains("ln_type"), "\(error)")
        }
        let wrongType = try writeVariant(config: { $0["d_model"] = "sixty-four" })
        XCTAssertThrowsError(try AudioTokenizer(directory: wrongType, compute: Compute(threads: 1))) { error in
            XCTAssertTrue("\(error)".contains("d_model"), "\(error)")
        }
    }
}
