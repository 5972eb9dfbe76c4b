/// Splits live text into thinking and answer at the first `</think>`, which the tokenizer spells
/// as plain text and may split across tokens: a tail that could be the start of the marker is
/// held back until the next piece decides it.
struct ThinkingSplitter {
    static let marker = TaskEvent.thinkingEnd
    private(set) var thinking: Bool
    private var held = ""

    init(startsThinking: Bool) { thinking = startsThinking }

    /// The pieces of `text` in order, each marked as thinking or not; the marker itself is dropped.
    mutating func push(_ text: String) -> [(thinking: Bool, text: String)] {
        guard thinking else { return text.isEmpty ? [] : [(false, text)] }
        let pending = held + text
        held = ""
        if let range = pending.range(of: Self.marker) {
            thinking = false
            return [(true, String(pending[..<range.lowerBound])), (false, String(pending[range.upperBound...]))].filter
            { !$0.text.isEmpty }
        }
        // Hold back the longest tail that is a proper prefix of the marker.
        var keep = 0
        for n in stride(from: min(Self.marker.count - 1, pending.count), to: 0, by: -1)
        where pending.hasSuffix(Self.marker.prefix(n)) {
            keep = n
            break
        }
        held = String(pending.suffix(keep))
        let out = String(pending.dropLast(keep))
        return out.isEmpty ? [] : [(true, out)]
    }

    /// What is still held back (generation ended inside a would-be marker).
    mutating func finish() -> [(thinking: Bool, text: String)] {
        defer { held = "" }
        return held.isEmpty ? [] : [(thinking, held)]
    }

    /// The final text split the same way: (thinking, answer), both stripped.
    static func split(_ text: String, startsThinking: Bool) -> (thinking: String?, answer: String) {
        guard startsThinking else { return (nil, text) }
        guard let range = text.range(of: marker) else { return (PythonText.strip(text), "") }
        return (
            PythonText.strip(String(text[..<range.lowerBound])), PythonText.strip(String(text[range.upperBound...]))
        )
    }
}
