/// Decodes `Decodable` types from the strict parser's output, so typed files (codes, prompt
/// grids, conversations) get the same checks as safetensors headers: no duplicate keys, no
/// invalid UTF-8, integers exact, booleans never read from `1`/`0`.
///
/// Errors are the `DecodingError` cases `JSONDecoder` throws, with the coding path of the
/// offending value: `keyNotFound`, `valueNotFound` (null where a value is required),
/// `typeMismatch` (e.g. a string where an integer is expected) and `dataCorrupted` (text that is
/// not JSON, with the `JSONParseError` as underlying error; a number that does not fit the
/// requested type). Integer types decode only from numbers written as integers; since the parser
/// keeps integers exactly only up to `Int.max`, larger `UInt64` values are rejected, not rounded.
public struct JSONValueDecoder {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try T(from: ValueDecoder(value: value, codingPath: []))
    }

    /// Parses `bytes` as UTF-8 JSON text, then decodes.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "not valid JSON: \(error)", underlyingError: error))
        }
        return try decode(type, from: value)
    }

    /// A one-line reason for a decoding failure that names the key path, e.g.
    /// `turns[2].role: expected a string, found an integer`, for messages that name the file.
    public static func describe(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return String(describing: error) }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing key '\(key.stringValue)'" + Self.location(context.codingPath, prefix: " in ")
        case .valueNotFound(_, let context), .typeMismatch(_, let context), .dataCorrupted(let context):
            return Self.location(context.codingPath, suffix: ": ") + context.debugDescription
        @unknown default:
            return String(describing: error)
        }
    }

    /// `codingPath` as `turns[2].role`; empty for the top level.
    private static func keyPath(_ codingPath: [CodingKey]) -> String {
        var path = ""
        for key in codingPath {
            if let index = (key as? IndexKey)?.index {
                path += "[\(index)]"
            } else {
                path += path.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return path
    }

    private static func location(_ codingPath: [CodingKey], prefix: String = "", suffix: String = "") -> String {
        codingPath.isEmpty ? "" : prefix + keyPath(codingPath) + suffix
    }
}

/// A `JSONValue` member of a `Decodable` type keeps the value as parsed, for the loosely shaped
/// parts of a file that are checked by hand. Only `JSONValueDecoder` can supply it: another
/// decoder would have to guess, for instance whether `1` was written `1` or `1.0`.
extension JSONValue: Decodable {
    public init(from decoder: Decoder) throws {
        guard let decoder = decoder as? ValueDecoder else {
            throw DecodingError.typeMismatch(
                JSONValue.self,
                .init(codingPath: decoder.codingPath, debugDescription: "JSONValue decodes only with JSONValueDecoder"))
        }
        self = decoder.value
    }
}

/// An array index in a coding path.
private struct IndexKey: CodingKey {
    let index: Int
    var intValue: Int? { index }
    var stringValue: String { "Index \(index)" }
    init(index: Int) { self.index = index }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.init(index: intValue) }
}

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw mismatch(KeyedDecodingContainer<Key>.self, expected: "an object")
        }
        return KeyedDecodingContainer(KeyedContainer(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            throw mismatch(UnkeyedDecodingContainer.self, expected: "an array")
        }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { self }

    /// `valueNotFound` for null, as `JSONDecoder` reports it; `typeMismatch` otherwise.
    func mismatch(_ type: Any.Type, expected: String) -> DecodingError {
        let context = DecodingError.Context(
            codingPath: codingPath, debugDescription: "expected \(expected), found \(Self.article(value))")
        return value == .null ? .valueNotFound(type, context) : .typeMismatch(type, context)
    }

    private static func article(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .int, .array, .object: return "an \(value.typeName)"
        default: return "a \(value.typeName)"
        }
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        switch value {
        case .int(let number):
            guard let exact = T(exactly: number) else { throw doesNotFit(number, type) }
            return exact
        case .double(let number):
            throw doesNotFit(number, type)
        default:
            throw mismatch(type, expected: "an integer")
        }
    }

    func floatingPoint<T: BinaryFloatingPoint>(_ type: T.Type) throws -> T {
        let number: Double
        switch value {
        case .int(let integer): number = Double(integer)
        case .double(let double): number = double
        default: throw mismatch(type, expected: "a number")
        }
        let converted = T(number)
        // The parser only produces finite numbers; a Float can still overflow.
        guard converted.isFinite else { throw doesNotFit(number, type) }
        return converted
    }

    private func doesNotFit(_ number: Any, _ type: Any.Type) -> DecodingError {
        .dataCorrupted(.init(codingPath: codingPath, debugDescription: "number \(number) does not fit in \(type)"))
    }
}

