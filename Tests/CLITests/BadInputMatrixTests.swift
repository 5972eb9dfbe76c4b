import Foundation
import MiMoAudio
import XCTest

/// The bad-input matrix: hostile files, numbers, text, paths and streams through the real
/// binary. Every case must exit by itself with the documented code (64 usage, 1 run time) and
/// a message naming what is wrong — never a signal, never a hang (a 120 s watchdog), never a
/// silent success.
final class BadInputMatrixTests: CLITestCase {
    var lm: String { Self.fixtures.appendingPathComponent("lm").path }
    var wav: String { Self.fixtures.appendingPathComponent("test_audio.wav").path }

    struct Case {
        let name: String
        let arguments: [String]
        let status: Int32
        let message: String
    }

    func bytes(_ name: String, _ data: [UInt8]) throws -> String {
        try Data(data).write(to: URL(fileURLWithPath: file(name)))
        return file(name)
    }

    func text(_ name: String, _ content: String) throws -> String {
        try Data(content.utf8).write(to: URL(fileURLWithPath: file(name)))
        return file(name)
    }

    /// A WAV header (PCM) with any declared values, then `data` bytes.
    func wavFile(
        _ name: String, rate: UInt32 = 24000, channels: UInt16 = 1, bits: UInt16 = 16, declaredData: UInt32? = nil,
        data: Int = 4800, tag: UInt16 = 1
    ) throws -> String {
        var d = Data("RIFF".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        u32(36 + UInt32(data))
        d.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16)
        u16(tag)
        u16(channels)
        u32(rate)
        u32(rate &* UInt32(channels) &* UInt32(bits / 8))
        u16(channels &* (bits / 8))
        u16(bits)
        d.append(contentsOf: Array("data".utf8))
        u32(declaredData ?? UInt32(data))
        d.append(Data(count: data))
        try d.write(to: URL(fileURLWithPath: file(name)))
        return file(name)
    }

