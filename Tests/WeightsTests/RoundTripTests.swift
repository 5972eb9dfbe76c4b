import Foundation
import XCTest

@testable import Weights

final class RoundTripTests: XCTestCase {
    private func writeAndOpen(_ writer: SafeTensorsWriter) throws -> SafeTensorsFile {
        let url = try makeTemporaryDirectory(self).appendingPathComponent("t.safetensors")
        try writer.write(to: url)
        return try SafeTensorsFile(url: url)
    }

    func testFloatDTypesRoundTrip() throws {
        let values: [Float] = [0, -0.0, 1, -2.5, 0.15625, 1024, -49152]  // all exact in f16/bf16
        var writer = SafeTensorsWriter()
        for dtype in [DType.f32, .f64, .f16, .bf16] {
            try writer.add("x.\(dtype.rawValue)", floats: values, shape: [7, 1], as: dtype)
        }
        let file = try writeAndOpen(writer)
        for dtype in [DType.f32, .f64, .f16, .bf16] {
            let name = "x.\(dtype.rawValue)"
            XCTAssertEqual(
                file.info(name), TensorInfo(name: name, dtype: dtype, shape: [7, 1], byteCount: 7 * dtype.byteSize))
            let decoded = try file.floats(name)
            XCTAssertEqual(decoded.map(\.bitPattern), values.map(\.bitPattern), name)
        }
    }

    func testIntegerDTypesRoundTrip() throws {
        var writer = SafeTensorsWriter()
        try writer.add("i64", int64s: [Int64.min, -1, 0, Int64.max], shape: [2, 2])
        try writer.add("i32", int64s: [Int64(Int32.min), -1, 7, Int64(Int32.max)], shape: [4], as: .i32)
        try writer.add("i16", int64s: [-32768, 32767], shape: [2], as: .i16)
        try writer.add("i8", int64s: [-128, 127], shape: [2], as: .i8)
        try writer.add("u8", int64s: [0, 255], shape: [2], as: .u8)
        try writer.add("bool", dtype: .bool, shape: [3], bytes: Data([1, 0, 1]))
        try writer.add("u16", dtype: .u16, shape: [1], bytes: Data([0xFF, 0xFF]))
        try writer.add("u32", dtype: .u32, shape: [1], bytes: Data([0xFF, 0xFF, 0xFF, 0xFF]))
        try writer.add("scalar", int64s: [42], shape: [])
        try writer.add("empty", int64s: [], shape: [0, 5])
        let file = try writeAndOpen(writer)

        XCTAssertEqual(try file.int64s("i64"), [Int64.min, -1, 0, Int64.max])
        XCTAssertEqual(try file.int64s("i32"), [Int64(Int32.min), -1, 7, Int64(Int32.max)])
        XCTAssertEqual(try file.int64s("i16"), [-32768, 32767])
        XCTAssertEqual(try file.int64s("i8"), [-128, 127])
        XCTAssertEqual(try file.int64s("u8"), [0, 255])
        XCTAssertEqual(try file.int64s("bool"), [1, 0, 1])
        XCTAssertEqual(try file.int64s("u16"), [65535])
        XCTAssertEqual(try file.int64s("u32"), [4_294_967_295])
        XCTAssertEqual(try file.int64s("scalar"), [42])
        XCTAssertEqual(file.info("scalar")?.shape, [])
        XCTAssertEqual(try file.int64s("empty"), [])
        XCTAssertEqual(file.info("empty")?.shape, [0, 5])
        XCTAssertEqual(Array(try file.bytes("bool")), [1, 0, 1])
    }

    func testEveryDTypeRoundTripsAsRawBytes() throws {
        var writer = SafeTensorsWriter()
        var expected: [String: [UInt8]] = [:]
        for (index, dtype) in DType.allCases.enumerated() {
            let bytes = (0..<(3 * dtype.byteSize)).map { UInt8(truncatingIfNeeded: $0 * 31 + index) }
            expected[dtype.rawValue] = bytes
            try writer.add(dtype.rawValue, dtype: dtype, shape: [3], bytes: Data(bytes))
        }
        let file = try writeAndOpen(writer)
        XCTAssertEqual(file.names, DType.allCases.map(\.rawValue).sorted())
        for dtype in DType.allCases {
            XCTAssertEqual(file.info(dtype.rawValue)?.dtype, dtype)
            XCTAssertEqual(try file.withBytes(dtype.rawValue) { Array($0) }, expected[dtype.rawValue])
        }
    }

