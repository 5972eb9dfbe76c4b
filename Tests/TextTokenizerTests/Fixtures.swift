import Foundation
import TestSupport
import XCTest

@testable import TextTokenizer

/// The tokenizer fixtures, shared across the tests.
enum TokenizerFixtures {
    static let root = Fixtures.root

    static let realDirectory = root.appendingPathComponent("text-tokenizer")
    static let tinyDirectory = root.appendingPathComponent("lm")

    /// Loading the 151k vocabulary takes a moment; share one instance across tests.
    static let real: Result<TextTokenizer, Error> = Result { try TextTokenizer(directory: realDirectory) }
    static let tiny: Result<TextTokenizer, Error> = Result { try TextTokenizer(directory: tinyDirectory) }

}

/// One encoding golden: `ids = tokenizer(text, add_special_tokens=False)`, `tokens =
/// convert_ids_to_tokens(ids)`, `decoded = decode(ids)`.
struct EncodingGolden: Decodable {
    let text: String
    let ids: [Int]
    let tokens: [String]
    let decoded: String
    let category: String?
}

/// One decoding golden: `decoded = decode(ids, skip_special_tokens=skip)`.
struct DecodingGolden: Decodable {
    let ids: [Int]
    let skipSpecialTokens: Bool
    let tokens: [String]
    let decoded: String

    enum CodingKeys: String, CodingKey {
        case ids, tokens, decoded
        case skipSpecialTokens = "skip_special_tokens"
    }
}

/// Goldens are read with `JSONDecoder`: `JSONSerialization` on Linux drops a leading U+FEFF
/// from strings, which would corrupt the byte-order-mark case.
enum Goldens {
    private struct RealFile: Decodable {
        let cases: [EncodingGolden]
        let decodeCases: [DecodingGolden]

        enum CodingKeys: String, CodingKey {
            case cases
            case decodeCases = "decode_cases"
        }
    }

    private static func realFile() throws -> RealFile {
        let data = try Data(contentsOf: TokenizerFixtures.realDirectory.appendingPathComponent("goldens.json"))
        return try JSONDecoder().decode(RealFile.self, from: data)
    }

    static func realEncodings() throws -> [EncodingGolden] { try realFile().cases }

    static func realDecodings() throws -> [DecodingGolden] { try realFile().decodeCases }

    static func tinyEncodings() throws -> [EncodingGolden] {
        let data = try Data(contentsOf: TokenizerFixtures.root.appendingPathComponent("text_tokenizer_goldens.json"))
        return try JSONDecoder().decode([EncodingGolden].self, from: data)
    }
}

/// Swift's `String ==` compares canonical equivalence; goldens must match scalar for scalar.
// swift-format-ignore: AlwaysUseLowerCamelCase
func XCTAssertSameScalars(
    _ actual: String, _ expected: String, _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    if !actual.unicodeScalars.elementsEqual(expected.unicodeScalars) {
        XCTFail(
            "\(message()): got \(actual.debugDescription), expected \(expected.debugDescription)", file: file,
            line: line)
    }
}
