import Foundation
import XCTest

/// Output that cannot be written is reported, never trapped on or passed off as success: closed,
/// broken and full standard streams and files, through the real binary.
final class OutputStreamTests: CLITestCase {
    var lm: String { Self.fixtures.appendingPathComponent("lm").path }
    var wav: String { Self.fixtures.appendingPathComponent("test_audio.wav").path }
    /// Runs the binary through `sh -c script` ("$0" is the binary, "$@" the arguments).
    func shell(_ script: String, _ arguments: [String]) throws -> Run {
        try launch(URL(fileURLWithPath: "/bin/sh"), ["-c", script, binary.path] + arguments)
    }

    func assertFailed(
        _ r: Run, saying expected: String?, _ what: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        // `sh` exits 128 + n when the binary dies by signal n; a trap is SIGILL or SIGTRAP.
        XCTAssertTrue(r.exited, "\(what): killed by a signal", file: file, line: line)
        XCTAssertEqual(r.status, 1, "\(what): \(r.stderr)", file: file, line: line)
        if let expected { XCTAssertTrue(r.stderr.contains(expected), "\(what): \(r.stderr)", file: file, line: line) }
    }

    func testClosedStandardStreams() throws {
        assertFailed(
            try shell(#"exec "$0" "$@" >&-"#, ["text", "encode", "--model", lm, "Hello"]),
            saying: "cannot write to standard output: it is closed", "closed stdout")
        // The codec commands always print progress; with stderr closed the exit code says it failed.
        let r = try shell(
            #"exec "$0" "$@" 2>&-"#, ["codec", "encode", "--audio-tokenizer", tokenizer, wav, "-o", file("c.json")])
        assertFailed(r, saying: nil, "closed stderr")
        // Nothing the program opened took the closed stream's place.
        XCTAssertTrue(FileManager.default.fileExists(atPath: file("c.json")))
    }

    func testBrokenPipeWithSIGPIPEDefaultOrIgnored() throws {
        for (what, script) in [
            ("SIGPIPE default", #"exec "$0" "$@""#), ("SIGPIPE ignored", #"trap "" PIPE; exec "$0" "$@""#),
        ] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", script, binary.path, "text", "encode", "--model", lm, "Hello"]
            let out = Pipe()
            let err = Pipe()
            try out.fileHandleForReading.close()  // nobody will ever read: every write is EPIPE
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            assertFailed(
                Run(
                    status: process.terminationStatus, exited: process.terminationReason == .exit, stdout: "",
                    stderr: stderr),
                saying: "cannot write to standard output: Broken pipe", what)
        }
    }

    /// A full file system, simulated with a 512-byte file-size limit (SIGXFSZ ignored, so
    /// writes fail with EFBIG): stdout redirected to a file, and an output file.
    func testAFullFileSystem() throws {
        let limited = #"trap "" XFSZ; ulimit -f 1; out="$1"; shift; exec "$0" "$@" > "$out""#
        let long = String(repeating: "Hello world ", count: 200)
        assertFailed(
            try shell(limited, [file("ids.json"), "text", "encode", "--model", lm, long, "--json"]),
            saying: "cannot write to standard output: File too large", "text encode --json > full")
        let tts = [
            "tts", "--model", lm, "--audio-tokenizer", tokenizer, "Hello from the tiny MiMo fixture.", "--greedy",
            "--template-index", "1", "--min-new-tokens", "6", "--max-new-tokens", "16",
        ]
        assertFailed(
            try shell(limited, [file("tts.json")] + tts + ["--json", "-o", file("small-enough-to-fail.wav")]),
            saying: "File too large", "tts --json > full")
        assertFailed(
            try shell(
                limited,
                [file("log.txt"), "codec", "roundtrip", "--audio-tokenizer", tokenizer, wav, "-o", file("rt.wav")]),
            saying: "cannot write '\(file("rt.wav"))': File too large", "codec roundtrip -o full")
        XCTAssertFalse(FileManager.default.fileExists(atPath: file("rt.wav")), "no partial file left behind")
        assertFailed(
            try shell(limited, [file("log2.txt")] + tts + ["-o", file("s.wav"), "--stream"]),
            saying: "cannot write '\(file("s.wav"))': File too large", "tts --stream -o full")
    }

    func testAnOutputPathThatIsADirectory() throws {
        let directory = file("looks-like.wav")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let r = try run(["codec", "roundtrip", "--audio-tokenizer", tokenizer, wav, "-o", directory])
        assertFailed(r, saying: "cannot write '\(directory)': it is a directory", "-o DIR")
    }

    /// On a terminal, progress stops once text starts: the streamed transcript stays on the
    /// screen. `script` gives the program a pseudo-terminal; the screen is rebuilt from its
    /// output, honouring carriage returns and erase-to-end-of-line.
    func testProgressNeverErasesStreamedText() throws {
        let args = [
            "asr", "--model", lm, "--audio-tokenizer", tokenizer, wav, "--greedy", "--template-index", "3",
            "--min-new-tokens", "4", "--max-new-tokens", "16",
        ]
        let piped = try run(args)
        XCTAssertEqual(piped.status, 0, piped.stderr)
        let transcript = piped.stdout.trimmingCharacters(in: .newlines)
        XCTAssertFalse(transcript.isEmpty)
        let command = ([binary.path] + args).map { "'\($0)'" }.joined(separator: " ")
        let r = try shell(#"exec script -q -c "$1" /dev/null"#, [command])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\u{1B}[K"), "progress was shown on the terminal")
        let screen = Self.screen(r.stdout)
        XCTAssertTrue(
            screen.contains(transcript), "the transcript was erased; screen:\n\(screen.joined(separator: "\n"))")
    }

    /// The lines a terminal shows for `output`: "\r" returns to the line's start, "ESC[K" erases
    /// to its end, other characters overwrite.
    static func screen(_ output: String) -> [String] {
        var lines: [[Character]] = [[]]
        var column = 0
        var chars = Array(output)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "\r\n" || c == "\n" {
                lines.append([])
                column = 0
            } else if c == "\r" {
                column = 0
            } else if c == "\u{1B}", i + 2 < chars.count, chars[i + 1] == "[", chars[i + 2] == "K" {
                lines[lines.count - 1].removeSubrange(min(column, lines[lines.count - 1].count)...)
                i += 2
            } else {
                if column < lines[lines.count - 1].count {
                    lines[lines.count - 1][column] = c
                } else {
                    lines[lines.count - 1].append(c)
                }
                column += 1
            }
            i += 1
        }
        chars = []
        return lines.map { String($0) }
    }
}
