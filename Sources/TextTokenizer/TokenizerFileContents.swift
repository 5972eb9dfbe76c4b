import JSON

/// The top level of `tokenizer.json`, split up for the definition parser. The vocabulary and
/// merges, which are nearly all of a 6 MB file, are converted to typed collections here;
/// everything else stays a `JSONValue` for the parser to validate with precise messages.
struct TokenizerFileContents {
    /// Every top-level member except `model`.
    var sections: [String: JSONValue]
    var model: ModelContents?

    init(_ members: [String: JSONValue]) {
        var sections = members
        model = sections.removeValue(forKey: "model").map(ModelContents.init)
        self.sections = sections
    }
}

/// `model`. A bad vocabulary or merge list is kept as a `JSONValue` so the parser can say
/// exactly which entry is wrong.
enum ModelContents {
    case object(ModelFields)
    case notAnObject(JSONValue)

    init(_ value: JSONValue) {
        guard case .object(let members) = value else {
            self = .notAnObject(value)
            return
        }
        self = .object(ModelFields(members))
    }
}

struct ModelFields {
    enum Vocabulary {
        case absent
        case valid([String: Int])
        case invalid(JSONValue)
    }

    enum Merges {
        case absent
        /// Legacy "a b" strings.
        case strings([String])
        /// Newer [a, b] pairs (length checked by the parser).
        case pairs([[String]])
        case invalid(JSONValue)
    }

    /// Every member of `model` except `vocab` and `merges`.
    var options: [String: JSONValue]
    var vocabulary: Vocabulary
    var merges: Merges

    init(_ members: [String: JSONValue]) {
        var options = members
        vocabulary = options.removeValue(forKey: "vocab").map(Vocabulary.init) ?? .absent
        merges = options.removeValue(forKey: "merges").map(Merges.init) ?? .absent
        self.options = options
    }
}

extension ModelFields.Vocabulary {
    /// Valid when every id is an integer; their range is the parser's to check.
    init(_ value: JSONValue) {
        guard case .object(let entries) = value, entries.values.allSatisfy({ $0.integer != nil }) else {
            self = .invalid(value)
            return
        }
        // `mapValues` keeps the hash table: 151k keys are not hashed again. The fallback is
        // never taken, every value was just checked.
        self = .valid(entries.mapValues { $0.integer ?? -1 })
    }
}

extension ModelFields.Merges {
    init(_ value: JSONValue) {
        guard case .array(let entries) = value else {
            self = .invalid(value)
            return
        }
        if let lines = Self.strings(entries) {
            self = .strings(lines)
            return
        }
        var pairs: [[String]] = []
        pairs.reserveCapacity(entries.count)
        for entry in entries {
            guard case .array(let pair) = entry, let strings = Self.strings(pair) else {
                self = .invalid(value)
                return
            }
            pairs.append(strings)
        }
        self = .pairs(pairs)
    }

    /// `values` as strings, or nil if any is not a string.
    private static func strings(_ values: [JSONValue]) -> [String]? {
        var strings: [String] = []
        strings.reserveCapacity(values.count)
        for value in values {
            guard case .string(let text) = value else { return nil }
            strings.append(text)
        }
        return strings
    }
}
