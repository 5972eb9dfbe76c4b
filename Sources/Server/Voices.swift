import Foundation

/// Named voices. MiMo-Audio has no fixed speakers: a voice is a style instruction (instruct-TTS)
/// in the text's language, optionally with a voice prompt. The built-in names are OpenAI's, so
/// clients' defaults work; `--voices DIR` adds `NAME.txt` (the style) with an optional `NAME.wav`.
public struct VoiceBook: Sendable {
    public struct Voice: Sendable, Equatable {
        public let name: String
        public let english: String
        public let chinese: String
        /// A voice prompt to imitate, for voices from `--voices`.
        public let prompt: URL?

        /// The style instruction in the language of `text`.
        public func instruction(for text: String) -> String { VoiceBook.isChinese(text) ? chinese : english }
    }

    public private(set) var voices: [String: Voice]

    public static let builtIn: [Voice] = [
        ("alloy", "A neutral, balanced adult voice, clear and even.", "中性、平衡的成年人声音，清晰平稳。"),
        ("ash", "A warm, slightly husky male voice, relaxed.", "温暖、略带沙哑的男声，语气放松。"),
        ("ballad", "A soft, melodic male voice, gentle and expressive.", "柔和、富有旋律感的男声，温柔而有表现力。"),
        ("coral", "A bright, friendly female voice, upbeat.", "明亮、友好的女声，语气轻快。"),
        ("echo", "A calm, resonant male voice at a measured pace.", "沉稳、浑厚的男声，语速适中。"),
        ("fable", "A warm storyteller's voice, expressive, with a British lilt.", "温暖的讲故事的声音，富有表现力。"),
        ("onyx", "A deep, authoritative male voice, slow and steady.", "低沉、有权威感的男声，缓慢而稳重。"),
        ("nova", "A young, energetic female voice, lively.", "年轻、充满活力的女声，语气活泼。"),
        ("sage", "A calm, wise and soothing voice, unhurried.", "平静、睿智、令人安心的声音，不疾不徐。"),
        ("shimmer", "A soft, airy female voice, gentle.", "轻柔、空灵的女声，温和。"),
        ("verse", "A versatile, expressive voice with natural intonation.", "多变而富有表现力的声音，语调自然。"),
    ].map { Voice(name: $0.0, english: $0.1, chinese: $0.2, prompt: nil) }

    public init(directory: URL? = nil) throws {
        voices = Dictionary(uniqueKeysWithValues: Self.builtIn.map { ($0.name, $0) })
        guard let directory else { return }
        let fm = FileManager.default
        let names: [String]
        do { names = try fm.contentsOfDirectory(atPath: directory.path) } catch {
            throw VoiceError("cannot read the voices directory \(directory.path): \(error.localizedDescription)")
        }
        for file in names.sorted() where file.hasSuffix(".txt") {
            let name = String(file.dropLast(4))
            guard !name.isEmpty,
                name.unicodeScalars.allSatisfy({
                    $0.isASCII && $0.properties.isAlphabetic || "-_0123456789".unicodeScalars.contains($0)
                })
            else { throw VoiceError("voice file \(file): a name is letters, digits, '-' and '_'") }
            guard let data = fm.contents(atPath: directory.appendingPathComponent(file).path),
                let style = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
                !style.isEmpty
            else { throw VoiceError("voice file \(file): expected a UTF-8 style instruction") }
            let wav = directory.appendingPathComponent(name + ".wav")
            voices[name] = Voice(
                name: name, english: style, chinese: style, prompt: fm.fileExists(atPath: wav.path) ? wav : nil)
        }
    }

    public var names: [String] { voices.keys.sorted() }

    public func voice(_ name: String) throws(APIError) -> Voice {
        guard let voice = voices[name] else {
            throw .invalid(
                "Unknown voice '\(name)'; the voices are: \(names.joined(separator: ", ")).", param: "voice")
        }
        return voice
    }

    /// Whether `text` is mostly Chinese (the style instruction follows the text's language).
    static func isChinese(_ text: String) -> Bool {
        var han = 0
        var letters = 0
        for scalar in text.unicodeScalars where scalar.properties.isAlphabetic {
            letters += 1
            if (0x4E00...0x9FFF).contains(scalar.value) || (0x3400...0x4DBF).contains(scalar.value) { han += 1 }
        }
        return letters > 0 && han * 2 >= letters
    }
}

public struct VoiceError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
