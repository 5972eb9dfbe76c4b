import Foundation
import XCTest

@testable import Weights

/// A fresh directory under the system temp dir, removed when the test finishes.
func makeTemporaryDirectory(_ testCase: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("WeightsTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    testCase.addTeardownBlock {
        try? FileManager.default.removeItem(at: url)
    }
    return url
}

/// Hand-assembled safetensors bytes: length prefix (overridable to lie), header text, data.
func rawSafeTensors(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> Data {
    let headerBytes = Array(header.utf8)
    let length = declaredLength ?? UInt64(headerBytes.count)
    var file = Data(ElementEncoding.littleEndianBytes([length]))
    file.append(contentsOf: headerBytes)
    file.append(contentsOf: data)
    return file
}

func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    ElementEncoding.littleEndianBytes(values)
}

/// Asserts that `body` throws exactly `expected`, and returns the thrown error's message.
@discardableResult
func assertThrows<E: Error & Equatable>(
    _ expected: E, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Any
) -> String {
    do {
        _ = try body()
        XCTFail("expected \(expected) to be thrown", file: file, line: line)
        return ""
    } catch let error as E {
        XCTAssertEqual(error, expected, file: file, line: line)
        return String(describing: error)
    } catch {
        XCTFail("expected \(expected), got \(error)", file: file, line: line)
        return ""
    }
}
