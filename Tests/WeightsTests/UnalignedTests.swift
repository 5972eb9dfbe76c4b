import Foundation
import XCTest

@testable import Weights

final class UnalignedTests: XCTestCase {
    /// Header length 5 mod 8 and tensors at odd data offsets: every element read is misaligned.
    func testMisalignedTensorsDecode() throws {
        let floatBits = littleEndian([Float(1.5).bitPattern, Float(-3.25).bitPattern])
        let longBits = littleEndian([Int64(-7), Int64(1) << 40])
        let bf16Bits = littleEndian([UInt16(0x3FC0)])  // 1.5
        let int32Bits = littleEndian([UInt32(bitPattern: -9)])
        var data: [UInt8] = [0xEE]
        data += floatBits  // [1, 9)
        data += longBits  // [9, 25)
        data += bf16Bits  // [25, 27)
        data += int32Bits  // [27, 31)
        let header = """
            {"f":{"dtype":"F32","shape":[2],"data_offsets":[1,9]},\
            "l":{"dtype":"I64","shape":[2],"data_offsets":[9,25]},\
            "b":{"dtype":"BF16","shape":[1],"data_offsets":[25,27]},\
            "i":{"dtype":"I32","shape":[1],"data_offsets":[27,31]},\
            "d":{"dtype":"F64","shape":[0],"data_offsets":[31,31]}}
            """ + String(repeating: " ", count: 1)
        let raw = rawSafeTensors(header: header, data: data)
        XCTAssertNotEqual((raw.count - data.count) % 8, 0, "data section should start misaligned")
        let url = try makeTemporaryDirectory(self).appendingPathComponent("u.safetensors")
        try raw.write(to: url)

        let file = try SafeTensorsFile(url: url)
        XCTAssertEqual(try file.floats("f"), [1.5, -3.25])
        XCTAssertEqual(try file.int64s("l"), [-7, 1 << 40])
        XCTAssertEqual(try file.floats("b"), [1.5])
        XCTAssertEqual(try file.int64s("i"), [-9])
        XCTAssertEqual(try file.floats("d"), [])
        XCTAssertEqual(Array(try file.bytes("f")), floatBits)
    }
}
