/// The raw top level of `tokenizer.json`. The vocabulary and merges, which are nearly all of a
/// 6 MB file, are decoded straight into typed collections; everything else stays generic JSON
/// for the parser to validate with precise messages.
struct TokenizerFileContents: Decodable {
    /// Every top-level member except `model`.
    var sections: [String: JSON] = [:]
    var model: ModelContents?

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        for key in container.allKeys {
            if key.stringValue == "model" {
                model = try container.decode(ModelContents.self, forKey: key)
            } else {
                sections[key.stringValue] = try container.decode(JSON.self, forKey: key)
            }
        }
    }
}

/// `model`. Decoding never fails on a bad vocabulary or merge list: those are kept as generic
/// JSON so the parser can say exactly which entry is wrong.
enum ModelContents: Decodable {
    case object(ModelFields)
    case notAnObject(JSON)

    init(from decoder: Decoder) throws {
        if let fields = try? ModelFields(from: decoder) {
            self = .object(fields)
        } else {
            self = .notAnObject(try JSON(from: decoder))
        }
    }
}

struct ModelFields {
    enum Vocabulary {
        case absent
        case valid([String: Int])
        case invalid(JSON)
    }

    enum Merges {
        case absent
        /// Legacy "a b" strings.
        case strings([String])
        /// Newer [a, b] pairs (length checked by the parser).
        case pairs([[String]])
        case invalid(JSON)
    }

    var options: [String: JSON] = [:]
    var vocabulary = Vocabulary.absent
    var merges = Merges.absent

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        for key in container.allKeys {
            switch key.stringValue {
            case "vocab":
                if let typed = try? container.decode([String: Int].self, forKey: key) {
                    vocabulary = .valid(typed)
                } else {
                    vocabulary = .invalid(try container.decode(JSON.self, forKey: key))
                }
            case "merges":
                if let typed = try? container.decode([String].self, forKey: key) {
                    merges = .strings(typed)
                } else if let typed = try? container.decode([[String]].self, forKey: key) {
                    merges = .pairs(typed)
                } else {
                    merges = .invalid(try container.decode(JSON.self, forKey: key))
                }
            default:
                options[key.stringValue] = try container.decode(JSON.self, forKey: key)
            }
        }
    }
}
