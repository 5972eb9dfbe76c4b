import XCTest

@testable import TextTokenizer

/// Broken or unsupported `tokenizer.json` files must fail with a specific error, never trap.
final class MalformedFileTests: XCTestCase {
    private let source = "test.json"

    /// A minimal valid file: bytes a, b, c, the merge "a b" and one added token.
    private func validFile() -> [String: Any] {
        SyntheticTokenizerFile.object(
            vocab: ["a": 0, "b": 1, "c": 2, "ab": 3], merges: ["a b"],
            addedTokens: [
                [
                    "id": 4, "content": "<|x|>", "special": true, "normalized": false,
                    "lstrip": false, "rstrip": false, "single_word": false,
                ]
            ])
    }

    private func load(_ object: Any) throws -> TextTokenizer {
        try TextTokenizer(json: JSONSerialization.data(withJSONObject: object), source: source)
    }

    private func expect(
        _ error: TextTokenizerError, _ edit: (inout [String: Any]) -> Void,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        var object = validFile()
        edit(&object)
        XCTAssertThrowsError(try load(object), file: file, line: line) { thrown in
            XCTAssertEqual(thrown as? TextTokenizerError, error, file: file, line: line)
        }
    }

    private func editModel(_ object: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
        var model = object["model"] as? [String: Any] ?? [:]
        edit(&model)
        object["model"] = model
    }

    func testTheMinimalFileIsValid() throws {
        let tokenizer = try load(validFile())
        XCTAssertEqual(tokenizer.encode("abc<|x|>"), [3, 2, 4])
        XCTAssertEqual(tokenizer.decode([3, 2, 4], skipSpecialTokens: true), "abc")
        // Bytes the vocabulary lacks are dropped, as Hugging Face does without an unk token.
        XCTAssertEqual(tokenizer.encode("a d b"), [0, 1])
    }