    /// A copy of a fixture checkpoint directory, changed by `mutate`.
    func checkpoint(_ fixture: String, _ name: String, _ mutate: (URL) throws -> Void) throws -> String {
        let dir = scratch.appendingPathComponent(name)
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent(fixture), to: dir)
        try mutate(dir)
        return dir.path
    }

    func editJSON(_ url: URL, _ edit: (inout [String: Any]) -> Void) throws {
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }

    func testEveryBadInputGetsASpecificMessageAndTheDocumentedCode() throws {
        let tok = tokenizer
        func asr(_ input: String, _ extra: [String] = []) -> [String] {
            ["asr", "--model", lm, "--audio-tokenizer", tok, input] + extra
        }
        func tts(_ extra: [String]) -> [String] { ["tts", "--model", lm, "--audio-tokenizer", tok, "Hi."] + extra }
        func encode(_ input: String) -> [String] {
            ["codec", "encode", "--audio-tokenizer", tok, input, "-o", file("x.json")]
        }
        let out = ["-o", file("o.wav")]

        // Audio files.
        let mp3Text = try text("fake.mp3", "this is not an mp3 at all\n")
        let truncatedFLAC = try bytes(
            "cut.flac",
            Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("formats/test_audio.flac")).prefix(40)))
        let png = try bytes(
            "image.png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0, count: 64))
        let empty = try bytes("empty.wav", [])
        // Checkpoints.
        let noConfig = try checkpoint("lm", "lm-noconfig") {
            try FileManager.default.removeItem(at: $0.appendingPathComponent("config.json"))
        }
        let missingKey = try checkpoint("lm", "lm-nokey") {
            try self.editJSON($0.appendingPathComponent("config.json")) { $0["hidden_size"] = nil }
        }
        let badValue = try checkpoint("lm", "lm-badvalue") {
            try self.editJSON($0.appendingPathComponent("config.json")) { $0["num_hidden_layers"] = -3 }
        }
        let noTokenizer = try checkpoint("lm", "lm-notok") {
            try FileManager.default.removeItem(at: $0.appendingPathComponent("tokenizer.json"))
        }
        let badTokenizer = try checkpoint("lm", "lm-badtok") {
            try Data("{\"model\": 3".utf8).write(to: $0.appendingPathComponent("tokenizer.json"))
        }
        let configDirectory = try checkpoint("lm", "lm-configdir") { dir in
            try FileManager.default.removeItem(at: dir.appendingPathComponent("config.json"))
            try FileManager.default.createDirectory(
                at: dir.appendingPathComponent("config.json"), withIntermediateDirectories: false)
        }
        let tokenizerDirectory = try checkpoint("lm", "lm-tokdir") { dir in
            try FileManager.default.removeItem(at: dir.appendingPathComponent("tokenizer.json"))
            try FileManager.default.createDirectory(
                at: dir.appendingPathComponent("tokenizer.json"), withIntermediateDirectories: false)
        }
        let truncatedWeights = try checkpoint("lm", "lm-cut") { dir in
            let url = dir.appendingPathComponent("model.safetensors")
            try Data(contentsOf: url).prefix(5000).write(to: url)
        }
        let garbageWeights = try checkpoint("lm", "lm-garbage") {
            try Data(repeating: 0xFF, count: 100).write(to: $0.appendingPathComponent("model.safetensors"))
        }
        let codecNoConfig = try checkpoint("tokenizer", "tok-noconfig") {
            try FileManager.default.removeItem(at: $0.appendingPathComponent("config.json"))
        }
        let codecBadWeights = try checkpoint("tokenizer", "tok-cut") { dir in
            let url = dir.appendingPathComponent("model.safetensors")
            try Data(contentsOf: url).prefix(2000).write(to: url)
        }
        // Codes and grids.
        let codesNotJSON = try text("codes.json", "[1, 2, 3")
        let codesWrongShape = try text("codes2.json", #"{"codes": "nope", "sample_rate": 24000}"#)
        let codesNegative = try text(
            "codes3.json",
            #"{"codebooks":8,"codes":[[-1],[0],[0],[0],[0],[0],[0],[0]],"frame_rate":25,"frames":1,"sample_rate":24000}"#
        )
        let gridNotJSON = try text("grid.json", "{")
        let gridEmpty = try text("grid2.json", #"{"input_ids": [[],[],[],[],[],[],[],[],[]]}"#)
        let gridOK = try text(
            "grid3.json",
            #"{"input_ids": [[5,-100,-100,-100],[1024,1024,1024,1024],[1024,1024,1024,1024],[128,128,128,128],[128,128,128,128],[128,128,128,128],[128,128,128,128],[128,128,128,128],[128,128,128,128]]}"#
        )
        let conversationBadRole = try text("conv.json", #"{"turns": [{"role": "robot", "audio": "x.wav"}]}"#)
        let conversationNoUser = try text(
            "conv2.json", #"{"turns": [{"role": "assistant", "text": "Hi", "audio": "x.wav"}]}"#)
        let conversationBadType = try text("conv3.json", #"{"turns": [{"role": "user", "audio": 5}]}"#)
        let examplesEmpty = try text("ex.json", "[]")
        let invalidUTF8 = try bytes("bad.txt", [0x61, 0xFF, 0x62])

        let cases: [Case] = [
            // WAV headers and audio files.
            Case(
                name: "1 Hz WAV", arguments: asr(try wavFile("1hz.wav", rate: 1)), status: 1,
                message: "sample rate of 1 Hz"),
            Case(
                name: "7999 Hz WAV", arguments: asr(try wavFile("7999.wav", rate: 7999)), status: 1, message: "7999 Hz"),
            Case(
                name: "400 kHz WAV", arguments: asr(try wavFile("400k.wav", rate: 400_000)), status: 1,
                message: "400000 Hz"),
            Case(
                name: "zero-rate WAV", arguments: asr(try wavFile("0hz.wav", rate: 0)), status: 1,
                message: "sample rate"),
            Case(
                name: "zero-channel WAV", arguments: asr(try wavFile("0ch.wav", channels: 0)), status: 1,
                message: "channel"),
            Case(
                name: "data size past the end", arguments: asr(try wavFile("long.wav", declaredData: 4_000_000_000)),
                status: 1, message: "truncated"),
            Case(name: "12-bit WAV", arguments: asr(try wavFile("12bit.wav", bits: 12)), status: 1, message: "12"),
            Case(name: "empty WAV", arguments: asr(empty), status: 1, message: "empty"),
            Case(name: "text named .mp3", arguments: asr(mp3Text), status: 1, message: "is not an audio file ("),
            Case(name: "truncated FLAC", arguments: asr(truncatedFLAC), status: 1, message: "cut.flac"),
            Case(name: "a PNG", arguments: asr(png), status: 1, message: "image.png"),
            Case(
                name: "missing audio", arguments: asr(file("nope.wav")), status: 1, message: "No such file or directory"
            ),
            Case(name: "directory as audio", arguments: asr(scratch.path), status: 1, message: "is a directory"),
            Case(name: "codec: text as audio", arguments: encode(mp3Text), status: 1, message: "not an audio file"),
            Case(name: "codec: 1 Hz", arguments: encode(try wavFile("1hz-c.wav", rate: 1)), status: 1, message: "1 Hz"),
            // Checkpoints, configs, tokenizers.
            Case(
                name: "no config.json", arguments: asr(wav, ["--model", noConfig]), status: 1, message: "config.json"),
            Case(
                name: "config without hidden_size", arguments: asr(wav, ["--model", missingKey]), status: 1,
                message: "hidden_size"),
            Case(
                name: "negative layer count", arguments: asr(wav, ["--model", badValue]), status: 1,
                message: "num_hidden_layers"),
            Case(
                name: "no tokenizer.json", arguments: asr(wav, ["--model", noTokenizer]), status: 1,
                message: "tokenizer.json"),
            Case(
                name: "broken tokenizer.json", arguments: asr(wav, ["--model", badTokenizer]), status: 1,
                message: "tokenizer.json"),
            Case(
                name: "config.json a directory", arguments: ["text-chat", "--model", configDirectory, "Hi"], status: 1,
                message: "config.json: it is a directory"),
            Case(
                name: "tokenizer.json a directory", arguments: ["text", "encode", "--model", tokenizerDirectory, "Hi"],
                status: 1,
                message: "tokenizer.json: it is a directory"),
            Case(
                name: "truncated safetensors", arguments: asr(wav, ["--model", truncatedWeights]), status: 1,
                message: "model.safetensors"),
            Case(
                name: "garbage safetensors", arguments: asr(wav, ["--model", garbageWeights]), status: 1,
                message: "model.safetensors"),
            Case(
                name: "model directory missing", arguments: asr(wav, ["--model", file("no-model")]), status: 1,
                message: "no-model"),
            Case(
                name: "codec without config",
                arguments: ["codec", "encode", "--audio-tokenizer", codecNoConfig, wav, "-o", file("c.json")],
                status: 1, message: "config.json"),
            Case(
                name: "codec weights truncated",
                arguments: ["codec", "encode", "--audio-tokenizer", codecBadWeights, wav, "-o", file("c.json")],
                status: 1, message: "model.safetensors"),
            // Codes and grids.
            Case(
                name: "codes not JSON",
                arguments: ["codec", "decode", "--audio-tokenizer", tok, codesNotJSON, "-o", file("d.wav")], status: 1,
                message: "codes.json is not valid: not valid JSON: expected ',' or ']' at byte 8"),
            Case(
                name: "codes wrong shape",
                arguments: ["codec", "decode", "--audio-tokenizer", tok, codesWrongShape, "-o", file("d.wav")],
                status: 1, message: "codes2.json is not valid: missing key 'frame_rate'"),
            Case(
                name: "negative code",
                arguments: ["codec", "decode", "--audio-tokenizer", tok, codesNegative, "-o", file("d.wav")], status: 1,
                message: "-1"),
            Case(
                name: "grid not JSON",
                arguments: ["generate", "--model", lm, "--prompt-grid", gridNotJSON, "--stop", "1"], status: 1,
                message: "grid.json is not valid: not valid JSON: expected a string key at byte 1"),
            Case(
                name: "empty grid", arguments: ["generate", "--model", lm, "--prompt-grid", gridEmpty, "--stop", "1"],
                status: 1, message: "empty"),
            Case(
                name: "unknown stop token",
                arguments: ["generate", "--model", lm, "--prompt-grid", gridOK, "--stop", "<|nope|>"], status: 1,
                message: "<|nope|>"),
            // Numbers on the command line.
            Case(
                name: "negative seed", arguments: asr(wav, ["--seed", "-1"]), status: 64,
                message: "'-1' is invalid for '--seed"),
            Case(
                name: "seed over 2^53", arguments: asr(wav, ["--seed", "9007199254740992"]), status: 64,
                message: "--seed"),
            Case(name: "seed not a number", arguments: asr(wav, ["--seed", "abc"]), status: 64, message: "--seed"),
            Case(
                name: "zero temperature", arguments: asr(wav, ["--temperature", "0"]), status: 64,
                message: "--temperature"),
            Case(
                name: "NaN temperature", arguments: asr(wav, ["--temperature", "nan"]), status: 64,
                message: "--temperature"),
            Case(
                name: "negative temperature", arguments: asr(wav, ["--temperature", "-1"]), status: 64,
                message: "--temperature"),
            Case(name: "top-p above 1", arguments: asr(wav, ["--top-p", "1.5"]), status: 64, message: "--top-p"),
            Case(name: "top-k zero", arguments: asr(wav, ["--top-k", "0"]), status: 64, message: "--top-k"),
            Case(
                name: "audio top-p zero", arguments: asr(wav, ["--audio-top-p", "0"]), status: 64,
                message: "--audio-top-p"),
            Case(
                name: "min above max", arguments: asr(wav, ["--min-new-tokens", "10", "--max-new-tokens", "2"]),
                status: 64, message: "--min-new-tokens"),
            Case(
                name: "zero max tokens", arguments: asr(wav, ["--max-new-tokens", "0"]), status: 64,
                message: "--max-new-tokens"),
            Case(
                name: "huge max tokens", arguments: asr(wav, ["--max-new-tokens", "99999999999999999999999"]),
                status: 64, message: "--max-new-tokens"),
            Case(
                name: "negative template index", arguments: asr(wav, ["--template-index", "-2"]), status: 64,
                message: "--template-index"),
            Case(
                name: "template index too big", arguments: asr(wav, ["--template-index", "22"]), status: 64,
                message: "--template-index"),
            Case(name: "zero threads", arguments: asr(wav, ["--threads", "0"]), status: 64, message: "--threads"),
            Case(
                name: "absurd threads", arguments: asr(wav, ["--threads", "100000"]), status: 64, message: "--threads"),
            Case(
                name: "negative prefix cache", arguments: asr(wav, ["--prefix-cache", "-5"]), status: 64,
                message: "--prefix-cache"),
            Case(
                name: "zero stream chunk", arguments: tts(out + ["--stream", "--stream-chunk", "0"]), status: 64,
                message: "--stream-chunk"),
            Case(
                name: "unknown language", arguments: asr(wav, ["--language", "klingon"]), status: 64,
                message: "--language"),
            Case(
                name: "continue -1 seconds",
                arguments: ["continue", "--model", lm, "--audio-tokenizer", tok, wav, "--seconds", "-1"] + out,
                status: 64, message: "--seconds"),
            Case(
                name: "codebooks 21", arguments: encode(wav) + ["--codebooks", "21"], status: 64, message: "--codebooks"
            ),
            // Text and option combinations.
            Case(
                name: "invalid UTF-8 text file",
                arguments: ["text", "encode", "--model", lm, "--text-file", invalidUTF8], status: 1, message: "offset 1"
            ),
            Case(
                name: "missing text file",
                arguments: ["tts", "--model", lm, "--audio-tokenizer", tok, "--text-file", file("none.txt")] + out,
                status: 1, message: "none.txt"),
            Case(
                name: "text and text file", arguments: tts(out + ["--text-file", invalidUTF8]), status: 64,
                message: "not both"),
            Case(
                name: "no text at all", arguments: ["tts", "--model", lm, "--audio-tokenizer", tok] + out, status: 64,
                message: "--text-file"),
            Case(
                name: "blank text", arguments: ["tts", "--model", lm, "--audio-tokenizer", tok, "   "] + out,
                status: 64, message: "empty"),
            Case(
                name: "natural with instruct", arguments: tts(out + ["--natural", "--instruct", "x"]), status: 64,
                message: "--natural"),
            Case(name: "tts without -o", arguments: tts([]), status: 64, message: "-o"),
            Case(
                name: "think without text-only",
                arguments: ["chat", "--model", lm, "--audio-tokenizer", tok, "--think"] + out, status: 64,
                message: "--text-only"),
            Case(
                name: "conversation with a bad role",
                arguments: [
                    "chat", "--model", lm, "--audio-tokenizer", tok, "--conversation", conversationBadRole,
                    "--text-only",
                ],
                status: 64, message: "user"),
            Case(
                name: "conversation with a number for a path",
                arguments: [
                    "chat", "--model", lm, "--audio-tokenizer", tok, "--conversation", conversationBadType,
                    "--text-only",
                ],
                status: 64, message: "turns[0].audio: expected a string, found an integer"),
            Case(
                name: "conversation without a user turn last",
                arguments: [
                    "chat", "--model", lm, "--audio-tokenizer", tok, "--conversation", conversationNoUser,
                    "--text-only",
                ],
                status: 64, message: "user turn"),
            Case(
                name: "no ICL examples",
                arguments: ["icl", "--model", lm, "--audio-tokenizer", tok, "--examples", examplesEmpty, wav] + out,
                status: 64, message: "no examples"),
            Case(
                name: "default audio tokenizer not cached, offline", arguments: ["asr", "--model", lm, wav], status: 1,
                message: "mimo-audio download XiaomiMiMo/MiMo-Audio-Tokenizer"),
            Case(
                name: "template index for text chat",
                arguments: ["text-chat", "--model", lm, "Hi", "--template-index", "1"], status: 64,
                message: "--template-index"),
            Case(name: "unknown quantization", arguments: asr(wav, ["--quantize", "q3"]), status: 64, message: "q3"),
            // Output paths.
            Case(
                name: "unknown output extension", arguments: tts(["-o", file("x.xyz")]), status: 64,
                message: "--audio-format"),
            Case(
                name: "extension against --audio-format",
                arguments: tts(["-o", file("x.flac"), "--audio-format", "mp3"]), status: 64, message: "named as flac"),
            Case(
                name: "f32 for mp3", arguments: tts(["-o", file("x.mp3"), "--sample-format", "f32"]), status: 64,
                message: "f32"),
            Case(
                name: "output in a missing directory", arguments: tts(["-o", file("no/such/dir/x.wav")]), status: 1,
                message: "No such file or directory"),
            Case(
                name: "output is a directory",
                arguments: tts([
                    "-o",
                    try {
                        let d = file("d.wav")
                        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
                        return d
                    }(),
                ]),
                status: 1, message: "is a directory"),
            Case(
                name: "codes output in a missing directory",
                arguments: ["codec", "encode", "--audio-tokenizer", tok, wav, "-o", file("none/c.json")],
                status: 1, message: "No such file or directory"),
            Case(
                name: "json and audio both on stdout", arguments: tts(["-o", "-", "--json"]), status: 64,
                message: "stdout"),
        ]
        XCTAssertGreaterThanOrEqual(cases.count, 60)
        for c in cases {
            let r = try launch(binary, c.arguments, timeout: 120)
            XCTAssertFalse(r.hung, "\(c.name): hung")
            XCTAssertTrue(r.exited, "\(c.name): killed by signal \(r.status): \(r.stderr)")
            XCTAssertEqual(r.status, c.status, "\(c.name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(c.message), "\(c.name): the message lacks '\(c.message)': \(r.stderr)")
            XCTAssertFalse(
                r.stderr.contains("NSCocoaErrorDomain") || r.stderr.contains("error 256"), "\(c.name): \(r.stderr)")
        }
    }
}
