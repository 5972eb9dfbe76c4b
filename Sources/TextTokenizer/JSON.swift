/// A decoded JSON value for the small, loosely shaped parts of `tokenizer.json` (normalizer,
/// pre-tokenizer, added tokens...). `JSONDecoder` rather than `JSONSerialization` because the
/// latter, on Linux, drops a leading U+FEFF from strings and boxes booleans as numbers.
enum JSON: Decodable, Equatable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSON].self))
        }
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var integer: Int? {
        if case .integer(let value) = self { return value }
        return nil
    }

    var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var array: [JSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    var object: [String: JSON]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Absent and explicit null mean the same in `tokenizer.json`.
    static func isNull(_ value: JSON?) -> Bool {
        value == nil || value == .null
    }

    /// A short rendering for error messages, without dumping a whole vocabulary.
    static func brief(_ value: JSON?) -> String {
        switch value {
        case nil, .null?: return "null"
        case .bool(let flag)?: return String(flag)
        case .integer(let number)?: return String(number)
        case .number(let number)?: return String(number)
        case .string(let text)?: return "\"\(text)\""
        case .array?: return "[...]"
        case .object(let members)?:
            if let type = members["type"]?.string { return "{type: \(type)}" }
            return "{\(members.keys.sorted().joined(separator: ", "))}"
        }
    }
}

/// Any string key, for walking objects whose keys are not known in advance.
struct AnyCodingKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}
