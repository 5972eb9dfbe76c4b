import Foundation
import MiMoAudio
import XCTest

/// Every task command end to end on the tiny fixtures, through the real binary.
final class TaskCLITests: CLITestCase {
    var lm: String { Self.fixtures.appendingPathComponent("lm").path }
    var wav: String { Self.fixtures.appendingPathComponent("test_audio.wav").path }
    var clip2: String { Self.fixtures.appendingPathComponent("tasks/clip2.wav").path }
    var golden: SafeTensorsFile {
        try! SafeTensorsFile(url: Self.fixtures.appendingPathComponent("generation_goldens.safetensors"))
    }

    func json(_ r: Run, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        let object = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout, file: file, line: line)
        for key in ["text", "new_ids", "codes", "stop_reason", "stop_token", "timings"] {
            XCTAssertNotNil(object[key], "missing \(key)", file: file, line: line)
        }
        return object
    }

    func rows(_ name: String, columns: Int) throws -> [[Int]] {
        let flat = try golden.int64s(name).map(Int.init)
        return (0..<9).map { Array(flat[($0 * columns)..<(($0 + 1) * columns)]) }
    }

    func snr(_ a: [Float], _ b: [Float]) -> Double {
        var s = 0.0
        var n = 0.0
        for (x, y) in zip(a, b) {
            s += Double(y * y)
            n += Double((x - y) * (x - y))
        }
        return 10 * log10(s / max(n, 1e-30))
    }

    /// The reference's greedy ASR generation (template 3) reproduced through `asr`.
    func testASRReproducesTheGreedyGolden() throws {
        let r = try run([
            "asr", "--model", lm, "--audio-tokenizer", tokenizer, wav, "--greedy", "--template-index", "3",
            "--min-new-tokens", "4", "--max-new-tokens", "16", "--json",
        ])
        let j = try json(r)
        XCTAssertEqual(j["new_ids"] as? [[Int]], try rows("gen_asr.new_ids", columns: 32))
        XCTAssertEqual(j["stop_reason"] as? String, "stop_token")
        XCTAssertEqual(j["stop_token"] as? String, "<|im_end|>")
        XCTAssertEqual((j["codes"] as? [[Int]])?.first?.count, 8, "ASR text channel had two audio patches")
    }

    /// The reference's greedy TTS generation (English template 1), its waveform, and the same
    /// audio streamed to a WAV file and to stdout.
    func testTTSReproducesTheGreedyGoldenAndStreams() throws {
        let args = [
            "tts", "--model", lm, "--audio-tokenizer", tokenizer, "Hello from the tiny MiMo fixture.", "--greedy",
            "--template-index", "1", "--min-new-tokens", "6", "--max-new-tokens", "16", "--json",
        ]
        let j = try json(try run(args + ["-o", file("tts.wav"), "--sample-format", "f32"]))
        XCTAssertEqual(j["new_ids"] as? [[Int]], try rows("gen_tts.new_ids", columns: 28))
        let reference = try golden.floats("gen_tts.wav")
        let out = try WAVReader.read(contentsOf: URL(fileURLWithPath: file("tts.wav")))
        XCTAssertEqual(out.interleavedSamples.count, 960 * 16, "960 samples per frame, 16 frames")
        XCTAssertGreaterThan(snr(out.interleavedSamples, reference), 60)

        let streamed = try json(try run(args + ["-o", file("stream.wav"), "--stream", "--stream-chunk", "4"]))
        XCTAssertNotNil(streamed["stream"])
        let s = try WAVReader.read(contentsOf: URL(fileURLWithPath: file("stream.wav")))
        XCTAssertEqual(s.format, .signed16)
        XCTAssertEqual(s.interleavedSamples.count, 960 * 16, "the header was finalised with every sample")
        // Raw PCM on stdout: testRawPCMOnStdoutHasTheExpectedLength.
    }

    func testRawPCMOnStdoutHasTheExpectedLength() throws {
        let process = Process()
        process.executableURL = Bundle.main.bundleURL.appendingPathComponent("mimo-audio")
        process.arguments = [
            "tts", "--model", lm, "--audio-tokenizer", tokenizer, "Hello from the tiny MiMo fixture.", "--greedy",
            "--template-index", "1", "--min-new-tokens", "6", "--max-new-tokens", "16", "-o", "-", "--stream",
        ]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(data.count, 2 * 960 * 16, "16-bit mono samples, 960 per frame")
    }

    func testEveryOtherTaskRunsEndToEnd() throws {
        let common = ["--model", lm, "--audio-tokenizer", tokenizer, "--seed", "7", "--max-new-tokens", "6", "--json"]
        // TTS variants.
        for extra in [
            ["--instruct", "Speak slowly."], ["--instruct", "Speak slowly.", "--voice", clip2], ["--natural"],
            ["--natural", "--voice", clip2],
        ] {
            let j = try json(try run(["tts", "Hello there."] + common + extra + ["-o", file("v.wav")]))
            XCTAssertNotNil(j["text"])
            XCTAssertEqual(
                try WAVReader.read(contentsOf: URL(fileURLWithPath: file("v.wav"))).interleavedSamples.count % 960, 0)
        }
        let plainWithVoice = try run(["tts", "Hello there."] + common + ["--voice", clip2, "-o", file("p.wav")])
        XCTAssertTrue(plainWithVoice.stderr.contains("ignores the voice prompt"), plainWithVoice.stderr)
        // Audio understanding, with and without thinking.
        _ = try json(try run(["ask", wav, "What is this?"] + common))
        _ = try json(try run(["ask", wav, "What is this?", "--think"] + common))
        // Text chat.
        _ = try json(try run(["text-chat", "Hello!"] + common.filter { $0 != tokenizer && $0 != "--audio-tokenizer" }))
        // Spoken and speech-to-text dialogue from a conversation file.
        let conversation = file("conversation.json")
        try JSONSerialization.data(withJSONObject: [
            "system": "Be brief.", "voice": clip2,
            "turns": [
                ["role": "user", "audio": wav], ["role": "assistant", "text": "Hi.", "audio": clip2],
                ["role": "user", "audio": clip2],
            ],
        ]).write(to: URL(fileURLWithPath: conversation))
        _ = try json(try run(["chat", "--conversation", conversation] + common + ["-o", file("c.wav")]))
        XCTAssertTrue(FileManager.default.fileExists(atPath: file("c.wav")))
        _ = try json(try run(["chat", "--conversation", conversation, "--text-only", "--think"] + common))
        // In-context learning and continuation (Base-model tasks; the tiny LM stands in).
        let examples = file("examples.json")
        try JSONSerialization.data(withJSONObject: [["input": wav, "output": clip2, "transcript": "Yes."]])
            .write(to: URL(fileURLWithPath: examples))
        _ = try json(
            try run(
                ["icl", "--examples", examples, "--instruction", "Convert the voice.", clip2] + common + [
                    "-o", file("i.wav"),
                ]))
        let cont = try json(try run(["continue", wav, "--seconds", "0.5"] + common + ["-o", file("k.wav")]))
        XCTAssertLessThanOrEqual(
            ((cont["new_ids"] as? [[Int]])?.first?.count ?? 0) / 4, 4, "0.5 s caps generation at 4 groups")
    }

    func testInteractiveChatTakesAWAVPathPerTurn() throws {
        let process = Process()
        process.executableURL = Bundle.main.bundleURL.appendingPathComponent("mimo-audio")
        process.arguments = [
            "chat", "--model", lm, "--audio-tokenizer", tokenizer, "--seed", "3", "--max-new-tokens", "5", "-o",
            file("turn.wav"),
        ]
        let input = Pipe()
        let out = Pipe()
        process.standardInput = input
        process.standardOutput = out
        process.standardError = Pipe()
        try process.run()
        input.fileHandleForWriting.write(Data("\(wav)\n\(clip2)\n".utf8))
        try input.fileHandleForWriting.close()
        _ = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: file("turn-1.wav")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: file("turn-2.wav")))
    }

    /// Audio comes out in the format the output's name (or --audio-format) says, whole or
    /// streamed, to a file or to stdout.
    func testAudioOutputFormats() throws {
        let tts = [
            "tts", "--model", lm, "--audio-tokenizer", tokenizer, "Hello from the tiny MiMo fixture.", "--greedy",
            "--template-index", "1", "--min-new-tokens", "6", "--max-new-tokens", "16",
        ]
        let magic: [String: [UInt8]] = [
            "mp3": Array("ID3".utf8), "flac": Array("fLaC".utf8), "opus": Array("OggS".utf8),
            "ogg": Array("OggS".utf8), "m4a": Array("ftyp".utf8), "aac": [0xFF], "wav": Array("RIFF".utf8),
        ]
        for (ext, bytes) in magic {
            for streamed in [false, true] {
                let out = file("out-\(streamed).\(ext)")
                let r = try run(tts + ["-o", out] + (streamed ? ["--stream", "--stream-chunk", "4"] : []))
                XCTAssertEqual(r.status, 0, "\(ext): \(r.stderr)")
                let data = try Data(contentsOf: URL(fileURLWithPath: out))
                let head = ext == "m4a" ? Array(data[4..<8]) : Array(data.prefix(bytes.count))
                XCTAssertEqual(head, bytes, "\(ext) (streamed: \(streamed)) is not that format")
                // 16 frames of 960 samples; lossy codecs pad or trim at most a frame or two.
                let decoded = try AudioInput.load(URL(fileURLWithPath: out), sampleRate: 24000)
                XCTAssertEqual(Double(decoded.count), 960 * 16, accuracy: 2048, "\(ext) (streamed: \(streamed))")
            }
        }
        // stdout: raw PCM by default, any format with --audio-format.
        let raw = try run(["codec", "roundtrip", "--audio-tokenizer", tokenizer, wav, "-o", "-"])
        XCTAssertEqual(raw.status, 0, raw.stderr)
        let flac = try run([
            "codec", "roundtrip", "--audio-tokenizer", tokenizer, wav, "-o", "-", "--audio-format", "flac",
        ])
        XCTAssertTrue(flac.stdout.hasPrefix("fLaC"), "codec roundtrip --audio-format flac to stdout")
    }

    /// Each command's help lists the options that apply to it, and its usage line the required ones.
    func testHelpListsWhatApplies() throws {
        let textChat = try run(["text-chat", "--help"])
        XCTAssertEqual(textChat.status, 0)
        XCTAssertFalse(
            textChat.stdout.contains("--audio-tokenizer") || textChat.stdout.contains("--template-index"),
            textChat.stdout)
        let ask = try run(["ask", "--help"])
        XCTAssertFalse(ask.stdout.contains("--template-index"), ask.stdout)
        let asr = try run(["asr", "--help"])
        XCTAssertTrue(asr.stdout.contains("--template-index") && asr.stdout.contains("--language"), asr.stdout)
        // The models default to the hub repositories (a directory or another repo id overrides them).
        let help = asr.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        XCTAssertTrue(
            help.contains("default: XiaomiMiMo/MiMo-Audio-7B-Instruct")
                && help.contains("default: XiaomiMiMo/MiMo-Audio-Tokenizer"), asr.stdout)
        let version = try run(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertTrue(version.stdout.hasPrefix("mimo-audio "), version.stdout)
    }

    /// Text from a file or stdin, validated as UTF-8.
    func testTextFromAFileOrStandardInput() throws {
        let textFile = file("text.txt")
        try Data("Hello from the tiny MiMo fixture.".utf8).write(to: URL(fileURLWithPath: textFile))
        let base = [
            "--model", lm, "--audio-tokenizer", tokenizer, "--greedy", "--template-index", "1", "--min-new-tokens", "6",
            "--max-new-tokens", "16", "--json",
        ]
        let fromFile = try json(try run(["tts", "--text-file", textFile] + base + ["-o", file("a.wav")]))
        XCTAssertEqual(
            fromFile["new_ids"] as? [[Int]], try rows("gen_tts.new_ids", columns: 28),
            "the same as the text given as an argument")
        let ids = try launch(
            binary, ["text", "encode", "--model", lm, "--text-file", "-"],
            stdin: try XCTUnwrap(FileHandle(forReadingAtPath: textFile))
        ).stdout
        XCTAssertEqual(ids, "421 481 339 488 32 77 105 77 111 416 271 348 101 46\n")
        let invalid = file("bad.txt")
        try Data([0x48, 0x69, 0xC3, 0x28]).write(to: URL(fileURLWithPath: invalid))
        let bad = try run(["text", "encode", "--model", lm, "--text-file", invalid])
        XCTAssertEqual(bad.status, 1, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("invalid byte at offset 2"), bad.stderr)
        let both = try run(["text", "encode", "--model", lm, "Hi", "--text-file", invalid])
        XCTAssertEqual(both.status, 64, both.stderr)
    }

    /// Without --seed or --template-index, ASR takes a fixed instruction: two runs agree.
    func testASRIsReproducibleByDefault() throws {
        let args = ["asr", "--model", lm, "--audio-tokenizer", tokenizer, wav, "--max-new-tokens", "6", "--json"]
        let (a, b) = (try json(try run(args)), try json(try run(args)))
        XCTAssertEqual(a["new_ids"] as? [[Int]], b["new_ids"] as? [[Int]])
        XCTAssertEqual(a["seed"] as? Int, b["seed"] as? Int, "no random seed was drawn either")
        let zh = try run(args + ["--language", "zh"])
        XCTAssertEqual(zh.status, 0, zh.stderr)
        let bad = try run(args + ["--language", "fr"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
    }

    func testChatFailsWhenNoTurnIsAnswered() throws {
        let turns = file("turns.txt")
        try Data("\(file("missing-1.wav"))\n\(file("missing-2.wav"))\n".utf8).write(to: URL(fileURLWithPath: turns))
        let r = try launch(
            binary,
            ["chat", "--model", lm, "--audio-tokenizer", tokenizer, "--max-new-tokens", "2", "-o", file("t.wav")],
            stdin: try XCTUnwrap(FileHandle(forReadingAtPath: turns)))
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("missing-1.wav") && r.stderr.contains("no turn was answered"), r.stderr)
    }

    func testTextTokenizerCommands() throws {
        let enc = try run(["text", "encode", "--model", lm, "Hello from the tiny MiMo fixture.", "--json"])
        XCTAssertEqual(enc.status, 0, enc.stderr)
        let j = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(enc.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(j["ids"] as? [Int], [421, 481, 339, 488, 32, 77, 105, 77, 111, 416, 271, 348, 101, 46])
        XCTAssertEqual((j["tokens"] as? [String])?.first, "Hello")
        let dec = try run(["text", "decode", "--model", lm, "961", "117", "115", "273"])
        XCTAssertEqual(dec.stdout, "<|im_start|>user\n")
        let bad = try run(["text", "decode", "--model", lm, "99999"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("99999"))
    }

    func testTaskCommandsRejectBadInput() throws {
        // A WAV whose header declares 1 Hz: refused before resampling (it would upsample 24,000×).
        let oneHertz = file("1hz.wav")
        try WAVWriter.write(
            samples: [Float](repeating: 0.1, count: 20_000), sampleRate: 1, format: .s16,
            to: URL(fileURLWithPath: oneHertz))
        let cases: [([String], String)] = [
            (["asr", "--model", lm, "--audio-tokenizer", tokenizer, oneHertz], "sample rate of 1 Hz"),
            (
                [
                    "asr", "--model", lm, "--audio-tokenizer", tokenizer, wav, "--min-new-tokens", "9",
                    "--max-new-tokens", "3",
                ], "--min-new-tokens"
            ),
            (["asr", "--model", lm, "--audio-tokenizer", tokenizer, wav, "--seed", "9007199254740992"], "--seed"),
            (["asr", "--model", lm, "--audio-tokenizer", tokenizer, scratch.path], "directory"),
            (
                [
                    "tts", "--model", lm, "--audio-tokenizer", tokenizer, "Hi", "--natural", "--instruct", "x", "-o",
                    file("x.wav"),
                ], "--natural"
            ),
            (["asr", "--model", lm, wav], "mimo-audio download XiaomiMiMo/MiMo-Audio-Tokenizer"),
            (["asr", "--model", lm, "--audio-tokenizer", tokenizer, file("missing.wav")], "missing.wav"),
            (["asr", "--model", lm, "--audio-tokenizer", tokenizer, wav, "--template-index", "22"], "template-index"),
            (["tts", "--model", lm, "--audio-tokenizer", tokenizer, "Hi"], "-o"),
            (["tts", "--model", lm, "--audio-tokenizer", tokenizer, "Hi", "-o", file("x.xyz")], "--audio-format"),
            (
                [
                    "tts", "--model", lm, "--audio-tokenizer", tokenizer, "Hi", "-o", file("x.mp3"), "--audio-format",
                    "wav",
                ], "named as mp3"
            ),
            (
                [
                    "tts", "--model", lm, "--audio-tokenizer", tokenizer, "Hi", "-o", file("x.mp3"), "--sample-format",
                    "f32",
                ], "f32 applies to WAV"
            ),
            (
                [
                    "tts", "--model", lm, "--audio-tokenizer", tokenizer, "Hi", "-o", file("x.wav"), "--audio-format",
                    "vorbis",
                ], "audio-format"
            ),
            (
                [
                    "tts", "--model", lm, "--audio-tokenizer", tokenizer, "Hi", "-o", file("x.wav"), "--temperature",
                    "0",
                ], "temperature"
            ),
            (["chat", "--model", lm, "--audio-tokenizer", tokenizer, "--think", "-o", file("x.wav")], "text-only"),
            (
                [
                    "chat", "--model", lm, "--audio-tokenizer", tokenizer, "--conversation", file("none.json"),
                    "--text-only",
                ], "none.json"
            ),
            (
                ["icl", "--model", lm, "--audio-tokenizer", tokenizer, "--examples", wav, wav, "-o", file("x.wav")],
                "examples"
            ),
            (
                [
                    "continue", "--model", lm, "--audio-tokenizer", tokenizer, wav, "--seconds", "-1", "-o",
                    file("x.wav"),
                ], "seconds"
            ),
            (["asr", "--model", lm, "--audio-tokenizer", tokenizer, wav, "--kv-cache", "f8"], "--kv-cache"),
            (["asr", "--model", lm, "--audio-tokenizer", tokenizer, wav, "--precision", "sloppy"], "--precision"),
            (["asr", "--model", lm, "--audio-tokenizer", tokenizer, wav, "--quantize", "q3"], "q3"),
            (
                ["asr", "--model", lm, "--audio-tokenizer", tokenizer, wav, "--codec-quantize", "q4"],
                "--codec-quantize"
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
