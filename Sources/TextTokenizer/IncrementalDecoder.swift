/// Turns a stream of generated ids into text as it arrives. Byte-level tokens often end in the
/// middle of a multi-byte character (an emoji spans several tokens), so the bytes of an
/// unfinished character are held back until the token that completes it; the concatenated
/// output always equals `decode` of all ids.
public struct IncrementalDecoder: Sendable {
    private let tokenizer: TextTokenizer
    private let skipSpecialTokens: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: TextTokenizer, skipSpecialTokens: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Text completed by `id`: only whole characters, possibly "". Bytes that can no longer
    /// become valid UTF-8 are emitted as U+FFFD right away, as `decode` would.
    public mutating func push(_ id: Int) -> String {
        tokenizer.appendBytes(of: id, skippingSpecial: skipSpecialTokens, to: &pending)
        let end = LossyUTF8.completePrefixEnd(pending)
        guard end > 0 else { return "" }
        let text = LossyUTF8.decode(pending[0..<end])
        pending.removeFirst(end)
        return text
    }

    /// Whatever is still held back; an unfinished character becomes one U+FFFD. The decoder
    /// is empty afterwards and can be reused.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return LossyUTF8.decode(pending)
    }
}
