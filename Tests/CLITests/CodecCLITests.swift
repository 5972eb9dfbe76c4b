import Foundation
import MiMoAudio
import XCTest

final class CodecCLITests: CLITestCase {
    /// Compressed audio from a file and from standard input: a FLAC of the WAV gives its codes exactly.
    func testCompressedAudioFromAFileAndFromStandardInput() throws {
        let wav = Self.fixtures.appendingPathComponent("test_audio.wav").path
        let flac = Self.fixtures.appendingPathComponent("formats/test_audio.flac").path
        let reference = try run(["codec", "encode", "--audio-tokenizer", tokenizer, wav, "-o", file("wav.json")])
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let fromFile = try run(["codec", "encode", "--audio-tokenizer", tokenizer, flac, "-o", file("flac.json")])
        XCTAssertEqual(fromFile.status, 0, fromFile.stderr)
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: file("flac.json"))),
            try Data(contentsOf: URL(fileURLWithPath: file("wav.json"))))
        for input in [flac, Self.fixtures.appendingPathComponent("formats/test_audio.webm").path, wav] {
            let r = try launch(
                binary, ["codec", "encode", "--audio-tokenizer", tokenizer, "-", "-o", file("stdin.json")],
                stdin: try XCTUnwrap(FileHandle(forReadingAtPath: input)))
            XCTAssertEqual(r.status, 0, "\(input): \(r.stderr)")
            if input != Self.fixtures.appendingPathComponent("formats/test_audio.webm").path {
                XCTAssertEqual(
                    try Data(contentsOf: URL(fileURLWithPath: file("stdin.json"))),
                    try Data(contentsOf: URL(fileURLWithPath: file("wav.json"))), input)
            }
        }
        let text = try run([
            "codec", "encode", "--audio-tokenizer", tokenizer,
            Self.fixtures.appendingPathComponent("lm/config.json").path, "-o", file("x.json"),
        ])
        XCTAssertEqual(text.status, 1)
        XCTAssertTrue(text.stderr.contains("is not an audio file ("), text.stderr)
    }

    func testEncodeDecodeAndRoundtrip() throws {
        let wav = Self.fixtures.appendingPathComponent("test_audio.wav").path
        let encode = try run(["codec", "encode", "--audio-tokenizer", tokenizer, wav, "-o", file("codes.json")])
        XCTAssertEqual(encode.status, 0, encode.stderr)
        let json = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file("codes.json"))))
                as? [String: Any])
        XCTAssertEqual(json["sample_rate"] as? Int, 24000)
        XCTAssertEqual(json["frame_rate"] as? Int, 25)
        XCTAssertEqual(json["codebooks"] as? Int, 8)
        XCTAssertEqual(json["frames"] as? Int, 38, "the tokenizer's own frame count, not padded to a multiple of 4")
        let golden = try SafeTensorsFile(url: Self.fixtures.appendingPathComponent("tokenizer_goldens.safetensors"))
        let codes = try golden.int64s("rvq.codes").map(Int.init)
        XCTAssertEqual(json["codes"] as? [[Int]], (0..<8).map { Array(codes[($0 * 38)..<($0 * 38 + 38)]) })

        let decode = try run([
            "codec", "decode", "--audio-tokenizer", tokenizer, file("codes.json"), "-o", file("out.wav"),
            "--sample-format", "f32",
        ])
        XCTAssertEqual(decode.status, 0, decode.stderr)
        let decoded = try WAVReader.read(contentsOf: URL(fileURLWithPath: file("out.wav")))
        XCTAssertEqual(decoded.format, .float32)
        XCTAssertEqual(decoded.sampleRate, 24000)
        // Codes are exact, so the waveform is the decoder's parity output (> 60 dB SNR, tested in CodecTests).
        let reference = try golden.floats("decoded_wav_q8")
        XCTAssertEqual(decoded.interleavedSamples.count, reference.count)

        let roundtrip = try run([
            "codec", "roundtrip", "--audio-tokenizer", tokenizer, wav, "-o", file("rt.wav"), "--threads", "1",
        ])
        XCTAssertEqual(roundtrip.status, 0, roundtrip.stderr)
        let rt = try WAVReader.read(contentsOf: URL(fileURLWithPath: file("rt.wav")))
        XCTAssertEqual(rt.format, .signed16, "s16 is the default, as in the reference")
        XCTAssertEqual(rt.interleavedSamples.count, reference.count)

        // The q8 codec's quality is asserted in CodecTests; here, that the option reaches it.
        let q8 = try run([
            "codec", "roundtrip", "--audio-tokenizer", tokenizer, wav, "-o", file("q8.wav"), "--codec-quantize", "q8",
        ])
        XCTAssertEqual(q8.status, 0, q8.stderr)
        XCTAssertEqual(
            try WAVReader.read(contentsOf: URL(fileURLWithPath: file("q8.wav"))).interleavedSamples.count,
            reference.count)
    }

    func testEncodeResamplesStereoInput() throws {
        let wav = Self.fixtures.appendingPathComponent("stereo_44k1_16bit.wav").path
        let r = try run([
            "codec", "encode", "--audio-tokenizer", tokenizer, wav, "-o", file("c.json"), "--codebooks", "20",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let file = try CodesFile.read(URL(fileURLWithPath: file("c.json")))
        let golden = try SafeTensorsFile(url: Self.fixtures.appendingPathComponent("resample_goldens.safetensors"))
        XCTAssertEqual(file.codes.flatMap { $0 }, try golden.int64s("stereo_44k1.codes").map(Int.init))
    }

    /// Every bad input ends with a message on stderr and a non-zero exit (1, or 64 for a usage
    /// error), never a crash (a signal).
    func testBadInputsFailCleanly() throws {
        let notWAV = file("not.wav")
        try Data("hello, world".utf8).write(to: URL(fileURLWithPath: notWAV))
        let truncated = file("truncated.wav")
        try Data(try Data(contentsOf: Self.fixtures.appendingPathComponent("test_audio.wav")).prefix(30))
            .write(to: URL(fileURLWithPath: truncated))
        let tooShort = file("short.wav")
        try WAVWriter.write(
            samples: [Float](repeating: 0.1, count: 480), sampleRate: 24000, format: .s16,
            to: URL(fileURLWithPath: tooShort))
        let fewCodebooks = file("few.json")
        try CodesFile(codes: Array(repeating: [1, 2], count: 7), sampleRate: 24000, frameRate: 25)
            .write(to: URL(fileURLWithPath: fewCodebooks))
        let outOfRange = file("range.json")
        try CodesFile(codes: Array(repeating: [1, 5000], count: 8), sampleRate: 24000, frameRate: 25)
            .write(to: URL(fileURLWithPath: outOfRange))
        let garbage = file("garbage.json")
        try Data([0xFF, 0xFE, 0x00]).write(to: URL(fileURLWithPath: garbage))

        let cases: [([String], String)] = [
            (
                ["codec", "encode", "--audio-tokenizer", tokenizer, notWAV, "-o", file("x.json")],
                "is not an audio file ("
            ),
            (["codec", "encode", "--audio-tokenizer", tokenizer, truncated, "-o", file("x.json")], "truncated"),
            (["codec", "encode", "--audio-tokenizer", tokenizer, tooShort, "-o", file("x.json")], "too short"),
            (
                ["codec", "encode", "--audio-tokenizer", tokenizer, file("missing.wav"), "-o", file("x.json")],
                "missing.wav"
            ),
            (["codec", "encode", "--audio-tokenizer", scratch.path, notWAV, "-o", file("x.json")], "config.json"),
            (
                ["codec", "encode", "--audio-tokenizer", tokenizer, notWAV, "-o", file("x.json"), "--codebooks", "0"],
                "codebooks"
            ),
            (["codec", "decode", "--audio-tokenizer", tokenizer, fewCodebooks, "-o", file("x.wav")], "at least 8"),
            (["codec", "decode", "--audio-tokenizer", tokenizer, outOfRange, "-o", file("x.wav")], "5000"),
            (["codec", "decode", "--audio-tokenizer", tokenizer, garbage, "-o", file("x.wav")], "not valid"),
            (
                [
                    "codec", "decode", "--audio-tokenizer", tokenizer, fewCodebooks, "-o", file("x.wav"),
                    "--sample-format", "u8",
                ], "sample-format"
            ),
            (
                ["codec", "roundtrip", "--audio-tokenizer", tokenizer, notWAV, "-o", file("x.wav"), "--threads", "0"],
                "threads"
            ),
        ]
        for (arguments, expected) in cases {
            let r = try run(arguments)
            XCTAssertTrue(r.exited, "\(arguments) crashed: \(r.stderr)")
            XCTAssertTrue(r.status == 1 || r.status == 64, "\(arguments): status \(r.status): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(arguments): stderr lacks '\(expected)': \(r.stderr)")
        }
    }
}
