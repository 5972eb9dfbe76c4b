import Foundation
import JSON

/// The parts of a `tokenizer.json` the engine uses, validated but not yet turned into lookup
/// tables. Keeping parsing separate from table building lets the parser report configuration
/// problems before any expensive work happens.
struct TokenizerDefinition {
    /// Byte-level token string → id.
    var vocabulary: [String: Int]
    /// Merge pairs in rank order (rank = index).
    var merges: [(left: String, right: String)]
    var addedTokens: [AddedToken]
    var appliesNFC: Bool
    var ignoreMerges: Bool
    var unknownToken: String?
    var fusesUnknown: Bool
}

/// Reads a Hugging Face `tokenizer.json` and accepts only the configuration this engine
/// reproduces exactly (Qwen2-family byte-level BPE); anything else is a typed error rather than
/// silently different token ids.
struct TokenizerDefinitionParser {
    /// The pre-tokenizer regex the hand-written scanner implements.
    static let qwen2Pattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Used in error messages to name the file.
    let source: String

    func parse(_ data: Data) throws -> TokenizerDefinition {
        let root: JSONValue
        do { root = try JSONParser.parse(data) } catch {
            throw TextTokenizerError.invalidJSON(source: source, reason: error.description)
        }
        guard case .object(let members) = root else {
            throw TextTokenizerError.invalidJSON(source: source, reason: "the top level is not an object")
        }
        let contents = TokenizerFileContents(members)
        let sections = contents.sections

        guard let model = contents.model else { throw TextTokenizerError.missingField(source: source, field: "model") }
        guard case .object(let fields) = model else {
            throw TextTokenizerError.invalidField(source: source, field: "model", reason: "not an object")
        }

        let appliesNFC = try parseNormalizer(sections["normalizer"])
        try checkPreTokenizer(sections["pre_tokenizer"])
        try checkDecoder(sections["decoder"])
        try checkModelType(fields)
        let options = try parseModelOptions(fields.options)
        let vocabulary = try parseVocabulary(fields.vocabulary)
        let merges = try parseMerges(fields.merges)
        if let unknown = options.unknownToken, vocabulary[unknown] == nil {
            throw TextTokenizerError.invalidField(
                source: source, field: "model.unk_token", reason: "'\(unknown)' is not in the vocabulary")
        }
        let addedTokens = try parseAddedTokens(sections["added_tokens"])

        return TokenizerDefinition(
            vocabulary: vocabulary, merges: merges, addedTokens: addedTokens, appliesNFC: appliesNFC,
            ignoreMerges: options.ignoreMerges, unknownToken: options.unknownToken, fusesUnknown: options.fusesUnknown)
    }

    // MARK: - Pipeline configuration

    /// Returns whether NFC applies. A `Sequence` of NFC normalizers is NFC too.
    private func parseNormalizer(_ value: JSONValue?) throws -> Bool {
        if JSONValue.isNull(value) { return false }
        guard let object = value?.object, let type = object["type"]?.string else {
            throw TextTokenizerError.unsupportedNormalizer(source: source, description: JSONValue.brief(value))
        }
        switch type {
        case "NFC":
            return true
        case "Sequence":
            guard let members = object["normalizers"]?.array else {
                throw TextTokenizerError.unsupportedNormalizer(source: source, description: JSONValue.brief(value))
            }
            for member in members where member.object?["type"]?.string != "NFC" {
                throw TextTokenizerError.unsupportedNormalizer(
                    source: source, description: "Sequence containing \(JSONValue.brief(member))")
            }
            return !members.isEmpty
        default:
            throw TextTokenizerError.unsupportedNormalizer(source: source, description: JSONValue.brief(value))
        }
    }

