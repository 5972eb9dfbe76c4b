import Foundation
import JSON
import XCTest

final class JSONValueDecoderTests: XCTestCase {
    private struct Point: Codable, Equatable {
        let x: Int
        let y: Double
    }

    private struct Everything: Codable, Equatable {
        let name: String
        let flag: Bool
        let small: Int8
        let count: UInt32
        let big: Int64
        let ratio: Float
        let points: [Point]
        let grid: [[Point]]
        let labels: [String: Int]
        let note: String?
        let kind: Kind

        enum Kind: String, Codable {
            case speech, text
        }
    }

    private struct Optionals: Decodable, Equatable {
        let a: Int?
        let b: String
    }

    private func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONValueDecoder().decode(type, from: Array(text.utf8))
    }

    /// The error decoding `text` as `type` throws; fails the test when it decodes.
    private func decodingError<T: Decodable>(
        _ type: T.Type, _ text: String, file: StaticString = #filePath, line: UInt = #line
    ) -> DecodingError? {
        do {
            let value = try decode(type, text)
            XCTFail("decoded \(value)", file: file, line: line)
        } catch let error as DecodingError {
            return error
        } catch {
            XCTFail("not a DecodingError: \(error)", file: file, line: line)
        }
        return nil
    }

    /// A coding path as `["turns", 0, "role"]`-style strings: indices in brackets.
    private func path(_ codingPath: [CodingKey]) -> [String] {
        codingPath.map { key in key.intValue.map { "[\($0)]" } ?? key.stringValue }
    }

    func testTypedRoundTripThroughJSONEncoder() throws {
        let value = Everything(
            name: "a \"quoted\"\n name é 😀", flag: true, small: -128, count: 4_000_000_000, big: -(1 << 60),
            ratio: 0.25, points: [Point(x: 1, y: -2.5), Point(x: 0, y: 1e-7)],
            grid: [[Point(x: 3, y: 4)], [], [Point(x: 5, y: 6), Point(x: 7, y: 8)]], labels: ["a": 1, "b": -2],
            note: nil, kind: .speech)
        let data = try JSONEncoder().encode(value)
        XCTAssertEqual(try JSONValueDecoder().decode(Everything.self, from: data), value)
    }

    func testNestedArraysOfStructs() throws {
        let grid = try decode([[Point]].self, #"[[{"x": 1, "y": 2}, {"x": 3, "y": 4.5}], [], [{"y": 0, "x": -1}]]"#)
        XCTAssertEqual(grid, [[Point(x: 1, y: 2), Point(x: 3, y: 4.5)], [], [Point(x: -1, y: 0)]])
    }

    func testIntegersAreExact() throws {
        // 2^53 + 1 has no Double; a decoder going through Double would return 2^53.
        XCTAssertEqual(try decode(Int64.self, "9007199254740993"), 9_007_199_254_740_993)
        XCTAssertEqual(try decode(UInt64.self, "9007199254740993"), 9_007_199_254_740_993)
        XCTAssertEqual(try decode([Int].self, "[-9223372036854775808, 9223372036854775807]"), [Int.min, Int.max])
        XCTAssertEqual(try decode(Double.self, "3"), 3)
    }

    func testIntegersOutOfRangeOrFractionalAreRejected() {
        for (text, path) in [("[300]", ["[0]"]), ("[1, -1]", ["[1]"])] {
            guard case .dataCorrupted(let context)? = decodingError([UInt8].self, text) else {
                return XCTFail("\(text): expected dataCorrupted")
            }
            XCTAssertEqual(self.path(context.codingPath), path, text)
        }
        guard case .dataCorrupted(let context)? = decodingError(Point.self, #"{"x": 1.5, "y": 0}"#) else {
            return XCTFail("a fraction decoded as Int")
        }
        XCTAssertEqual(path(context.codingPath), ["x"])
        // Above Int.max the parser has only a Double; rounding it would be silent corruption.
        guard case .dataCorrupted? = decodingError(UInt64.self, "9223372036854775809") else {
            return XCTFail("a rounded integer decoded as UInt64")
        }
        guard case .dataCorrupted? = decodingError(Float.self, "1e39") else {
            return XCTFail("a Float overflowed to infinity")
        }
    }

    func testBoolOnlyFromBooleans() throws {
        XCTAssertEqual(try decode([Bool].self, "[true, false]"), [true, false])
        for text in ["1", "0", "\"true\""] {
            guard case .typeMismatch(let type, _)? = decodingError(Bool.self, text) else {
                return XCTFail("\(text) decoded as Bool")
            }
            XCTAssertTrue(type == Bool.self, text)
        }
        guard case .typeMismatch? = decodingError(Int.self, "true") else { return XCTFail("true decoded as Int") }
    }

    func testKeyNotFoundNamesThePath() {
        struct Inner: Decodable { let c: Int }
        struct Middle: Decodable { let b: [Inner] }
        struct Outer: Decodable { let a: Middle }
        let error = decodingError(Outer.self, #"{"a": {"b": [{"c": 1}, {"d": 2}]}}"#)
        guard case .keyNotFound(let key, let context)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(key.stringValue, "c")
        XCTAssertEqual(path(context.codingPath), ["a", "b", "[1]"])
        XCTAssertEqual(error.map(JSONValueDecoder.describe), "missing key 'c' in a.b[1]")
    }

    func testTypeMismatchNamesTheKey() {
        struct Turn: Decodable { let role: String }
        struct Conversation: Decodable { let turns: [Turn] }
        let error = decodingError(Conversation.self, #"{"turns": [{"role": "user"}, {"role": 5}]}"#)
        guard case .typeMismatch(let type, let context)? = error else {
            return XCTFail("\(String(describing: error))")
        }
        XCTAssertTrue(type == String.self)
        XCTAssertEqual(path(context.codingPath), ["turns", "[1]", "role"])
        XCTAssertEqual(error.map(JSONValueDecoder.describe), "turns[1].role: expected a string, found an integer")
        guard case .typeMismatch(_, let top)? = decodingError(Conversation.self, "[]") else {
            return XCTFail("an array decoded as an object")
        }
        XCTAssertEqual(path(top.codingPath), [])
    }

    func testOptionalKeysAbsentOrNull() throws {
        XCTAssertEqual(try decode(Optionals.self, #"{"b": "x"}"#), Optionals(a: nil, b: "x"))
        XCTAssertEqual(try decode(Optionals.self, #"{"a": null, "b": "x"}"#), Optionals(a: nil, b: "x"))
        XCTAssertEqual(try decode(Optionals.self, #"{"a": 7, "b": "x"}"#), Optionals(a: 7, b: "x"))
        XCTAssertEqual(try decode([Int?].self, "[1, null, 3]"), [1, nil, 3])
        // Present but wrong is an error, not a silent nil.
        guard case .typeMismatch(_, let context)? = decodingError(Optionals.self, #"{"a": "7", "b": "x"}"#) else {
            return XCTFail("a string decoded as Int?")
        }
        XCTAssertEqual(path(context.codingPath), ["a"])
        // A required key holding null is valueNotFound, as JSONDecoder reports it.
        guard case .valueNotFound(_, let missing)? = decodingError(Optionals.self, #"{"b": null}"#) else {
            return XCTFail("null decoded as String")
        }
        XCTAssertEqual(path(missing.codingPath), ["b"])
    }

    func testInvalidJSONIsDataCorruptedWithTheParseError() {
        let error = decodingError([String: Int].self, #"{"a": 1, "a": 2}"#)
        guard case .dataCorrupted(let context)? = error else { return XCTFail("a duplicate key decoded") }
        let parseError = context.underlyingError as? JSONParseError
        XCTAssertEqual(parseError?.message, "duplicate key 'a'")
        XCTAssertEqual(parseError?.offset, 9)
        XCTAssertEqual(
            error.map(JSONValueDecoder.describe), "not valid JSON: duplicate key 'a' at byte 9")
    }

    func testByteOrderMarkInsideStringsIsKept() throws {
        let raw = try decode([String].self, "[\"\u{FEFF}x\", \"\\ufeffy\"]")
        XCTAssertEqual(raw.map { $0.unicodeScalars.first?.value }, [0xFEFF, 0xFEFF])
        XCTAssertEqual(raw.map { $0.unicodeScalars.count }, [2, 2])
    }

    func testUnkeyedContainerEndAndRetry() throws {
        struct Pair: Decodable {
            let first: Int
            let second: String
            let pastTheEnd: DecodingError?
            init(from decoder: Decoder) throws {
                var container = try decoder.unkeyedContainer()
                first = try container.decode(Int.self)
                // A failed decode does not consume the element, so another type can be tried.
                XCTAssertThrowsError(try container.decode(Int.self))
                second = try container.decode(String.self)
                XCTAssertTrue(container.isAtEnd)
                do {
                    _ = try container.decode(Int.self)
                    pastTheEnd = nil
                } catch {
                    pastTheEnd = error as? DecodingError
                }
            }
        }
        let pair = try decode(Pair.self, #"[1, "two"]"#)
        XCTAssertEqual(pair.first, 1)
        XCTAssertEqual(pair.second, "two")
        guard case .valueNotFound(_, let context)? = pair.pastTheEnd else { return XCTFail("decoded past the end") }
        XCTAssertEqual(path(context.codingPath), ["[2]"])
    }

    func testJSONValueMembersKeepTheParsedValue() throws {
        struct Loose: Decodable {
            let id: Int
            let extra: JSONValue
        }
        let loose = try decode(Loose.self, #"{"id": 1, "extra": {"n": 1.0, "list": [true, null]}}"#)
        XCTAssertEqual(loose.extra, .object(["n": .double(1), "list": .array([.bool(true), .null])]))
        XCTAssertThrowsError(try JSONDecoder().decode(JSONValue.self, from: Data("1".utf8)))
    }

    func testSuperDecoder() throws {
        struct Base: Decodable { let x: Int }
        struct Derived: Decodable {
            let base: Base
            let y: Int
            enum CodingKeys: String, CodingKey { case y }
            init(from decoder: Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                base = try Base(from: try container.superDecoder())
                y = try container.decode(Int.self, forKey: .y)
            }
        }
        let derived = try decode(Derived.self, #"{"super": {"x": 1}, "y": 2}"#)
        XCTAssertEqual([derived.base.x, derived.y], [1, 2])
        guard case .valueNotFound(_, let context)? = decodingError(Derived.self, #"{"y": 2}"#) else {
            return XCTFail("an absent super decoded")
        }
        XCTAssertEqual(path(context.codingPath), ["super"])
    }
}
