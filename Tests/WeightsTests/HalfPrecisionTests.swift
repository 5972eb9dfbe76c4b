import Foundation
import XCTest

@testable import Weights

final class HalfPrecisionTests: XCTestCase {
    func testBFloat16RoundsToNearestEven() {
        func bf16(_ bits: UInt32) -> UInt16 { ElementEncoding.bfloat16Bits(Float(bitPattern: bits)) }
        XCTAssertEqual(bf16(0x3F80_8000), 0x3F80, "tie with even kept bit rounds down")
        XCTAssertEqual(bf16(0x3F81_8000), 0x3F82, "tie with odd kept bit rounds up")
        XCTAssertEqual(bf16(0x3F80_8001), 0x3F81, "above the tie rounds up")
        XCTAssertEqual(bf16(0x3F80_7FFF), 0x3F80, "below the tie rounds down")
        XCTAssertEqual(bf16(0xBF81_8000), 0xBF82, "negative tie rounds away from odd")
        XCTAssertEqual(bf16(0x7F7F_FFFF), 0x7F80, "largest float rounds to infinity")
        XCTAssertEqual(bf16(0x7F80_0000), 0x7F80)
        XCTAssertEqual(bf16(0xFF80_0000), 0xFF80)
        XCTAssertEqual(bf16(0x8000_0000), 0x8000)
        XCTAssertEqual(bf16(0x0000_0001), 0x0000, "smallest subnormal rounds to zero")
    }

    func testBFloat16PreservesNaN() {
        for bits: UInt32 in [0x7FC0_0000, 0x7F80_0001, 0xFF80_0001, 0x7FFF_FFFF] {
            let converted = ElementEncoding.bfloat16Bits(Float(bitPattern: bits))
            XCTAssertTrue(Float(bitPattern: UInt32(converted) << 16).isNaN, String(bits, radix: 16))
            XCTAssertEqual(converted & 0x8000, UInt16(bits >> 16) & 0x8000, "sign kept")
        }
    }

    func testBFloat16FileStoresRoundedBits() throws {
        var writer = SafeTensorsWriter()
        let inputs = [Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000), .nan]
        try writer.add("w", floats: inputs, shape: [3], as: .bf16)
        let url = try makeTemporaryDirectory(self).appendingPathComponent("b.safetensors")
        try writer.write(to: url)
        let file = try SafeTensorsFile(url: url)
        XCTAssertEqual(Array(try file.bytes("w")), [0x80, 0x3F, 0x82, 0x3F, 0xC0, 0x7F])
        let decoded = try file.floats("w")
        XCTAssertEqual(decoded[0], 1.0)
        XCTAssertEqual(decoded[1].bitPattern, 0x3F82_0000)
        XCTAssertTrue(decoded[2].isNaN)
    }

    func testFloat16DecodingCoversSpecialValues() throws {
        let cases: [(UInt16, Float)] = [
            (0x3C00, 1), (0xC000, -2), (0x7BFF, 65504), (0x0001, 0x1p-24), (0x03FF, 0x3FFp-24),
            (0x0400, 0x1p-14), (0x7C00, .infinity), (0xFC00, -.infinity), (0x0000, 0), (0x3555, 0x555p-12),
        ]
        let header = #"{"h":{"dtype":"F16","shape":[\#(cases.count + 2)],"data_offsets":[0,\#(2 * cases.count + 4)]}}"#
        let url = try makeTemporaryDirectory(self).appendingPathComponent("h.safetensors")
        try rawSafeTensors(header: header, data: littleEndian(cases.map(\.0) + [0x8000, 0x7E00])).write(to: url)
        let decoded = try SafeTensorsFile(url: url).floats("h")
        for (index, (bits, value)) in cases.enumerated() {
            XCTAssertEqual(decoded[index], value, "f16 bits \(String(bits, radix: 16))")
        }
        XCTAssertEqual(decoded[cases.count].bitPattern, (-0.0 as Float).bitPattern)
        XCTAssertTrue(decoded[cases.count + 1].isNaN)
    }

    func testFloat16EncodingRounds() {
        XCTAssertEqual(ElementEncoding.float16Bits(1.0 / 3.0), 0x3555)
        XCTAssertEqual(ElementEncoding.float16Bits(1e6), 0x7C00, "overflow saturates to infinity")
        XCTAssertEqual(ElementEncoding.float16Bits(0x1p-24), 0x0001, "subnormal kept")
        XCTAssertEqual(ElementEncoding.float16Bits(0x1p-26), 0x0000, "underflow to zero")
        XCTAssertEqual(ElementEncoding.float16Bits(1 + 0x1p-11), 0x3C00, "tie rounds to even")
        XCTAssertEqual(ElementEncoding.float16Bits(1 + 3 * 0x1p-11), 0x3C02, "tie rounds to even")
        XCTAssertTrue(Float(Float16(bitPattern: ElementEncoding.float16Bits(.nan))).isNaN)
    }
}
