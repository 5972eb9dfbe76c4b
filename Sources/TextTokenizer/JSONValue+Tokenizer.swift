import JSON

/// Accessors for the small, loosely shaped parts of `tokenizer.json` (normalizer,
/// pre-tokenizer, added tokens...), which the definition parser checks field by field.
extension JSONValue {
    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// Only numbers written as integers: an id of `1.0` is as wrong as `"1"`.
    var integer: Int? {
        if case .int(let value) = self { return value }
        return nil
    }

    var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var array: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    var object: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Absent and explicit null mean the same in `tokenizer.json`.
    static func isNull(_ value: JSONValue?) -> Bool {
        value == nil || value == .null
    }

    /// A short rendering for error messages, without dumping a whole vocabulary.
    static func brief(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: return "null"
        case .bool(let flag)?: return String(flag)
        case .int(let number)?: return String(number)
        case .double(let number)?: return String(number)
        case .string(let text)?: return "\"\(text)\""
        case .array?: return "[...]"
        case .object(let members)?:
            if let type = members["type"]?.string { return "{type: \(type)}" }
            return "{\(members.keys.sorted().joined(separator: ", "))}"
        }
    }
}
