/// Splits long text for TTS into pieces spoken one after another: at sentence ends (. ! ? ; …
/// and their CJK forms), pieces of at most `maxCharacters`; a longer sentence is split at a
/// comma, then at a space, then anywhere. The model was trained on utterances, not chapters.
public enum TextSplitter {
    public static let defaultMaxCharacters = 300

    public static func pieces(_ text: String, maxCharacters limit: Int = defaultMaxCharacters) -> [String] {
        let trimmed = PythonText.strip(text)
        guard trimmed.count > limit else { return trimmed.isEmpty ? [] : [trimmed] }
        var pieces: [String] = []
        var current = ""
        for sentence in split(trimmed, after: Set("。！？；.!?;…\n"), spaced: true).flatMap({ fit($0, limit) }) {
            if !current.isEmpty && current.count + sentence.count > limit {
                pieces.append(PythonText.strip(current))
                current = ""
            }
            current += sentence
        }
        if !PythonText.strip(current).isEmpty { pieces.append(PythonText.strip(current)) }
        return pieces
    }

    /// Cuts after each of `marks` (for ASCII marks only when a space or the end follows, so "3.5"
    /// and "e.g." inside words stay whole).
    private static func split(_ text: String, after marks: Set<Character>, spaced: Bool) -> [String] {
        var parts: [String] = []
        var current = ""
        let chars = Array(text)
        for (i, c) in chars.enumerated() {
            current.append(c)
            guard marks.contains(c) else { continue }
            let next = i + 1 < chars.count ? chars[i + 1] : " "
            if !spaced || !c.isASCII || next.isWhitespace {
                parts.append(current)
                current = ""
            }
        }
        if !current.isEmpty { parts.append(current) }
        return parts
    }

    /// A sentence longer than `limit`, in parts that fit.
    private static func fit(_ sentence: String, _ limit: Int) -> [String] {
        guard sentence.count > limit else { return [sentence] }
        var parts: [String] = []
        var current = ""
        for clause in split(sentence, after: Set("，,、：:"), spaced: false).flatMap({
            $0.count > limit ? split($0, after: [" "], spaced: false) : [$0]
        }) {
            var clause = clause
            while clause.count > limit {
                if !current.isEmpty {
                    parts.append(current)
                    current = ""
                }
                parts.append(String(clause.prefix(limit)))
                clause = String(clause.dropFirst(limit))
            }
            if current.count + clause.count > limit {
                parts.append(current)
                current = ""
            }
            current += clause
        }
        if !current.isEmpty { parts.append(current) }
        return parts
    }
}