extension ValueDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool { value == .null }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let flag) = value else { throw mismatch(type, expected: "a boolean") }
        return flag
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let text) = value else { throw mismatch(type, expected: "a string") }
        return text
    }

    func decode(_ type: Double.Type) throws -> Double { try floatingPoint(type) }
    func decode(_ type: Float.Type) throws -> Float { try floatingPoint(type) }
    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: self) }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [CodingKey]

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func decoder(for key: Key) throws -> ValueDecoder {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key,
                .init(codingPath: codingPath, debugDescription: "no value for key '\(key.stringValue)'"))
        }
        return ValueDecoder(value: value, codingPath: codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool { try decoder(for: key).decodeNil() }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decoder(for: key).decode(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decoder(for: key).decode(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decoder(for: key).decode(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decoder(for: key).decode(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decoder(for: key).decode(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decoder(for: key).decode(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decoder(for: key).decode(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decoder(for: key).decode(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decoder(for: key).decode(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decoder(for: key).decode(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decoder(for: key).decode(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decoder(for: key).decode(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decoder(for: key).decode(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decoder(for: key).decode(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try T(from: try decoder(for: key)) }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder(for: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try decoder(for: key).unkeyedContainer()
    }

    /// The value under `super`, as `JSONDecoder` does; null when the key is absent.
    func superDecoder() throws -> Decoder {
        ValueDecoder(value: members["super"] ?? .null, codingPath: codingPath + [SuperKey()])
    }

    func superDecoder(forKey key: Key) throws -> Decoder {
        ValueDecoder(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

/// The key of `superDecoder()`, which the container's own key type need not have.
private struct SuperKey: CodingKey {
    var stringValue: String { "super" }
    var intValue: Int? { nil }
    init() {}
    init?(stringValue: String) {
        guard stringValue == "super" else { return nil }
    }
    init?(intValue: Int) { return nil }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [CodingKey]
    private(set) var currentIndex = 0

    init(elements: [JSONValue], codingPath: [CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    /// The decoder for the next element; advances only once the element has decoded, so a
    /// failed `decode` can be retried as another type, as with `JSONDecoder`.
    private func next(_ type: Any.Type) throws -> ValueDecoder {
        let path = codingPath + [IndexKey(index: currentIndex)]
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: path, debugDescription: "unkeyed container is at end"))
        }
        return ValueDecoder(value: elements[currentIndex], codingPath: path)
    }

    private mutating func advance<T>(_ decode: (ValueDecoder) throws -> T) throws -> T {
        let value = try decode(try next(T.self))
        currentIndex += 1
        return value
    }

    mutating func decodeNil() throws -> Bool {
        guard try next(JSONValue.self).decodeNil() else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try advance { try $0.decode(type) } }
    mutating func decode(_ type: String.Type) throws -> String { try advance { try $0.decode(type) } }
    mutating func decode(_ type: Double.Type) throws -> Double { try advance { try $0.decode(type) } }
    mutating func decode(_ type: Float.Type) throws -> Float { try advance { try $0.decode(type) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try advance { try $0.decode(type) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try advance { try $0.decode(type) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try advance { try $0.decode(type) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try advance { try $0.decode(type) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try advance { try $0.decode(type) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try advance { try $0.decode(type) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try advance { try $0.decode(type) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try advance { try $0.decode(type) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try advance { try $0.decode(type) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try advance { try $0.decode(type) } }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try advance { try T(from: $0) } }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try advance { try $0.container(keyedBy: type) }
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        try advance { try $0.unkeyedContainer() }
    }

    mutating func superDecoder() throws -> Decoder { try advance { $0 } }
}
