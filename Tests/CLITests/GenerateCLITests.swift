import Foundation
import MiMoAudio
import XCTest

final class GenerateCLITests: CLITestCase {
    func writeGrid(_ rows: [[Int]], _ name: String) throws -> String {
        try JSONSerialization.data(withJSONObject: ["input_ids": rows]).write(to: URL(fileURLWithPath: file(name)))
        return file(name)
    }

    func testGreedyTTSThroughTheCLIMatchesTheReference() throws {
        let golden = try SafeTensorsFile(url: Self.fixtures.appendingPathComponent("generation_goldens.safetensors"))
        let promptFlat = try golden.int64s("gen_tts.prompt_input_ids").map(Int.init)
        let grid = try writeGrid((0..<9).map { Array(promptFlat[($0 * 140)..<(($0 + 1) * 140)]) }, "grid.json")
        let lm = Self.fixtures.appendingPathComponent("lm").path
        let r = try run([
            "generate", "--model", lm, "--audio-tokenizer", tokenizer, "--prompt-grid", grid, "--greedy",
            "--min-new-tokens", "6", "--max-new-tokens", "16", "--stop", "<|endoftext|>", "--stop", "<|eostm|>",
            "--stop", "962", "--json", "-o", file("tts.wav"), "--sample-format", "f32",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let newFlat = try golden.int64s("gen_tts.new_ids").map(Int.init)
        XCTAssertEqual(json["new_ids"] as? [[Int]], (0..<9).map { Array(newFlat[($0 * 28)..<(($0 + 1) * 28)]) })
        XCTAssertEqual(json["stop_reason"] as? String, "stop_token")
        XCTAssertEqual(json["stop_token"] as? String, "<|im_end|>")
        let wav = try WAVReader.read(contentsOf: URL(fileURLWithPath: file("tts.wav")))
        let reference = try golden.floats("gen_tts.wav")
        XCTAssertEqual(wav.interleavedSamples.count, reference.count)
        // The same decode as the codec parity tests, through an f32 WAV: > 60 dB as required.
        var signal = 0.0
        var noise = 0.0
        for (a, b) in zip(wav.interleavedSamples, reference) {
            signal += Double(b * b)
            noise += Double((a - b) * (a - b))
        }
        XCTAssertGreaterThan(10 * log10(signal / max(noise, 1e-30)), 60)
    }

    func testConvertThenGenerateAndQuantizeWhileLoading() throws {
        let lm = Self.fixtures.appendingPathComponent("lm").path
        let grid = try writeGrid(
            [[5, -100, -100, -100]]
                + [1024, 1024, 128, 128, 128, 128, 128, 128].map { Array(repeating: $0, count: 4) }, "g.json")
        let converted = file("lm-q8")
        let c = try run(["convert", "--format", "q8", lm, converted])
        XCTAssertEqual(c.status, 0, c.stderr)
        let g = try run([
            "generate", "--model", converted, "--prompt-grid", grid, "--stop", "<|im_end|>", "--greedy",
            "--max-new-tokens", "3", "--json",
        ])
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(g.stdout.utf8)) as? [String: Any])
        let q = try run([
            "tts", "--model", lm, "--quantize", "q4", "--audio-tokenizer", tokenizer, "Hi.", "--seed", "1",
            "--max-new-tokens", "4", "-o", file("q.wav"),
        ])
        XCTAssertEqual(q.status, 0, q.stderr)
        // A q8 checkpoint is not quantized again to q4.
        let requantize = try run([
            "generate", "--model", converted, "--prompt-grid", grid, "--stop", "<|im_end|>", "--quantize", "q4",
        ])
        XCTAssertEqual(requantize.status, 1, requantize.stderr)
        XCTAssertTrue(requantize.stderr.contains("already quantized"), requantize.stderr)
        for bad in [
            ["convert", "--format", "q3", lm, file("x")], ["convert", "--format", "q8", lm, lm],
            ["tts", "--model", lm, "--quantize", "int2", "--audio-tokenizer", tokenizer, "Hi.", "-o", file("x.wav")],
        ] {
            let r = try run(bad)
            XCTAssertTrue(r.exited && (r.status == 1 || r.status == 64), "\(bad): \(r.stderr)")
        }
    }

    func testGenerateRejectsBadInput() throws {
        let lm = Self.fixtures.appendingPathComponent("lm").path
        let badCodes = try writeGrid(
            [[984, -100, -100, -100]] + Array(repeating: [1024, 1024, 1024, 5000], count: 8), "codes.json")
        let ragged = try writeGrid([[5, -100, -100, -100], [1]], "ragged.json")
        let garbage = file("garbage.json")
        try Data("{\"input_ids\": 3}".utf8).write(to: URL(fileURLWithPath: garbage))
        let midGroup = try writeGrid(
            [[5, 7, -100, -100]] + [1024, 1024, 128, 128, 128, 128, 128, 128].map { Array(repeating: $0, count: 4) },
            "mid.json")
        let ok = try writeGrid(
            [[5, -100, -100, -100]]
                + [1024, 1024, 128, 128, 128, 128, 128, 128].map { Array(repeating: $0, count: 4) }, "ok.json")
        let cases: [([String], String)] = [
            (["generate", "--model", lm, "--prompt-grid", badCodes, "--stop", "<|im_end|>"], "5000"),
            (["generate", "--model", lm, "--prompt-grid", ragged, "--stop", "<|im_end|>"], "rows"),
            (
                ["generate", "--model", lm, "--prompt-grid", midGroup, "--stop", "<|im_end|>"],
                "text id 7 at column 1 is inside group 0"
            ),
            (
                [
                    "generate", "--model", lm, "--prompt-grid", ok, "--stop", "1", "--min-new-tokens", "9",
                    "--max-new-tokens", "3",
                ], "--min-new-tokens"
            ),
            (["generate", "--model", lm, "--prompt-grid", garbage, "--stop", "<|im_end|>"], "input_ids"),
            (["generate", "--model", lm, "--prompt-grid", ok, "--stop", "<|nope|>"], "<|nope|>"),
            (["generate", "--model", lm, "--prompt-grid", ok, "--stop", "99999"], "99999"),
            (["generate", "--model", lm, "--prompt-grid", ok], "--stop"),
            (["generate", "--model", lm, "--prompt-grid", ok, "--stop", "1", "-o", file("x.wav")], "audio-tokenizer"),
            (["generate", "--model", scratch.path, "--prompt-grid", ok, "--stop", "1"], "config.json"),
        ]
        for (arguments, expected) in cases {
            let r = try run(arguments)
            XCTAssertTrue(r.exited, "\(arguments) crashed: \(r.stderr)")
            XCTAssertTrue(r.status == 1 || r.status == 64, "\(arguments): status \(r.status): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(arguments): stderr lacks '\(expected)': \(r.stderr)")
        }
    }
}
