import Foundation
import TestSupport
import XCTest

/// Models by repo id: the CLI against the stand-in hub, with the default repositories.
final class HubCLITests: CLITestCase {
    var hub: StandInHub!
    var lm: String { Self.fixtures.appendingPathComponent("lm").path }

    override func setUpWithError() throws {
        try super.setUpWithError()
        hub = try StandInHub(repos: [
            "XiaomiMiMo/MiMo-Audio-7B-Instruct": Self.fixtures.appendingPathComponent("lm"),
            "XiaomiMiMo/MiMo-Audio-Tokenizer": Self.fixtures.appendingPathComponent("tokenizer"),
            "Other/TextOnly": Self.fixtures.appendingPathComponent("text-tokenizer"),
        ])
    }

    override func tearDownWithError() throws {
        hub.stop()
        try super.tearDownWithError()
    }

    var online: [String: String] { ["HF_ENDPOINT": hub.endpoint.absoluteString, "HF_HUB_OFFLINE": "0"] }
    var converted: URL {
        scratch.appendingPathComponent("hf-home/mimo-audio/converted/XiaomiMiMo--MiMo-Audio-7B-Instruct")
    }

    func testTTSWithTheDefaultReposDownloadsOnceAndConvertsQ4Once() throws {
        let speak = ["tts", "Hi.", "--quantize", "q4", "--seed", "1", "--max-new-tokens", "4"]
        let first = try run(speak + ["-o", file("hub.wav")], environment: online)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("converting to q4_0 once"), first.stderr)
        let commits = try FileManager.default.contentsOfDirectory(atPath: converted.path)
        XCTAssertEqual(commits.count, 1)
        let variant = converted.appendingPathComponent(commits[0]).appendingPathComponent("q4_0")
        let stamp = try FileManager.default.attributesOfItem(atPath: variant.path)[.modificationDate] as? Date

        // The second run: no request to the hub, and the converted checkpoint loaded as it is.
        try hub.reset()
        let second = try run(speak + ["-o", file("again.wav")], environment: online)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertFalse(second.stderr.contains("converting"), second.stderr)
        XCTAssertEqual(try hub.log(), [])
        XCTAssertEqual(
            try FileManager.default.attributesOfItem(atPath: variant.path)[.modificationDate] as? Date, stamp)

        // The same speech as from the fixture directories quantized while loading.
        let local = try run(
            speak + ["--model", lm, "--audio-tokenizer", tokenizer, "-o", file("local.wav")], environment: online)
        XCTAssertEqual(local.status, 0, local.stderr)
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: file("hub.wav"))),
            try Data(contentsOf: URL(fileURLWithPath: file("local.wav"))))
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: file("again.wav"))),
            try Data(contentsOf: URL(fileURLWithPath: file("local.wav"))))
    }

    func testDownloadListAndRemove() throws {
        let download = try run(["download", "XiaomiMiMo/MiMo-Audio-Tokenizer"], environment: online)
        XCTAssertEqual(download.status, 0, download.stderr)
        let path = download.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(path.hasSuffix("/snapshots/" + (path.split(separator: "/").last.map(String.init) ?? "")), path)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path + "/model.safetensors"))
        let again = try run(["download", "XiaomiMiMo/MiMo-Audio-Tokenizer"], environment: online)
        XCTAssertTrue(again.stderr.contains("already in the cache"), again.stderr)

        let list = try run(["models"], environment: online)
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdout.contains("XiaomiMiMo/MiMo-Audio-Tokenizer"), list.stdout)
        XCTAssertTrue(list.stdout.contains("main="), list.stdout)

        let remove = try run(["models", "rm", "XiaomiMiMo/MiMo-Audio-Tokenizer"], environment: online)
        XCTAssertEqual(remove.status, 0, remove.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertFalse(try run(["models"], environment: online).stdout.contains("MiMo-Audio-Tokenizer"))
        let missing = try run(["models", "rm", "XiaomiMiMo/MiMo-Audio-Tokenizer"], environment: online)
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("not in the cache"), missing.stderr)
    }

    func testErrorsNameWhatToDo() throws {
        let offline = try run(["tts", "Hi.", "-o", file("x.wav")])
        XCTAssertEqual(offline.status, 1, offline.stderr)
        XCTAssertTrue(offline.stderr.contains("mimo-audio download XiaomiMiMo/MiMo-Audio-7B-Instruct"), offline.stderr)

        let textOnly = try run(["tts", "--model", "Other/TextOnly", "Hi.", "-o", file("x.wav")], environment: online)
        XCTAssertEqual(textOnly.status, 1, textOnly.stderr)
        XCTAssertTrue(
            textOnly.stderr.contains("is not a MiMo-Audio checkpoint: it has no config.json"), textOnly.stderr)

        let swapped = try run(
            [
                "tts", "--model", lm, "--audio-tokenizer", "XiaomiMiMo/MiMo-Audio-7B-Instruct", "Hi.", "-o",
                file("x.wav"),
            ],
            environment: online)
        XCTAssertEqual(swapped.status, 1, swapped.stderr)
        XCTAssertTrue(
            swapped.stderr.contains("expected the MiMo-Audio-Tokenizer, found MiMoAudioModel"), swapped.stderr)

        let unknown = try run(["tts", "--model", "Nobody/Nothing", "Hi.", "-o", file("x.wav")], environment: online)
        XCTAssertEqual(unknown.status, 1, unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("no such model repository"), unknown.stderr)

        let bad = try run(["download", "not a repo"], environment: online)
        XCTAssertEqual(bad.status, 1, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("is not a Hugging Face repo id"), bad.stderr)
    }
}
