import FileAccess
import Foundation
import JSON

public enum SpecialTokensError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case invalid(path: String, reason: String)
    case unknownToken(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read tokenizer file \(path): \(reason)"
        case .invalid(let path, let reason): return "tokenizer file \(path) is not valid: \(reason)"
        case .unknownToken(let name): return "the text tokenizer has no token '\(name)'"
        }
    }
}

/// The added tokens of a Hugging Face `tokenizer.json` (`<|im_end|>`, `<|empty|>`, ...), so
/// special ids are always looked up by name: the tiny fixture vocabulary puts `<|empty|>` at
/// 984, the real one at 151667.
public struct SpecialTokens: Sendable, Equatable {
    public let idsByName: [String: Int]
    public let namesByID: [Int: String]

    public init(tokens: [String: Int]) {
        idsByName = tokens
        // Two names sharing one id is a broken file; keep the lexicographically smaller name so
        // the result does not depend on dictionary iteration order.
        namesByID = Dictionary(tokens.map { ($1, $0) }, uniquingKeysWith: { min($0, $1) })
    }

    /// Reads only `added_tokens` from `directory/tokenizer.json`, for callers that need special
    /// ids without building the vocabulary's tables. Takes the ids as written; for files where
    /// Hugging Face would assign different ones, `TextTokenizer.specialTokens` has the real ids.
    public init(directory: URL) throws {
        let url = directory.appendingPathComponent("tokenizer.json")
        let data: Data
        do { data = try FileAccess.read(url) } catch {
            throw SpecialTokensError.unreadable(path: url.path, reason: FileAccess.describe(error))
        }
        let root: JSONValue
        do { root = try JSONParser.parse(data) } catch {
            throw SpecialTokensError.invalid(path: url.path, reason: "not valid JSON: \(error)")
        }
        guard case .object(let members) = root else {
            throw SpecialTokensError.invalid(path: url.path, reason: "not a JSON object")
        }
        guard let added = members["added_tokens"]?.array else {
            throw SpecialTokensError.invalid(path: url.path, reason: "no 'added_tokens' list")
        }
        var tokens: [String: Int] = [:]
        for entry in added {
            guard let content = entry.object?["content"]?.string, let id = entry.object?["id"]?.integer, id >= 0 else {
                throw SpecialTokensError.invalid(path: url.path, reason: "an added token lacks 'content' or 'id'")
            }
            tokens[content] = id
        }
        self.init(tokens: tokens)
    }

    /// The ids of `names` (stop sets).
    public func ids(_ names: [String]) throws -> Set<Int> { Set(try names.map(id)) }

    public func id(_ name: String) throws -> Int {
        guard let id = idsByName[name] else { throw SpecialTokensError.unknownToken(name) }
        return id
    }
}
