import FileAccess
import Foundation
import JSON

/// Errors from reading a model's `config.json`; each names the file and the key.
public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case invalidJSON(path: String, reason: String)
    case missingKey(key: String, file: String)
    case wrongType(key: String, expected: String, found: String, file: String)
    /// Present and well-typed, but a value the model cannot use.
    case invalidValue(key: String, reason: String, file: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "config file not found: \(path)"
        case .unreadable(let path, let reason):
            return "cannot read config file \(path): \(reason)"
        case .invalidJSON(let path, let reason):
            return "config file \(path) is not valid JSON: \(reason)"
        case .missingKey(let key, let file):
            return "config file \(file) has no key '\(key)'"
        case .wrongType(let key, let expected, let found, let file):
            return "config key '\(key)' in \(file) should be \(expected) but is \(found)"
        case .invalidValue(let key, let reason, let file):
            return "config key '\(key)' in \(file) \(reason)"
        }
    }
}

extension ConfigError: LocalizedError {
    public var errorDescription: String? { description }
}

/// Strict, typed access to a JSON config object such as a Hugging Face `config.json`.
///
/// Required getters throw on missing keys, `null` and wrong types; `default:` getters and
/// `optional…` getters treat a missing key and an explicit `null` alike. Integer getters
/// accept integer-valued numbers such as `10000.0`, which Python writers produce freely.
public struct ConfigReader: Sendable {
    /// The file this came from; named in every error.
    public let source: String
    /// Dotted path of this object within the file, empty at top level.
    public let keyPath: String
    private let members: [String: JSONValue]

