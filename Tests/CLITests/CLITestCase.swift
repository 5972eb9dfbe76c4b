import Foundation
import TestSupport
import XCTest

/// Runs the real `mimo-audio` binary: exit codes, messages and files as a user sees them.
class CLITestCase: XCTestCase {
    static let fixtures = Fixtures.root
    var tokenizer: String { Self.fixtures.appendingPathComponent("tokenizer").path }
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mimo-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    struct Run {
        let status: Int32
        let exited: Bool
        let stdout: String
        let stderr: String
        var hung = false
    }

    var binary: URL { Bundle.main.bundleURL.appendingPathComponent("mimo-audio") }

    /// Runs the real binary (the test bundle sits next to the products it depends on).
    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        try launch(binary, arguments, environment: environment)
    }

    /// The tests never touch the user's hub cache or the network: a scratch HF_HOME, offline
    /// unless a test serves a stand-in hub, and no hub settings inherited from the machine.
    var hubEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HF_") }
        environment["HF_HOME"] = scratch.appendingPathComponent("hf-home").path
        environment["HF_HUB_OFFLINE"] = "1"
        return environment
    }

    /// Runs `executable`, with standard input from `stdin` (none by default); after `timeout`
    /// seconds it is killed and `hung` reported, so a hang fails the test instead of the suite.
    func launch(
        _ executable: URL, _ arguments: [String], stdin: FileHandle = .nullDevice,
        timeout: Double = 300, environment: [String: String] = [:]
    ) throws -> Run {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = hubEnvironment.merging(environment) { $1 }
        process.standardInput = stdin
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let hung = Flag()
        let watchdog = DispatchWorkItem {
            if process.isRunning {
                hung.set()
                process.terminate()
            }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return Run(
            status: process.terminationStatus, exited: process.terminationReason == .exit,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self), hung: hung.value)
    }

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var flag = false
        func set() {
            lock.lock()
            flag = true
            lock.unlock()
        }
        var value: Bool {
            lock.lock()
            defer { lock.unlock() }
            return flag
        }
    }

    func file(_ name: String) -> String { scratch.appendingPathComponent(name).path }
}
