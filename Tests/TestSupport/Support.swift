import Foundation
import MiMoAudio
import XCTest

/// Helpers shared by the test targets: fixture paths, golden tensors, comparisons.
public enum Fixtures {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    public static func url(_ name: String) -> URL { root.appendingPathComponent(name) }
    public static let tokenizerDirectory = url("tokenizer")

    public static func goldens(_ name: String) throws -> SafeTensorsFile { try SafeTensorsFile(url: url(name)) }

    public static func tokenizer() throws -> AudioTokenizer {
        try AudioTokenizer(directory: tokenizerDirectory, compute: Compute(threads: 2))
    }
}

extension SafeTensorsFile {
    public func matrix(_ name: String) throws -> Matrix {
        guard let info = info(name), info.shape.count == 2 else {
            throw WeightsError.missingTensor(name: name, in: path)
        }
        return Matrix(rows: info.shape[0], cols: info.shape[1], data: try floats(name))
    }

    public func ints(_ name: String) throws -> [Int] { try int64s(name).map { Int($0) } }

    /// A `[rows, cols]` integer tensor as rows of Int.
    public func intRows(_ name: String) throws -> [[Int]] {
        guard let info = info(name), info.shape.count == 2 else {
            throw WeightsError.missingTensor(name: name, in: path)
        }
        let flat = try ints(name)
        return (0..<info.shape[0]).map { Array(flat[($0 * info.shape[1])..<(($0 + 1) * info.shape[1])]) }
    }
}

public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

public func maxAbs(_ a: [Float]) -> Float { a.reduce(0) { max($0, abs($1)) } }

/// Signal-to-noise ratio of `x` against the reference `ref`, in dB.
public func snr(_ x: [Float], reference ref: [Float]) -> Double {
    precondition(x.count == ref.count, "length \(x.count) vs \(ref.count)")
    var signal = 0.0
    var noise = 0.0
    for (a, b) in zip(x, ref) {
        signal += Double(b) * Double(b)
        noise += Double(a - b) * Double(a - b)
    }
    return noise == 0 ? .infinity : 10 * log10(signal / noise)
}

/// Asserts `actual` matches `expected` within `tolerance` (absolute), reporting the measured error.
public func assertClose(
    _ actual: Matrix, _ expected: Matrix, tolerance: Float, _ what: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(actual.rows, expected.rows, "\(what): rows", file: file, line: line)
    XCTAssertEqual(actual.cols, expected.cols, "\(what): cols", file: file, line: line)
    guard actual.rows == expected.rows && actual.cols == expected.cols else { return }
    let err = maxAbsDifference(actual.data, expected.data)
    XCTAssertLessThanOrEqual(
        err, tolerance, "\(what): max |Δ| \(err) (max |x| \(maxAbs(expected.data)))", file: file, line: line)
}

/// What a finished helper program printed.
public struct ToolRun {
    public let status: Int32
    public let stdout: Data
    public let stderr: String
    /// stdout and stderr as text, for messages.
    public var output: String { String(decoding: stdout, as: UTF8.self) + stderr }
}

/// Runs a helper program found on PATH (python3, bash, sha256sum, …) to completion.
public func runTool(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) throws
    -> ToolRun
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    if let directory { process.currentDirectoryURL = directory }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // stderr is drained on its own thread so neither pipe can fill and stall the program.
    nonisolated(unsafe) var errors = Data()
    let drained = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        errors = err.fileHandleForReading.readDataToEndOfFile()
        drained.signal()
    }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    drained.wait()
    process.waitUntilExit()
    return ToolRun(status: process.terminationStatus, stdout: stdout, stderr: String(decoding: errors, as: UTF8.self))
}