    func testMetadataRoundTrip() throws {
        var writer = SafeTensorsWriter()
        writer.metadata = ["format": "pt", "note": "quote \" and \\ and ü and \n"]
        try writer.add("w", floats: [1], shape: [1])
        let file = try writeAndOpen(writer)
        XCTAssertEqual(file.metadata, writer.metadata)
    }

    func testHeaderIsSortedPaddedAndDataAligned() throws {
        var writer = SafeTensorsWriter()
        writer.metadata = ["format": "pt"]
        try writer.add("b.byte", dtype: .u8, shape: [3], bytes: Data([1, 2, 3]))
        try writer.add("a.double", floats: [1, 2], shape: [2], as: .f64)
        try writer.add("c.half", floats: [1], shape: [1], as: .f16)
        try writer.add("d.float", floats: [1], shape: [1])
        let data = writer.serialized()

        let headerLength = Int(
            data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) })
        XCTAssertEqual(headerLength % 8, 0)
        let headerText = String(decoding: data[8..<8 + headerLength], as: UTF8.self)
        XCTAssertTrue(headerText.hasPrefix("{\"__metadata__\""), headerText)
        XCTAssertTrue(headerText.hasSuffix("}") || headerText.hasSuffix(" "))
        let positions = ["a.double", "b.byte", "c.half", "d.float"].map {
            headerText.range(of: "\"\($0)\"")?.lowerBound
        }
        XCTAssertEqual(positions.compactMap { $0 }, positions.compactMap { $0 }.sorted())
        XCTAssertEqual(positions.compactMap { $0 }.count, 4)

        guard case .object(let header)? = try? JSONParser.parse(Array(data[8..<8 + headerLength])) else {
            return XCTFail("header is not a JSON object")
        }
        var spans: [(Int, Int)] = []
        for (name, entry) in header where name != "__metadata__" {
            guard case .object(let fields) = entry, case .array(let offsets)? = fields["data_offsets"],
                case .string(let dtypeName)? = fields["dtype"], let dtype = DType(rawValue: dtypeName),
                let begin = offsets.first?.intValue, let end = offsets.last?.intValue
            else { return XCTFail("bad entry \(name)") }
            XCTAssertEqual((8 + headerLength + begin) % dtype.byteSize, 0, "\(name) misaligned")
            spans.append((begin, end))
        }
        // Contiguous, gap-free, and covering the whole data section.
        spans.sort { $0.0 < $1.0 }
        var cursor = 0
        for (begin, end) in spans {
            XCTAssertEqual(begin, cursor)
            cursor = end
        }
        XCTAssertEqual(cursor, data.count - 8 - headerLength)
    }

    func testWriterRejectsBadInput() throws {
        var writer = SafeTensorsWriter()
        XCTAssertThrowsError(try writer.add("w", floats: [1, 2, 3], shape: [2, 2]))
        XCTAssertThrowsError(try writer.add("w", dtype: .f32, shape: [-1], bytes: Data()))
        XCTAssertThrowsError(try writer.add("w", int64s: [1 << 40], shape: [1], as: .i32))
        XCTAssertThrowsError(try writer.add("w", floats: [1], shape: [1], as: .i64))
        XCTAssertThrowsError(try writer.add("__metadata__", floats: [1], shape: [1]))
        try writer.add("w", floats: [1], shape: [1])
        XCTAssertThrowsError(try writer.add("w", floats: [1], shape: [1]))
    }

    func testWriteReplacesExistingFile() throws {
        let url = try makeTemporaryDirectory(self).appendingPathComponent("t.safetensors")
        var first = SafeTensorsWriter()
        try first.add("old", floats: [1], shape: [1])
        try first.write(to: url)
        var second = SafeTensorsWriter()
        try second.add("new", floats: [2], shape: [1])
        try second.write(to: url)
        XCTAssertEqual(try SafeTensorsFile(url: url).names, ["new"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path + ".partial"))
    }
}