    public init(url: URL) throws {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigError.fileNotFound(path: path)
        }
        let data: Data
        do { data = try FileAccess.read(url) } catch {
            throw ConfigError.unreadable(path: path, reason: FileAccess.describe(error))
        }
        try self.init(data: data, source: path)
    }

    /// Parses JSON text; `source` is used in error messages.
    public init(data: Data, source: String) throws {
        let json: JSONValue
        do {
            json = try JSONParser.parse(Array(data))
        } catch {
            throw ConfigError.invalidJSON(path: source, reason: error.description)
        }
        guard case .object(let members) = json else {
            throw ConfigError.invalidJSON(path: source, reason: "top level is \(json.typeName), not an object")
        }
        self.init(members: members, source: source, keyPath: "")
    }

    private init(members: [String: JSONValue], source: String, keyPath: String) {
        self.members = members
        self.source = source
        self.keyPath = keyPath
    }

    public var keys: [String] { members.keys.sorted() }

    /// True if the key is present, even when its value is `null`.
    public func has(_ key: String) -> Bool { members[key] != nil }

    public func value(_ key: String) -> JSONValue? { members[key] }

    /// The value as Foundation-style `Any`: Int, Double, Bool, String, [Any], [String: Any],
    /// or `NSNull` for an explicit null; nil when the key is missing.
    public func anyValue(_ key: String) -> Any? {
        members[key].map(ConfigReader.bridge)
    }

    // MARK: Required

    public func int(_ key: String) throws -> Int { try required(key, "an integer", \.intValue) }
    public func double(_ key: String) throws -> Double { try required(key, "a number", \.doubleValue) }
    public func bool(_ key: String) throws -> Bool { try required(key, "a boolean", ConfigReader.bool) }
    public func string(_ key: String) throws -> String { try required(key, "a string", ConfigReader.string) }
    public func intArray(_ key: String) throws -> [Int] {
        try required(key, "an array of integers", ConfigReader.array(\.intValue))
    }
    public func doubleArray(_ key: String) throws -> [Double] {
        try required(key, "an array of numbers", ConfigReader.array(\.doubleValue))
    }
    public func stringArray(_ key: String) throws -> [String] {
        try required(key, "an array of strings", ConfigReader.array(ConfigReader.string))
    }

    /// A nested object such as `text_config`; its errors report dotted key paths.
    public func nested(_ key: String) throws -> ConfigReader {
        let object = try required(key, "an object", ConfigReader.object)
        return ConfigReader(members: object, source: source, keyPath: qualified(key))
    }

    // MARK: Optional (missing or null -> nil)

    public func optionalInt(_ key: String) throws -> Int? { try optional(key, "an integer", \.intValue) }
    public func optionalDouble(_ key: String) throws -> Double? { try optional(key, "a number", \.doubleValue) }
    public func optionalBool(_ key: String) throws -> Bool? { try optional(key, "a boolean", ConfigReader.bool) }
    public func optionalString(_ key: String) throws -> String? { try optional(key, "a string", ConfigReader.string) }
    public func optionalIntArray(_ key: String) throws -> [Int]? {
        try optional(key, "an array of integers", ConfigReader.array(\.intValue))
    }
    public func optionalDoubleArray(_ key: String) throws -> [Double]? {
        try optional(key, "an array of numbers", ConfigReader.array(\.doubleValue))
    }
    public func optionalNested(_ key: String) throws -> ConfigReader? {
        try optional(key, "an object", ConfigReader.object).map {
            ConfigReader(members: $0, source: source, keyPath: qualified(key))
        }
    }

    // MARK: Defaults (missing or null -> default; wrong type still throws)

    public func int(_ key: String, default fallback: Int) throws -> Int { try optionalInt(key) ?? fallback }
    public func double(_ key: String, default fallback: Double) throws -> Double {
        try optionalDouble(key) ?? fallback
    }
    public func bool(_ key: String, default fallback: Bool) throws -> Bool { try optionalBool(key) ?? fallback }
    public func string(_ key: String, default fallback: String) throws -> String {
        try optionalString(key) ?? fallback
    }
    public func intArray(_ key: String, default fallback: [Int]) throws -> [Int] {
        try optionalIntArray(key) ?? fallback
    }

    // MARK: Plumbing

    private func qualified(_ key: String) -> String {
        keyPath.isEmpty ? key : keyPath + "." + key
    }

    private func required<T>(_ key: String, _ expected: String, _ convert: (JSONValue) -> T?) throws -> T {
        guard let raw = members[key] else {
            throw ConfigError.missingKey(key: qualified(key), file: source)
        }
        guard let value = convert(raw) else {
            throw ConfigError.wrongType(key: qualified(key), expected: expected, found: describe(raw), file: source)
        }
        return value
    }

    private func optional<T>(_ key: String, _ expected: String, _ convert: (JSONValue) -> T?) throws -> T? {
        guard let raw = members[key], raw != .null else { return nil }
        guard let value = convert(raw) else {
            throw ConfigError.wrongType(key: qualified(key), expected: expected, found: describe(raw), file: source)
        }
        return value
    }

    /// Type plus a short rendering of the value, so the user sees what is actually there.
    private func describe(_ value: JSONValue) -> String {
        let text = value.serialized()
        let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        return value == .null ? "null" : "\(value.typeName) \(shown)"
    }

    private static func bool(_ value: JSONValue) -> Bool? {
        if case .bool(let flag) = value { return flag }
        return nil
    }

    private static func string(_ value: JSONValue) -> String? {
        if case .string(let text) = value { return text }
        return nil
    }

    private static func object(_ value: JSONValue) -> [String: JSONValue]? {
        if case .object(let members) = value { return members }
        return nil
    }

    private static func array<T>(_ element: @escaping (JSONValue) -> T?) -> (JSONValue) -> [T]? {
        { value in
            guard case .array(let elements) = value else { return nil }
            var converted: [T] = []
            converted.reserveCapacity(elements.count)
            for item in elements {
                guard let one = element(item) else { return nil }
                converted.append(one)
            }
            return converted
        }
    }

    private static func bridge(_ value: JSONValue) -> Any {
        switch value {
        case .null: return NSNull()
        case .bool(let flag): return flag
        case .int(let number): return number
        case .double(let number): return number
        case .string(let text): return text
        case .array(let elements): return elements.map(bridge)
        case .object(let members): return members.mapValues(bridge)
        }
    }
}
