import XCTest

@testable import TextTokenizer

/// BPE options the shipped files leave at their defaults, checked against Hugging Face
/// tokenizers 0.21.4 on the same synthetic vocabulary.
final class ModelOptionTests: XCTestCase {
    private let vocab = ["a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "<unk>": 5, "Ġ": 6, "bc": 7]
    private let inputs = ["abc", "a bc", "xxab", "axxb", "ab x", "cab"]

    private func encodings(_ options: [String: Any], merges: [Any] = ["a b", "b c"]) throws -> [[Int]] {
        let tokenizer = try SyntheticTokenizerFile.tokenizer(
            SyntheticTokenizerFile.object(vocab: vocab, merges: merges, modelOptions: options))
        return inputs.map(tokenizer.encode)
    }

    func testDefaultsDropBytesWithoutATokenAndMergeAcrossThem() throws {
        XCTAssertEqual(try encodings([:]), [[3, 2], [0, 6, 7], [3], [3], [3, 6], [2, 3]])
    }

    func testIgnoreMergesPrefersAWholeWordInTheVocabulary() throws {
        XCTAssertEqual(try encodings(["ignore_merges": true]), [[4], [0, 6, 7], [3], [3], [3, 6], [2, 3]])
    }

    func testUnknownTokenReplacesEachMissingByte() throws {
        XCTAssertEqual(
            try encodings(["unk_token": "<unk>"]),
            [[3, 2], [0, 6, 7], [5, 5, 3], [0, 5, 5, 1], [3, 6, 5], [2, 3]])
    }

    func testFusedUnknownTokenCoversARunOfMissingBytes() throws {
        XCTAssertEqual(
            try encodings(["unk_token": "<unk>", "fuse_unk": true]),
            [[3, 2], [0, 6, 7], [5, 3], [0, 5, 1], [3, 6, 5], [2, 3]])
    }

    func testARepeatedMergeKeepsItsLastRank() throws {
        XCTAssertEqual(try encodings([:], merges: ["b c", "a b", "b c"]).first, [3, 2])
    }
}
