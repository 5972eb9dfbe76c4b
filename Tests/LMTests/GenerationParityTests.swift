import MiMoAudio
import TestSupport
import XCTest

/// Greedy generations against the reference's `MimoAudio.forward` (fp32 tiny LM and codec).
final class GenerationParityTests: XCTestCase {
    func options(_ model: MiMoAudioLM, stops: [String], min: Int, max: Int) throws -> GenerationOptions {
        GenerationOptions(
            minNewTokens: min, maxNewTokens: max,
            stopTokens: Set(try stops.map { try model.specialTokens.id($0) }),
            textSampler: .greedy, audioSampler: .greedy, recordLogits: true)
    }

    func check(_ task: String, stops: [String], min: Int, max: Int) throws -> (MiMoAudioLM, GenerationResult) {
        let g = try Fixtures.goldens("generation_goldens.safetensors")
        let model = try MiMoAudioLM(directory: Fixtures.url("lm"), compute: Compute(threads: 2))
        let prompt = TokenGrid(rows: try g.intRows("gen_\(task).prompt_input_ids"))
        var events: [GenerationEvent] = []
        let result = try LMSession(model: model).generate(
            prompt: prompt, options: try options(model, stops: stops, min: min, max: max)
        ) {
            events.append($0)
        }
        // Token for token and code for code.
        XCTAssertEqual(result.newIDs.rows, try g.intRows("gen_\(task).new_ids"), task)
        XCTAssertEqual(
            (0..<result.newIDs.groups(size: 4)).map { result.newIDs.text(group: $0, size: 4) },
            try g.ints("gen_\(task).new_text_tokens"))
        XCTAssertEqual(result.stopReason, .stopToken)
        XCTAssertEqual(result.stopToken, try model.specialTokens.id("<|im_end|>"))
        // Each step's logits: f32 re-association only, as in the forward parity test (≤ 2e-5).
        let golden = try g.matrix("gen_\(task).text_logits_per_step")
        XCTAssertEqual(result.stepLogits.count, golden.rows)
        for (step, logits) in result.stepLogits.enumerated() where step < golden.rows {
            XCTAssertLessThanOrEqual(maxAbsDifference(logits, Array(golden.row(step))), 2e-5, "\(task) step \(step)")
        }
        let texts = events.compactMap { if case .text(let t) = $0 { return t } else { return nil } }
        XCTAssertEqual(texts, try g.ints("gen_\(task).new_text_tokens"), "one text event per group")
        XCTAssertEqual(
            events.filter { if case .audio = $0 { return true } else { return false } }.count, result.timings.patches)
        if case .finished? = events.last {} else { XCTFail("\(task): finished is not the last event") }
        return (model, result)
    }

    func testGreedyASRMatchesTheReference() throws {
        _ = try check("asr", stops: ["<|endoftext|>", "<|im_end|>"], min: 4, max: 16)
    }

    func testGreedyTTSMatchesTheReferenceAndDecodes() throws {
        let (model, result) = try check("tts", stops: ["<|endoftext|>", "<|eostm|>", "<|im_end|>"], min: 6, max: 16)
        let output = try model.extractOutput(result.newIDs)
        XCTAssertEqual(output.codes.count, 8)
        XCTAssertEqual(output.codes[0].count, 16, "4 audio groups of 4 frames")
        let codec = try Fixtures.tokenizer()
        let wav = try codec.decode(codes: output.codes)
        let reference = try Fixtures.goldens("generation_goldens.safetensors").floats("gen_tts.wav")
        XCTAssertEqual(wav.count, reference.count)
        XCTAssertGreaterThan(snr(wav, reference: reference), 60)
    }

    /// Multi-turn: a second prompt that extends the first sequence reuses the KV cache and must
    /// give what a fresh session re-prefilling everything gives.
    func testCachedContinuationEqualsFullPrefill() throws {
        let g = try Fixtures.goldens("generation_goldens.safetensors")
        let model = try MiMoAudioLM(directory: Fixtures.url("lm"), compute: Compute(threads: 2))
        let opts = try options(model, stops: ["<|endoftext|>", "<|im_end|>"], min: 4, max: 16)
        var sequence = TokenGrid(rows: try g.intRows("gen_asr.prompt_input_ids"))
        let session = LMSession(model: model)
        let first = try session.generate(prompt: sequence, options: opts)
        sequence.append(first.newIDs)
        // A new user turn: a few text groups (ids from the prompt's own text) after the stop group.
        let turn = TokenGrid(rows: sequence.rows.map { Array($0[0..<12]) })
        sequence.append(turn)
        let groupsBefore = session.cachedGroups
        let cached = try session.generate(prompt: sequence, options: opts)
        XCTAssertEqual(
            groupsBefore, sequence.groups(size: 4) - 3 - 1, "everything but the stop group and the new turn was cached")
        let fresh = try LMSession(model: model).generate(prompt: sequence, options: opts)
        XCTAssertEqual(cached.newIDs, fresh.newIDs)
        XCTAssertEqual(cached.timings.prefillGroups, 4)
        for (a, b) in zip(cached.stepLogits, fresh.stepLogits) {
            // Same math on fewer rows per GEMM call: re-association at most.
            XCTAssertLessThanOrEqual(maxAbsDifference(a, b), 1e-5)
        }
    }
}

final class GenerationStreamTests: XCTestCase {
    func testEventStreamCarriesTheSameGeneration() async throws {
        let g = try Fixtures.goldens("generation_goldens.safetensors")
        let model = try MiMoAudioLM(directory: Fixtures.url("lm"), compute: Compute(threads: 2))
        let prompt = TokenGrid(rows: try g.intRows("gen_tts.prompt_input_ids"))
        let opts = GenerationOptions(
            minNewTokens: 6, maxNewTokens: 16,
            stopTokens: Set(try ["<|endoftext|>", "<|eostm|>", "<|im_end|>"].map { try model.specialTokens.id($0) }),
            textSampler: .greedy, audioSampler: .greedy)
        var texts: [Int] = []
        var patches = 0
        var finished: GenerationResult?
        for try await event in LMSession(model: model).events(prompt: prompt, options: opts) {
            switch event {
            case .text(let t): texts.append(t)
            case .audio: patches += 1
            case .prefill: break
            case .finished(let r): finished = r
            }
        }
        let result = try XCTUnwrap(finished)
        XCTAssertEqual(result.newIDs.rows, try g.intRows("gen_tts.new_ids"))
        XCTAssertEqual(texts, try g.ints("gen_tts.new_text_tokens"))
        XCTAssertEqual(patches, 4)
    }
}