    private func checkPreTokenizer(_ value: JSONValue?) throws {
        func reject(_ why: String) -> TextTokenizerError {
            .unsupportedPreTokenizer(source: source, description: why)
        }
        guard let object = value?.object, object["type"]?.string == "Sequence",
            let members = object["pretokenizers"]?.array
        else { throw reject(JSONValue.brief(value)) }
        guard members.count == 2, let split = members[0].object, let byteLevel = members[1].object else {
            throw reject("Sequence of \(members.count) members, expected [Split, ByteLevel]")
        }

        guard split["type"]?.string == "Split" else {
            throw reject("Sequence starting with \(JSONValue.brief(members[0]))")
        }
        guard split["pattern"]?.object?["Regex"]?.string == Self.qwen2Pattern else {
            throw reject("Split with pattern \(JSONValue.brief(split["pattern"])), expected the Qwen2 regex")
        }
        guard split["behavior"]?.string == "Isolated" else {
            throw reject("Split with behavior \(JSONValue.brief(split["behavior"])), expected Isolated")
        }
        if !JSONValue.isNull(split["invert"]), split["invert"]?.bool != false {
            throw reject("Split with invert \(JSONValue.brief(split["invert"]))")
        }

        guard byteLevel["type"]?.string == "ByteLevel" else {
            throw reject("Sequence ending with \(JSONValue.brief(members[1])), expected ByteLevel")
        }
        // Hugging Face defaults both flags to true when absent, so absence is unsupported too.
        guard byteLevel["add_prefix_space"]?.bool == false else {
            throw reject("ByteLevel with add_prefix_space \(JSONValue.brief(byteLevel["add_prefix_space"]))")
        }
        guard byteLevel["use_regex"]?.bool == false else {
            throw reject("ByteLevel with use_regex \(JSONValue.brief(byteLevel["use_regex"]))")
        }
    }

    private func checkDecoder(_ value: JSONValue?) throws {
        // ByteLevel's flags only affect offsets, never the decoded text, so they are not checked.
        guard value?.object?["type"]?.string == "ByteLevel" else {
            throw TextTokenizerError.unsupportedDecoder(source: source, description: JSONValue.brief(value))
        }
    }

    // MARK: - Model

    private func checkModelType(_ model: ModelFields) throws {
        guard let type = model.options["type"] else {
            // Old files omit the tag; Hugging Face then recognises BPE by its merges.
            if case .absent = model.merges {
                throw TextTokenizerError.missingField(source: source, field: "model.type")
            }
            return
        }
        guard let name = type.string else {
            throw TextTokenizerError.invalidField(source: source, field: "model.type", reason: "not a string")
        }
        guard name == "BPE" else { throw TextTokenizerError.unsupportedModel(source: source, type: name) }
    }

    private struct ModelOptions {
        var ignoreMerges = false
        var unknownToken: String?
        var fusesUnknown = false
    }

    private func parseModelOptions(_ model: [String: JSONValue]) throws -> ModelOptions {
        var options = ModelOptions()
        func flag(_ key: String) throws -> Bool {
            let value = model[key]
            if JSONValue.isNull(value) { return false }
            guard let flag = value?.bool else {
                throw TextTokenizerError.invalidField(source: source, field: "model.\(key)", reason: "not a boolean")
            }
            return flag
        }
        func unsupported(_ key: String) -> TextTokenizerError {
            .unsupportedModelOption(source: source, option: key, value: JSONValue.brief(model[key]))
        }

        switch model["dropout"] {
        // Dropout makes encoding random; only the no-op value 0 is accepted.
        case nil, .null?, .int(0)?, .double(0)?: break
        default: throw unsupported("dropout")
        }
        for affix in ["continuing_subword_prefix", "end_of_word_suffix"] {
            let value = model[affix]
            if JSONValue.isNull(value) || value?.string == "" { continue }
            throw unsupported(affix)
        }
        if try flag("byte_fallback") { throw unsupported("byte_fallback") }
        options.ignoreMerges = try flag("ignore_merges")
        options.fusesUnknown = try flag("fuse_unk")
        let unknown = model["unk_token"]
        if !JSONValue.isNull(unknown) {
            guard let name = unknown?.string else {
                throw TextTokenizerError.invalidField(source: source, field: "model.unk_token", reason: "not a string")
            }
            options.unknownToken = name
        }
        return options
    }

    private func parseVocabulary(_ field: ModelFields.Vocabulary) throws -> [String: Int] {
        func invalid(_ reason: String) -> TextTokenizerError {
            .invalidField(source: source, field: "model.vocab", reason: reason)
        }
        func badID(_ token: String, _ value: JSONValue?) -> TextTokenizerError {
            invalid("token '\(token)' has id \(JSONValue.brief(value)), expected an integer in 0...\(UInt32.max)")
        }
        switch field {
        case .absent:
            throw TextTokenizerError.missingField(source: source, field: "model.vocab")
        case .valid(let vocabulary):
            // Sorted only on the error path, so the reported token does not depend on hashing.
            if vocabulary.values.contains(where: { $0 < 0 || $0 > Int(UInt32.max) }) {
                let token = vocabulary.keys.sorted().first {
                    vocabulary[$0].map { $0 < 0 || $0 > Int(UInt32.max) } ?? false
                }
                if let token { throw badID(token, vocabulary[token].map(JSONValue.int)) }
            }
            return vocabulary
        case .invalid(let json):
            guard let entries = json.object else { throw invalid("not an object") }
            for token in entries.keys.sorted() {
                guard let id = entries[token]?.integer, id >= 0, id <= Int(UInt32.max) else {
                    throw badID(token, entries[token])
                }
            }
            throw invalid("unreadable")
        }
    }

