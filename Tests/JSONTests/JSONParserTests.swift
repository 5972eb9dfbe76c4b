import JSON
import XCTest

final class JSONParserTests: XCTestCase {
    private func parse(_ text: String) throws -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    func testScalarsAndNumbers() throws {
        XCTAssertEqual(
            try parse(" [true, false, null, 0, -12, 1.5, 1e-06, 2E+3, -0.0] "),
            .array([
                .bool(true), .bool(false), .null, .int(0), .int(-12), .double(1.5), .double(1e-6), .double(2000),
                .double(-0.0),
            ]))
        // Either side of the 18-character fast path for integers.
        XCTAssertEqual(
            try parse("[999999999999999999, -99999999999999999, 1234567890123456789, -0]"),
            .array([
                .int(999_999_999_999_999_999), .int(-99_999_999_999_999_999), .int(1_234_567_890_123_456_789), .int(0),
            ]))
        XCTAssertEqual(try parse("-9223372036854775808"), .int(Int.min))
        XCTAssertEqual(try parse("9223372036854775807"), .int(Int.max))
        XCTAssertEqual(try parse("9223372036854775808"), .double(9_223_372_036_854_775_808))
    }

    func testStrings() throws {
        XCTAssertEqual(try parse(#""a\"b\\c\/d\n\t\u00fc\ud83d\ude00 é""#), .string("a\"b\\c/d\n\tü😀 é"))
        // Raw text before the first escape is kept too.
        XCTAssertEqual(
            try parse(#"["ü\u00e9x", "plain", "", "\"\""]"#),
            .array([.string("üéx"), .string("plain"), .string(""), .string("\"\"")]))
    }

    /// `JSONSerialization` on Linux drops a leading U+FEFF from strings; here it is text.
    func testByteOrderMarkInStringsIsKept() throws {
        guard case .array(let strings) = try parse("[\"\u{FEFF}a\", \"\\uFEFF\"]") else {
            return XCTFail("not an array")
        }
        let scalars = strings.map { value -> [UInt32] in
            guard case .string(let text) = value else { return [] }
            return text.unicodeScalars.map(\.value)
        }
        XCTAssertEqual(scalars, [[0xFEFF, 0x61], [0xFEFF]])
    }

    func testRejectsInvalidDocuments() {
        let invalid = [
            "", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "1e", "+1", "NaN", "tru", "\"\\x\"",
            "\"\\ud800\"", "\"\\udc00\"", "\"a\nb\"", "\"unterminated", "{1:2}", "[1 2]", "1e999", "{\"a\":1,\"a\":2}",
            String(repeating: "[", count: JSONParser.maximumDepth + 1),
        ]
        for text in invalid {
            XCTAssertThrowsError(try parse(text), text)
        }
        XCTAssertThrowsError(try JSONParser.parse(Array("[\"é\", \"".utf8) + [0xC3, 0x28, 0x22, 0x5D])) {
            XCTAssertEqual(($0 as? JSONParseError)?.description, "text is not valid UTF-8 at byte 8")
        }
    }

    func testDeepButLegalNesting() throws {
        let depth = JSONParser.maximumDepth
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        XCTAssertNoThrow(try parse(text))
    }

    func testSerializationSortsKeysAndEscapes() throws {
        let value = JSONValue.object(["b": .int(1), "a": .array([.string("x\"\u{1}"), .null])])
        XCTAssertEqual(value.serialized(), #"{"a":["x\"\u0001",null],"b":1}"#)
        XCTAssertEqual(try parse(value.serialized()), value)
    }
}
