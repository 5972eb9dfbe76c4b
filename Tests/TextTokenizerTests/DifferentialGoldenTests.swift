import JSON
import XCTest

@testable import TextTokenizer

/// Goldens generated with Hugging Face tokenizers 0.21.4 by Tools/make_differential_goldens.py:
/// random strings built from regex- and NFC-stressing fragments and mark-heavy strings on the
/// real tokenizer, and a variant of the tiny tokenizer whose added tokens use lstrip / rstrip /
/// single_word / normalized.
final class DifferentialGoldenTests: XCTestCase {
    private struct Case: Decodable {
        let text: String
        let ids: [Int]
        let decoded: String
        let decodedSkippingSpecial: String

        enum CodingKeys: String, CodingKey {
            case text, ids, decoded
            case decodedSkippingSpecial = "decoded_skipping_special"
        }
    }

    private struct File: Decodable {
        let random: [Case]
        let normalization: [Case]
        let flags: [Case]
        let flagsAddedTokens: [JSONValue]
        let flagsIDsAsRegistered: [String: Int]

        enum CodingKeys: String, CodingKey {
            case random, normalization, flags
            case flagsAddedTokens = "flags_added_tokens"
            case flagsIDsAsRegistered = "flags_ids_as_registered"
        }
    }

    private func load() throws -> File {
        let data = try Data(contentsOf: TokenizerFixtures.root.appendingPathComponent("differential_goldens.json"))
        return try JSONValueDecoder().decode(File.self, from: data)
    }

    private func check(_ cases: [Case], with tokenizer: TextTokenizer, expectedCount: Int) {
        XCTAssertEqual(cases.count, expectedCount)
        var failures = 0
        for golden in cases {
            let ids = tokenizer.encode(golden.text)
            let decoded = tokenizer.decode(golden.ids)
            let skipped = tokenizer.decode(golden.ids, skipSpecialTokens: true)
            let same =
                ids == golden.ids
                && decoded.unicodeScalars.elementsEqual(golden.decoded.unicodeScalars)
                && skipped.unicodeScalars.elementsEqual(golden.decodedSkippingSpecial.unicodeScalars)
            if !same {
                failures += 1
                if failures <= 20 { XCTFail(describeMismatch(golden, ids: ids, decoded: decoded, skipped: skipped)) }
            }
        }
        XCTAssertEqual(failures, 0, "\(failures) of \(cases.count) differ")
    }

    /// Names the first differing id with a little context, so long texts stay readable.
    private func describeMismatch(_ golden: Case, ids: [Int], decoded: String, skipped: String) -> String {
        let text =
            golden.text.count > 200
            ? String(golden.text.prefix(200)).debugDescription + "..." : golden.text.debugDescription
        if ids != golden.ids {
            let first =
                (0..<min(ids.count, golden.ids.count)).first { ids[$0] != golden.ids[$0] }
                ?? min(ids.count, golden.ids.count)
            let window = { (list: [Int]) in Array(list[max(0, first - 5)..<min(list.count, first + 5)]) }
            return "\(text): ids differ at \(first) of \(golden.ids.count): \(window(ids)) vs \(window(golden.ids))"
        }
        return "\(text): decoded \(decoded.debugDescription) vs \(golden.decoded.debugDescription); "
            + "skipping \(skipped.debugDescription) vs \(golden.decodedSkippingSpecial.debugDescription)"
    }

    func testRandomStringsMatchHuggingFace() throws {
        check(try load().random, with: try TokenizerFixtures.real.get(), expectedCount: 3000)
    }

    /// Strings dense in combining marks, decomposable characters, Hangul jamo and Tibetan
    /// vowels, plus regressions where Swift's normalizers or newer Unicode data differ.
    func testNormalizationMatchesHuggingFace() throws {
        check(try load().normalization, with: try TokenizerFixtures.real.get(), expectedCount: 1000)
    }

    func testAddedTokenFlagsMatchHuggingFace() throws {
        let file = try load()
        let tokenizer = try flagsTokenizer(extra: file.flagsAddedTokens)
        for (content, id) in file.flagsIDsAsRegistered {
            XCTAssertEqual(tokenizer.id(of: content), id, content)
        }
        check(file.flags, with: tokenizer, expectedCount: 400)
    }

    /// The tiny tokenizer with extra added tokens appended.
    private func flagsTokenizer(extra: [JSONValue]) throws -> TextTokenizer {
        let url = TokenizerFixtures.tinyDirectory.appendingPathComponent("tokenizer.json")
        var root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var added = try XCTUnwrap(root["added_tokens"] as? [Any])
        for token in extra {
            let object = try XCTUnwrap(token.object)
            var entry: [String: Any] = [:]
            for (key, value) in object {
                switch value {
                case .string(let text): entry[key] = text
                case .int(let number): entry[key] = number
                case .bool(let flag): entry[key] = flag
                default: XCTFail("unexpected \(key)")
                }
            }
            added.append(entry)
        }
        root["added_tokens"] = added
        return try TextTokenizer(json: JSONSerialization.data(withJSONObject: root), source: "tiny+flags")
    }
}
