import Foundation

/// Why a `tokenizer.json` could not be loaded. Every case names the file (`source`) so a
/// message read in a log points at the right checkpoint directory.
public enum TextTokenizerError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read at all.
    case unreadable(path: String, reason: String)
    /// The bytes are not JSON, or the top level is not an object.
    case invalidJSON(source: String, reason: String)
    /// A required key is absent, e.g. `model.vocab`.
    case missingField(source: String, field: String)
    /// A key is present but has the wrong shape, e.g. a vocabulary id that is not an integer.
    case invalidField(source: String, field: String, reason: String)
    /// `model.type` is not `BPE`.
    case unsupportedModel(source: String, type: String)
    /// A BPE option this engine does not implement (dropout, byte fallback, subword affixes).
    case unsupportedModelOption(source: String, option: String, value: String)
    /// The normalizer is not NFC (or absent).
    case unsupportedNormalizer(source: String, description: String)
    /// The pre-tokenizer is not the Qwen2 Split + ByteLevel sequence.
    case unsupportedPreTokenizer(source: String, description: String)
    /// The decoder is not ByteLevel.
    case unsupportedDecoder(source: String, description: String)
    /// A merge is malformed or names a token the vocabulary lacks. `rank` is 0-based.
    case badMerge(source: String, rank: Int, entry: String, reason: String)
    /// An `added_tokens` entry is malformed. `index` is its 0-based position in the list.
    case invalidAddedToken(source: String, index: Int, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read tokenizer file \(path): \(reason)"
        case .invalidJSON(let source, let reason):
            return "\(source) is not a valid tokenizer.json: \(reason)"
        case .missingField(let source, let field):
            return "\(source) lacks the field '\(field)'"
        case .invalidField(let source, let field, let reason):
            return "\(source): field '\(field)' is invalid: \(reason)"
        case .unsupportedModel(let source, let type):
            return "\(source): model type '\(type)' is not supported (only BPE)"
        case .unsupportedModelOption(let source, let option, let value):
            return "\(source): BPE option \(option) = \(value) is not supported"
        case .unsupportedNormalizer(let source, let description):
            return "\(source): normalizer \(description) is not supported (only NFC or none)"
        case .unsupportedPreTokenizer(let source, let description):
            return "\(source): pre-tokenizer \(description) is not supported (only the Qwen2 Split regex + ByteLevel)"
        case .unsupportedDecoder(let source, let description):
            return "\(source): decoder \(description) is not supported (only ByteLevel)"
        case .badMerge(let source, let rank, let entry, let reason):
            return "\(source): merge #\(rank) '\(entry)' is invalid: \(reason)"
        case .invalidAddedToken(let source, let index, let reason):
            return "\(source): added token #\(index) is invalid: \(reason)"
        }
    }
}
