/// A parsed JSON value: what `JSONParser` produces and `JSONValueDecoder` decodes from. Every
/// JSON file the engine reads (safetensors headers, configs, `tokenizer.json`, the CLI's codes,
/// prompt-grid, conversation and example files) goes through this one strict reader.
///
/// We parse JSON ourselves rather than with `JSONSerialization` because on Linux the latter
/// hands back `NSNumber`s that blur integers, doubles and booleans, silently accepts duplicate
/// keys and drops a leading U+FEFF from strings, which is text like any other to a tokenizer.
/// Safetensors offsets need exact integers; config files need `true` to not read as `1`.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent that fits in `Int`.
    case int(Int)
    /// Any other (finite) number.
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Type name used in error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// The value as an `Int`, accepting integer-valued doubles such as `10000.0`.
    public var intValue: Int? {
        switch self {
        case .int(let value): return value
        case .double(let value): return Int(exactly: value)
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    /// Compact serialization with object keys in sorted (byte-wise) order, so output is
    /// deterministic.
    public func serialized() -> String {
        var output = ""
        serialize(into: &output)
        return output
    }

    private func serialize(into output: inout String) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .int(let value): output += String(value)
        case .double(let value): output += value.isFinite ? "\(value)" : "null"
        case .string(let value): output += JSONValue.quoted(value)
        case .array(let elements):
            output += "["
            for (position, element) in elements.enumerated() {
                if position > 0 { output += "," }
                element.serialize(into: &output)
            }
            output += "]"
        case .object(let members):
            output += "{"
            for (position, key) in members.keys.sorted().enumerated() {
                if position > 0 { output += "," }
                output += JSONValue.quoted(key)
                output += ":"
                members[key]?.serialize(into: &output)
            }
            output += "}"
        }
    }

    /// A JSON string literal for `text`. Non-ASCII characters are emitted as raw UTF-8.
    public static func quoted(_ text: String) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }
}
