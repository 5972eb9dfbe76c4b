import Foundation
import MiMoAudio
import TestSupport
import XCTest

/// How the reference reads a generation (`MimoAudio.forward`), on crafted generated sequences.
final class OutputExtractionTests: XCTestCase {
    func testTextAndAudioAreExtractedAsTheReferenceDoes() throws {
        let g = try Fixtures.goldens("tasks/forward_extraction.safetensors")
        let pipeline = try Pipeline(
            model: Fixtures.url("lm"), audioTokenizer: Fixtures.tokenizerDirectory, compute: Compute(threads: 2))
        let cases: [(String, String, Bool)] = [
            ("span", "Sure,<|sostm|>HiBye", true),
            ("tts_style_no_sostm", "Hi", true),
            ("max_new_tokens_no_stop", "Hi", true),  // the last real group is dropped too (reference quirk)
            ("text_only", "Sure,Hi", false),
        ]
        for (name, text, hasAudio) in cases {
            let output = try pipeline.lm.extractOutput(TokenGrid(rows: try g.intRows("forward.\(name).new_ids")))
            XCTAssertEqual(pipeline.text(output.textIDs), text, name)
            if hasAudio {
                XCTAssertEqual(output.codes, try g.intRows("forward.\(name).decoded_codes"), name)
                let wav = try pipeline.requireCodec().decode(codes: output.codes)
                XCTAssertGreaterThan(snr(wav, reference: try g.floats("forward.\(name).wav")), 60, name)
            } else {
                XCTAssertTrue(output.codes.allSatisfy { $0.isEmpty }, name)
            }
        }
    }

    /// `add_history`: the next spoken turn is appended to the whole previous sequence.
    func testSpokenDialogueHistoryIsTheWholePreviousSequence() throws {
        let g = try Fixtures.goldens("tasks/forward_extraction.safetensors")
        func grid(flat: [Int]) -> TokenGrid {
            let frames = flat.count / 9
            return TokenGrid(rows: (0..<9).map { r in (0..<frames).map { flat[$0 * 9 + r] } })
        }
        var sequence = grid(flat: try g.ints("forward.add_history.history_flat"))
        let builder = try PromptBuilder(
            tokenizer: try TextTokenizer(directory: Fixtures.url("lm")),
            config: try LMConfig(contentsOf: Fixtures.url("lm/config.json")))
        let codec = try Fixtures.tokenizer()
        let audio = try LMAudio(
            samples: try AudioInput.load(Fixtures.url("tasks/clip2.wav"), sampleRate: 24000), codec: codec,
            config: builder.config)
        let turn = try builder.grid(TaskPrompts.spokenDialogueNextTurn(audio))
        XCTAssertEqual(turn.rows, try g.intRows("forward.add_history.prompt_input_ids"))
        sequence.append(turn)
        XCTAssertEqual(sequence, grid(flat: try g.ints("forward.add_history.generate_input_flat")))
    }
}
