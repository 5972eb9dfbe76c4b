/// Everything keyed by token id: the token's string, the bytes it decodes to and whether
/// `skipSpecialTokens` drops it. Dense arrays, because ids are dense in every real vocabulary
/// and decoding looks one up per generated token.
struct TokenTable: Sendable {
    /// `strings[id]`, nil for ids no token has.
    private let strings: [String?]
    /// Decoded bytes of all tokens back to back; token `id` owns `bytes[starts[id]..<starts[id + 1]]`.
    private let bytes: [UInt8]
    private let starts: [Int]
    private let special: [Bool]

    /// Ids beyond `count * sparsityFactor + sparsitySlack` are refused so a corrupt file cannot
    /// make the tables allocate gigabytes.
    static let sparsityFactor = 4
    static let sparsitySlack = 65_536

    var count: Int { strings.count }

    /// Added tokens take precedence over the vocabulary for the same id, as in Hugging Face's
    /// `id_to_token`. `source` only names the file in errors.
    init(vocabulary: [String: Int], addedTokens: [AddedToken], source: String) throws {
        var maxID = -1
        for id in vocabulary.values { maxID = max(maxID, id) }
        for token in addedTokens { maxID = max(maxID, token.id) }
        let entryCount = vocabulary.count + addedTokens.count
        // Ids must also fit the Int32 symbols BPE works with.
        guard maxID < entryCount * Self.sparsityFactor + Self.sparsitySlack, maxID <= Int(Int32.max) else {
            throw TextTokenizerError.invalidField(
                source: source, field: "model.vocab",
                reason: "ids are too sparse: largest id \(maxID) for \(entryCount) tokens")
        }

        var strings = [String?](repeating: nil, count: maxID + 1)
        for (token, id) in vocabulary {
            // Two strings with one id: keep the smaller so the choice is deterministic.
            if let existing = strings[id], existing <= token { continue }
            strings[id] = token
        }
        var special = [Bool](repeating: false, count: maxID + 1)
        for token in addedTokens { strings[token.id] = token.content }
        // Hugging Face skips by content: any id whose token string is a special token's content.
        let specialContents = Set(addedTokens.filter(\.special).map(\.content))
        if !specialContents.isEmpty {
            for (id, string) in strings.enumerated() {
                if let string, specialContents.contains(string) { special[id] = true }
            }
        }

        var bytes: [UInt8] = []
        var starts: [Int] = []
        starts.reserveCapacity(maxID + 2)
        for string in strings {
            starts.append(bytes.count)
            if let string { bytes.append(contentsOf: ByteLevelAlphabet.decode(string)) }
        }
        starts.append(bytes.count)

        self.strings = strings
        self.bytes = bytes
        self.starts = starts
        self.special = special
    }

    func string(for id: Int) -> String? {
        guard id >= 0, id < strings.count else { return nil }
        return strings[id]
    }

    /// Appends the bytes token `id` decodes to; unknown ids (and, if asked, special tokens)
    /// add nothing, as Hugging Face's `decode` filters them out.
    func appendBytes(of id: Int, skippingSpecial: Bool, to output: inout [UInt8]) {
        guard id >= 0, id < strings.count, strings[id] != nil else { return }
        if skippingSpecial, special[id] { return }
        output.append(contentsOf: bytes[starts[id]..<starts[id + 1]])
    }
}
