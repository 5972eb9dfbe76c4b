import Foundation
import XCTest

/// Runs the real `mimo-audio` binary: exit codes, messages and files as a user sees them.
class CLITestCase: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    var tokenizer: String { Self.fixtures.appendingPathComponent("tokenizer").path }
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mimo-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    struct Run { let status: Int32; let exited: Bool; let stdout: String; let stderr: String }

    func run(_ arguments: [String]) throws -> Run {
        // The test bundle sits next to the products it depends on.
        let binary = Bundle.main.bundleURL.appendingPathComponent("mimo-audio")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, exited: process.terminationReason == .exit, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    func file(_ name: String) -> String { scratch.appendingPathComponent(name).path }
}
