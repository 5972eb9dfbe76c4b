/// Ends the answer at the first of the caller's stop strings (OpenAI's `stop`): the text before
/// it is passed on, the stop string and what follows never are. While the end of the text could
/// still become a stop string, that end is held back.
struct StopTexts {
    let stops: [String]
    private var pending = ""
    private(set) var stopped = false

    init(_ stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// The part of `text` (after what came before) that is certainly not in a stop string.
    mutating func push(_ text: String) -> String {
        guard !stopped else { return "" }
        guard !stops.isEmpty else { return text }
        pending += text
        if let cut = Self.firstStop(in: pending, stops) {
            stopped = true
            defer { pending = "" }
            return String(pending[..<cut])
        }
        var held = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, pending.count), to: held, by: -1)
            where pending.hasSuffix(stop.prefix(length)) {
                held = length
                break
            }
        }
        defer { pending = String(pending.suffix(held)) }
        return String(pending.dropLast(held))
    }

    /// What was held back, at the end of the text.
    mutating func finish() -> String {
        defer { pending = "" }
        return stopped ? "" : pending
    }

    /// `text` up to its first stop string (all of it when there is none).
    func cut(_ text: String) -> String {
        Self.firstStop(in: text, stops).map { String(text[..<$0]) } ?? text
    }

    private static func firstStop(in text: String, _ stops: [String]) -> String.Index? {
        stops.compactMap { text.range(of: $0)?.lowerBound }.min()
    }
}
