import Foundation
import XCTest

@testable import Weights

final class MalformedFileTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory(self)
    }

    /// Writes `bytes` to a fresh file and returns its path.
    private func store(_ bytes: Data, _ name: String = "bad.safetensors") throws -> String {
        let url = directory.appendingPathComponent(name)
        try bytes.write(to: url)
        return url.path
    }

    private func open(_ path: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(url: URL(fileURLWithPath: path))
    }

    private func entry(_ name: String = "w", dtype: String = "F32", shape: String, offsets: String) -> String {
        #"{"\#(name)":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}}"#
    }

    func testFileShorterThanLengthPrefix() throws {
        let path = try store(Data([1, 2, 3]))
        let message = assertThrows(WeightsError.truncatedHeader(path: path, fileSize: 3, declaredLength: nil)) {
            try open(path)
        }
        XCTAssertTrue(message.contains(path))
        let empty = try store(Data(), "empty.safetensors")
        assertThrows(WeightsError.truncatedHeader(path: empty, fileSize: 0, declaredLength: nil)) { try open(empty) }
    }

    func testOverlappingTensorsAreRefused() throws {
        // b's 8 bytes start inside a's.
        let header =
            #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        let path = try store(rawSafeTensors(header: header, data: [UInt8](repeating: 0, count: 12)))
        assertThrows(WeightsError.overlappingTensors(first: "a", second: "b", path: path)) { try open(path) }
        // Empty tensors take no bytes and overlap nothing.
        let fine =
            #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}"#
        XCTAssertNoThrow(
            try open(try store(rawSafeTensors(header: fine, data: [UInt8](repeating: 0, count: 8)), "fine.safetensors"))
        )
    }

    func testHeaderLongerThanFile() throws {
        let path = try store(rawSafeTensors(header: "{}", declaredLength: 1000))
        assertThrows(WeightsError.truncatedHeader(path: path, fileSize: 10, declaredLength: 1000)) { try open(path) }
    }

    func testHeaderOverLimit() throws {
        let declared: UInt64 = 100 * 1024 * 1024 + 1
        let path = try store(rawSafeTensors(header: "{}", declaredLength: declared))
        assertThrows(WeightsError.headerTooLarge(path: path, declared: declared)) { try open(path) }
        let huge = try store(rawSafeTensors(header: "{}", declaredLength: .max), "huge.safetensors")
        assertThrows(WeightsError.headerTooLarge(path: huge, declared: .max)) { try open(huge) }
    }

    func testInvalidJSON() throws {
        for (index, header) in ["{not json", "", "[]", #"{"w":1}"#, "{} x", #"{"a":{},"a":{}}"#].enumerated() {
            let path = try store(rawSafeTensors(header: header), "bad\(index).safetensors")
            XCTAssertThrowsError(try open(path), header) { error in
                guard case .invalidHeaderJSON(let reportedPath, _)? = error as? WeightsError else {
                    return XCTFail("\(header): unexpected \(error)")
                }
                XCTAssertEqual(reportedPath, path)
            }
        }
        var invalidUTF8 = Data(littleEndian([UInt64(4)]))
        invalidUTF8.append(contentsOf: [0x7B, 0xFF, 0xFE, 0x7D])
        let path = try store(invalidUTF8, "utf8.safetensors")
        XCTAssertThrowsError(try open(path))
    }

    func testMalformedEntriesNameTheTensor() throws {
        let headers = [
            #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#,
            entry(shape: "[-1]", offsets: "[0,4]"),
            entry(shape: "[1.5]", offsets: "[0,4]"),
            entry(shape: "[1]", offsets: "[0]"),
            entry(shape: "[1]", offsets: "[0,4,8]"),
            entry(shape: "[1]", offsets: "[-4,0]"),
            entry(shape: "[1]", offsets: "[0,4.0]"),
            entry(shape: "[1]", offsets: "[0,18446744073709551616]"),
            #"{"__metadata__":{"n":1}}"#,
        ]
        for (index, header) in headers.enumerated() {
            let path = try store(rawSafeTensors(header: header, data: [0, 0, 0, 0]), "e\(index).safetensors")
            XCTAssertThrowsError(try open(path), header) { error in
                guard case .invalidHeaderJSON(_, let reason)? = error as? WeightsError else {
                    return XCTFail("\(header): unexpected \(error)")
                }
                XCTAssertTrue(reason.contains("'w'") || reason.contains("__metadata__"), reason)
            }
        }
    }

    func testUnknownDType() throws {
        let path = try store(rawSafeTensors(header: entry(dtype: "Q4_K", shape: "[1]", offsets: "[0,1]"), data: [0]))
        let message = assertThrows(WeightsError.unknownDType(tensor: "w", dtype: "Q4_K", path: path)) { try open(path) }
        XCTAssertTrue(message.contains("Q4_K") && message.contains("'w'"))
    }

    func testOffsetsPastEnd() throws {
        let path = try store(rawSafeTensors(header: entry(shape: "[2]", offsets: "[0,8]"), data: [0, 0, 0, 0]))
        assertThrows(WeightsError.offsetsOutOfRange(tensor: "w", begin: 0, end: 8, dataSize: 4, path: path)) {
            try open(path)
        }
    }

    func testBeginAfterEnd() throws {
        let path = try store(rawSafeTensors(header: entry(shape: "[1]", offsets: "[4,0]"), data: [0, 0, 0, 0]))
        let message = assertThrows(
            WeightsError.offsetsOutOfRange(tensor: "w", begin: 4, end: 0, dataSize: 4, path: path)
        ) { try open(path) }
        XCTAssertTrue(message.contains("begin after end"))
    }

    func testByteLengthDisagreesWithShape() throws {
        let path = try store(rawSafeTensors(header: entry(shape: "[2]", offsets: "[0,4]"), data: [0, 0, 0, 0]))
        assertThrows(WeightsError.sizeMismatch(tensor: "w", expectedBytes: 8, actualBytes: 4, path: path)) {
            try open(path)
        }
    }

    func testShapeProductOverflow() throws {
        let shapes: [[Int]] = [[Int.max, 2], [1 << 62, 4], [Int.max / 2, 1]]
        for (index, shape) in shapes.enumerated() {
            let text = "[" + shape.map(String.init).joined(separator: ",") + "]"
            let path = try store(
                rawSafeTensors(header: entry(shape: text, offsets: "[0,4]"), data: [0, 0, 0, 0]),
                "o\(index).safetensors")
            assertThrows(WeightsError.shapeOverflow(tensor: "w", shape: shape, path: path)) { try open(path) }
        }
    }

    func testMissingFileAndDirectory() throws {
        let missing = directory.appendingPathComponent("nope.safetensors").path
        assertThrows(WeightsError.fileNotFound(path: missing)) { try open(missing) }
        assertThrows(WeightsError.cannotOpen(path: directory.path, reason: "not a regular file")) {
            try open(directory.path)
        }
    }

    func testLookupErrors() throws {
        var writer = SafeTensorsWriter()
        try writer.add("encoder.conv1.weight", floats: [Float](repeating: 0, count: 64 * 128 * 3), shape: [64, 128, 3])
        try writer.add("ids", int64s: [1, 2], shape: [2])
        let url = directory.appendingPathComponent("ok.safetensors")
        try writer.write(to: url)
        let file = try SafeTensorsFile(url: url)

        assertThrows(WeightsError.missingTensor(name: "nope", in: url.path)) { try file.bytes("nope") }
        assertThrows(WeightsError.missingTensor(name: "nope", in: url.path)) { try file.floats("nope") }
        XCTAssertNil(file.info("nope"))

        let message = assertThrows(
            WeightsError.shapeMismatch(name: "encoder.conv1.weight", expected: [1280, 128, 3], found: [64, 128, 3])
        ) { try file.require("encoder.conv1.weight", shape: [1280, 128, 3]) }
        XCTAssertEqual(message, "tensor 'encoder.conv1.weight' has shape [64, 128, 3], expected [1280, 128, 3]")
        XCTAssertEqual(try file.require("encoder.conv1.weight", shape: [64, 128, 3]).byteCount, 64 * 128 * 3 * 4)

        assertThrows(WeightsError.dtypeNotSupported(tensor: "ids", dtype: .i64, wanted: "Float")) {
            try file.floats("ids")
        }
        assertThrows(WeightsError.dtypeNotSupported(tensor: "encoder.conv1.weight", dtype: .f32, wanted: "Int64")) {
            try file.int64s("encoder.conv1.weight")
        }
    }
}
