import FileAccess
import Foundation

/// `{"input_ids": [[...], ... 9 rows ...]}`: a prompt token grid as JSON (docs/model.md §3.2).
public enum PromptGridFile {
    public enum FileError: Error, CustomStringConvertible, Equatable {
        case unreadable(path: String, reason: String)
        case invalid(path: String, reason: String)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason): return "cannot read prompt grid \(path): \(reason)"
            case .invalid(let path, let reason): return "prompt grid \(path) is not valid: \(reason)"
            }
        }
    }

    private struct Payload: Decodable {
        let inputIDs: [[Int]]
        enum CodingKeys: String, CodingKey { case inputIDs = "input_ids" }
    }

    public static func read(_ url: URL) throws -> TokenGrid {
        let data: Data
        do { data = try FileAccess.read(url) } catch {
            throw FileError.unreadable(path: url.path, reason: FileAccess.describe(error))
        }
        do {
            return TokenGrid(rows: try JSONValueDecoder().decode(Payload.self, from: data).inputIDs)
        } catch DecodingError.keyNotFound {
            throw FileError.invalid(path: url.path, reason: "missing key 'input_ids'")
        } catch {
            throw FileError.invalid(
                path: url.path,
                reason: "\(JSONValueDecoder.describe(error)) (the format is {\"input_ids\": [[int, ...], ...]})")
        }
    }
}
