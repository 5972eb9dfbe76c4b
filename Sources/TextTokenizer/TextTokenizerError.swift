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
        case let .unreadable(path, reason):
            return "cannot read tokenizer file \(path): \(reason)"
        case let .invalidJSON(source, reason):
            return "\(source) is not a valid tokenizer.json: \(reason)"
        case let .missingField(source, field):
            return "\(source) lacks the field '\(field)'"
        case let .invalidField(source, field, reason):
            return "\(source): field '\(field)' is invalid: \(reason)"
        case let .unsupportedModel(source, type):
            return "\(source): model type '\(type)' is not supported (only BPE)"
        case let .unsupportedModelOption(source, option, value):
            return "\(source): BPE option \(option) = \(value) is not supported"
        case let .unsupportedNormalizer(source, description):
            return "\(source): normalizer \(description) is not supported (only NFC or none)"
        case let .unsupportedPreTokenizer(source, description):
            return "\(source): pre-tokenizer \(description) is not supported (only the Qwen2 Split regex + ByteLevel)"
        case let .unsupportedDecoder(source, description):
            return "\(source): decoder \(description) is not supported (only ByteLevel)"
        case let .badMerge(source, rank, entry, reason):
            return "\(source): merge #\(rank) '\(entry)' is invalid: \(reason)"
        case let .invalidAddedToken(source, index, reason):
            return "\(source): added token #\(index) is invalid: \(reason)"
        }
    }
}