    func testUnreadableFile() {
        let missing = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)")
        XCTAssertThrowsError(try TextTokenizer(directory: missing)) { error in
            guard case .unreadable(let path, _)? = error as? TextTokenizerError else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertTrue(path.hasSuffix("tokenizer.json"))
        }
    }

    func testNotJSON() {
        XCTAssertThrowsError(try TextTokenizer(json: Data("{not json".utf8), source: source)) { error in
            XCTAssertEqual(
                error as? TextTokenizerError, .invalidJSON(source: source, reason: "expected a string key at byte 1"))
        }
        XCTAssertThrowsError(try TextTokenizer(json: Data(#"{"model": {}, "model": {}}"#.utf8), source: source)) {
            XCTAssertEqual(
                $0 as? TextTokenizerError, .invalidJSON(source: source, reason: "duplicate key 'model' at byte 14"))
        }
        XCTAssertThrowsError(try TextTokenizer(json: Data("[1, 2]".utf8), source: source)) { error in
            XCTAssertEqual(
                error as? TextTokenizerError, .invalidJSON(source: source, reason: "the top level is not an object"))
        }
        XCTAssertThrowsError(try TextTokenizer(json: Data(), source: source)) { error in
            guard case .invalidJSON? = error as? TextTokenizerError else { return XCTFail("unexpected \(error)") }
        }
    }

    func testMissingModelParts() {
        expect(.missingField(source: source, field: "model")) { $0["model"] = nil }
        expect(.missingField(source: source, field: "model.vocab")) { editModel(&$0) { $0["vocab"] = nil } }
        expect(.missingField(source: source, field: "model.merges")) { editModel(&$0) { $0["merges"] = nil } }
        expect(.invalidField(source: source, field: "model", reason: "not an object")) { $0["model"] = "BPE" }
    }

    func testUnsupportedModel() {
        expect(.unsupportedModel(source: source, type: "WordPiece")) { editModel(&$0) { $0["type"] = "WordPiece" } }
        expect(.unsupportedModelOption(source: source, option: "byte_fallback", value: "true")) {
            editModel(&$0) { $0["byte_fallback"] = true }
        }
        expect(.unsupportedModelOption(source: source, option: "dropout", value: "0.1")) {
            editModel(&$0) { $0["dropout"] = 0.1 }
        }
        expect(.unsupportedModelOption(source: source, option: "continuing_subword_prefix", value: "\"##\"")) {
            editModel(&$0) { $0["continuing_subword_prefix"] = "##" }
        }
        expect(.invalidField(source: source, field: "model.unk_token", reason: "'<unk>' is not in the vocabulary")) {
            editModel(&$0) { $0["unk_token"] = "<unk>" }
        }
    }

    func testUnsupportedPipeline() {
        expect(.unsupportedNormalizer(source: source, description: "{type: NFKC}")) {
            $0["normalizer"] = ["type": "NFKC"]
        }
        expect(.unsupportedDecoder(source: source, description: "null")) { $0["decoder"] = NSNull() }
        expect(.unsupportedDecoder(source: source, description: "{type: WordPiece}")) {
            $0["decoder"] = ["type": "WordPiece"]
        }
        expect(.unsupportedPreTokenizer(source: source, description: "{type: Whitespace}")) {
            $0["pre_tokenizer"] = ["type": "Whitespace"]
        }
        expect(
            .unsupportedPreTokenizer(
                source: source, description: "Split with pattern {Regex}, expected the Qwen2 regex")
        ) {
            var pre = $0["pre_tokenizer"] as? [String: Any] ?? [:]
            var members = pre["pretokenizers"] as? [[String: Any]] ?? []
            members[0]["pattern"] = ["Regex": "\\w+"]
            pre["pretokenizers"] = members
            $0["pre_tokenizer"] = pre
        }
        expect(.unsupportedPreTokenizer(source: source, description: "ByteLevel with use_regex true")) {
            var pre = $0["pre_tokenizer"] as? [String: Any] ?? [:]
            var members = pre["pretokenizers"] as? [[String: Any]] ?? []
            members[1]["use_regex"] = true
            pre["pretokenizers"] = members
            $0["pre_tokenizer"] = pre
        }
    }

    func testBadMergesAreNamed() {
        expect(
            .badMerge(
                source: source, rank: 0, entry: "a b c",
                reason: "expected two tokens separated by one space, found 3 parts")
        ) {
            editModel(&$0) { $0["merges"] = ["a b c"] }
        }
        expect(.badMerge(source: source, rank: 1, entry: "b c", reason: "'bc' is not in the vocabulary")) {
            editModel(&$0) { $0["merges"] = ["a b", "b c"] }
        }
        expect(.badMerge(source: source, rank: 0, entry: "a z", reason: "'z' is not in the vocabulary")) {
            editModel(&$0) { $0["merges"] = [["a", "z"]] }
        }
        expect(.badMerge(source: source, rank: 0, entry: "[\"a\"]", reason: "expected a pair of two strings")) {
            editModel(&$0) { $0["merges"] = [["a"]] }
        }
        expect(.badMerge(source: source, rank: 0, entry: "7", reason: "expected a string \"a b\" or a pair [a, b]")) {
            editModel(&$0) { $0["merges"] = [7] }
        }
    }

    func testMergesAsPairsAndVersionHeaders() throws {
        var object = validFile()
        editModel(&object) { $0["merges"] = ["#version: 0.2", "a b"] }
        XCTAssertEqual(try load(object).encode("ab"), [3])
        editModel(&object) { $0["merges"] = [["a", "b"]] }
        XCTAssertEqual(try load(object).encode("ab"), [3])
    }

    func testBadVocabularyEntries() {
        expect(.invalidField(source: source, field: "model.vocab", reason: "not an object")) {
            editModel(&$0) { $0["vocab"] = ["a", "b"] }
        }
        expect(
            .invalidField(
                source: source, field: "model.vocab",
                reason: "token 'a' has id -1, expected an integer in 0...4294967295")
        ) {
            editModel(&$0) { $0["vocab"] = ["a": -1, "b": 1, "ab": 3] }
        }
        expect(
            .invalidField(
                source: source, field: "model.vocab",
                reason: "token 'a' has id true, expected an integer in 0...4294967295")
        ) {
            editModel(&$0) { $0["vocab"] = ["a": true] }
        }
        expect(
            .invalidField(
                source: source, field: "model.vocab", reason: "ids are too sparse: largest id 4000000000 for 5 tokens")
        ) {
            editModel(&$0) { $0["vocab"] = ["a": 0, "b": 1, "c": 2, "ab": 4_000_000_000] }
        }
    }

    func testBadAddedTokens() {
        expect(.invalidAddedToken(source: source, index: 0, reason: "'content' is missing or not a string")) {
            $0["added_tokens"] = [["id": 4]]
        }
        expect(
            .invalidAddedToken(
                source: source, index: 1, reason: "'<y>' has id \"5\", expected an integer in 0...4294967295")
        ) {
            $0["added_tokens"] = [["id": 4, "content": "<x>"], ["id": "5", "content": "<y>"]]
        }
        expect(.invalidAddedToken(source: source, index: 0, reason: "'special' of '<x>' is not a boolean")) {
            $0["added_tokens"] = [["id": 4, "content": "<x>", "special": "yes"]]
        }
        expect(.invalidAddedToken(source: source, index: 0, reason: "'content' is empty")) {
            $0["added_tokens"] = [["id": 4, "content": ""]]
        }
        expect(.invalidField(source: source, field: "added_tokens", reason: "not a list")) { $0["added_tokens"] = 3 }
    }

    func testErrorsDescribeThemselves() {
        let error = TextTokenizerError.badMerge(source: "x.json", rank: 2, entry: "a b", reason: "why")
        XCTAssertEqual(error.description, "x.json: merge #2 'a b' is invalid: why")
    }
}