    /// Accepts both merge spellings: legacy `"a b"` strings and newer `["a", "b"]` pairs.
    private func parseMerges(_ field: ModelFields.Merges) throws -> [(left: String, right: String)] {
        switch field {
        case .absent:
            throw TextTokenizerError.missingField(source: source, field: "model.merges")
        case .strings(let lines):
            var merges: [(left: String, right: String)] = []
            merges.reserveCapacity(lines.count)
            // Hugging Face skips merges.txt-style version headers before numbering ranks.
            for line in lines where !line.hasPrefix("#version") {
                merges.append(try splitMergeLine(line, rank: merges.count))
            }
            return merges
        case .pairs(let pairs):
            return try pairs.enumerated().map { rank, pair in
                guard pair.count == 2 else {
                    throw TextTokenizerError.badMerge(
                        source: source, rank: rank, entry: "\(pair)", reason: "expected a pair of two strings")
                }
                return (pair[0], pair[1])
            }
        case .invalid(let json):
            try diagnoseMerges(json)
            throw TextTokenizerError.invalidField(
                source: source, field: "model.merges", reason: "mixes \"a b\" strings and [a, b] pairs")
        }
    }

    private func splitMergeLine(_ line: String, rank: Int) throws -> (left: String, right: String) {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw TextTokenizerError.badMerge(
                source: source, rank: rank, entry: line,
                reason: "expected two tokens separated by one space, found \(parts.count) parts")
        }
        return (String(parts[0]), String(parts[1]))
    }

    /// Throws the error for the first malformed entry of a merge list that did not decode.
    private func diagnoseMerges(_ json: JSONValue) throws {
        guard let entries = json.array else {
            throw TextTokenizerError.invalidField(source: source, field: "model.merges", reason: "not a list")
        }
        var rank = 0
        for entry in entries {
            switch entry {
            case .string(let line):
                if line.hasPrefix("#version") { continue }
                _ = try splitMergeLine(line, rank: rank)
            case .array(let pair) where pair.count == 2 && pair.allSatisfy({ $0.string != nil }):
                break
            case .array(let pair):
                throw TextTokenizerError.badMerge(
                    source: source, rank: rank, entry: "[\(pair.map { JSONValue.brief($0) }.joined(separator: ", "))]",
                    reason: "expected a pair of two strings")
            default:
                throw TextTokenizerError.badMerge(
                    source: source, rank: rank, entry: JSONValue.brief(entry),
                    reason: "expected a string \"a b\" or a pair [a, b]")
            }
            rank += 1
        }
    }

    // MARK: - Added tokens

    private func parseAddedTokens(_ value: JSONValue?) throws -> [AddedToken] {
        if JSONValue.isNull(value) { return [] }
        guard let entries = value?.array else {
            throw TextTokenizerError.invalidField(source: source, field: "added_tokens", reason: "not a list")
        }
        return try entries.enumerated().map { index, entry in try parseAddedToken(entry, index: index) }
    }

    private func parseAddedToken(_ entry: JSONValue, index: Int) throws -> AddedToken {
        func invalid(_ reason: String) -> TextTokenizerError {
            .invalidAddedToken(source: source, index: index, reason: reason)
        }
        guard let object = entry.object else { throw invalid("not an object") }
        guard let content = object["content"]?.string else { throw invalid("'content' is missing or not a string") }
        guard !content.isEmpty else { throw invalid("'content' is empty") }
        guard let id = object["id"]?.integer, id >= 0, id <= Int(UInt32.max) else {
            throw invalid(
                "'\(content)' has id \(JSONValue.brief(object["id"])), expected an integer in 0...\(UInt32.max)")
        }
        func flag(_ key: String, default fallback: Bool) throws -> Bool {
            let value = object[key]
            if JSONValue.isNull(value) { return fallback }
            guard let flag = value?.bool else { throw invalid("'\(key)' of '\(content)' is not a boolean") }
            return flag
        }
        let special = try flag("special", default: false)
        return AddedToken(
            id: id, content: content, special: special,
            leftStrip: try flag("lstrip", default: false),
            rightStrip: try flag("rstrip", default: false),
            // Hugging Face's default: special tokens are matched on the raw text.
            normalized: try flag("normalized", default: !special),
            singleWord: try flag("single_word", default: false))
    }
}
