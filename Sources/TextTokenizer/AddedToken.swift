/// One entry of `tokenizer.json`'s `added_tokens`: a string matched verbatim in the input and
/// mapped to a fixed id instead of going through BPE.
struct AddedToken: Sendable, Equatable {
    let id: Int
    let content: String
    /// Dropped by `decode(skipSpecialTokens: true)`.
    let special: Bool
    /// Also swallows the whitespace run just before a match.
    let leftStrip: Bool
    /// Also swallows the whitespace run just after a match.
    let rightStrip: Bool
    /// Matched in the NFC-normalized text rather than the raw input.
    let normalized: Bool
    /// Only matched when not glued to a letter or digit on either side.
    let singleWord: Bool
}

extension AddedToken {
    /// The added tokens as Hugging Face actually registers them when loading a file.
    ///
    /// `tokenizers` ignores the `id` written in `added_tokens` (it only warns on a mismatch):
    /// a token whose content is already a vocabulary entry takes that entry's id, any other
    /// takes the next id after the vocabulary and the added tokens so far. For real files the
    /// two agree; reproducing the rule keeps odd files encoding exactly as in Python.
    /// Entries repeating a content collapse into one, with the flags of the last and `special`
    /// if any of them is special.
    static func registering(_ listed: [AddedToken], vocabulary: [String: Int]) -> [AddedToken] {
        var idsByContent: [String: Int] = [:]
        var order: [String] = []
        var latest: [String: AddedToken] = [:]
        var special: Set<String> = []
        var largestID: Int?
        for token in listed {
            if token.special { special.insert(token.content) }
            let id: Int
            if let known = idsByContent[token.content] ?? vocabulary[token.content] {
                id = known
            } else if let largest = largestID, largest >= vocabulary.count || vocabulary.isEmpty {
                id = largest + 1
            } else {
                id = vocabulary.count
            }
            if idsByContent[token.content] == nil { order.append(token.content) }
            idsByContent[token.content] = id
            latest[token.content] = token
            largestID = max(largestID ?? id, id)
        }
        return order.compactMap { content in
            guard let token = latest[content], let id = idsByContent[content] else { return nil }
            return AddedToken(
                id: id, content: content, special: special.contains(content), leftStrip: token.leftStrip,
                rightStrip: token.rightStrip, normalized: token.normalized, singleWord: token.singleWord)
        }
    }
}
