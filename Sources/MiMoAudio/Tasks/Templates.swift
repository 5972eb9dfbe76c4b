import Foundation

public enum TemplateLanguage: String, Sendable, CaseIterable {
    case english = "en"
    case chinese = "zh"
}

/// The instruction templates the reference draws from with `random.choice` (templates.py;
/// docs/model.md §6.10). Order matters: `--template-index` pins an entry of the very list drawn from.
public enum Templates {
    public static let asrChinese = [
        "请将这段语音转换为文字", "帮我识别这个音频文件中的内容", "把这段录音转成文本", "请转录这段语音",
        "将音频内容转换成文字格式", "识别并转写这段语音", "把语音内容写成文字", "转录这个音频片段",
        "将这段对话转换为文本", "麻烦帮我把这段录音整理成详细的文字记录",
    ]
    public static let asrEnglish = [
        "Please transcribe this audio file", "Convert this speech recording to text",
        "Transcribe the following voice message", "Turn this audio into readable text",
        "Please convert the recording to written format", "Transcribe what you hear in this audio",
        "Convert this spoken content to text", "Please write down what is said in this recording",
        "Transcribe this voice recording", "Could you please help me transcribe this important recording?",
        "Would you mind converting this voice message into a readable text format?",
        "I'd really appreciate it if you could turn this audio file into a written document",
    ]
    /// ASR draws from the Chinese then the English list (22 entries).
    public static let asr = asrChinese + asrEnglish

    /// The evaluation toolkit's fixed ASR instructions (docs/model.md §6.1), for reproducible transcripts.
    public static func asrEvaluation(_ language: TemplateLanguage) -> String {
        language == .chinese ? "请将这段语音转换为文字." : "Transcribe the following voice message."
    }

    public static let ttsChinese = [
        "请将这段文字转换为语音", "帮我把这个文本读出来", "将这些文字生成音频", "请朗读这段内容",
        "把这段话转换成语音文件", "生成这段文字的语音版本", "请用语音播报这些内容", "将文本转换为可听的音频",
        "帮我朗读这段文字", "把这些内容念出来",
    ]
    public static let ttsEnglish = [
        "Please convert this text to speech", "Turn this writing into audio", "Generate speech from this text",
        "Read this content out loud", "Convert these words to voice", "Create an audio version of this text",
        "Please vocalize this content", "Turn this text into audible format", "Help me convert this writing to speech",
        "Make this text into spoken audio",
    ]

    /// The TTS list for the text's language: Chinese when any character is in U+4E00–U+9FFF.
    public static func tts(for text: String) -> [String] {
        text.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) } ? ttsChinese : ttsEnglish
    }
}

/// Python string semantics the reference relies on (docs/model.md §6.11).
enum PythonText {
    /// `text.capitalize()` when `text.isupper() or text.islower()`.
    static func normalizeForTTS(_ text: String) -> String {
        let cased = text.filter { $0.isCased }
        guard !cased.isEmpty else { return text }
        let allUpper = cased.allSatisfy { $0.isUppercase }
        let allLower = cased.allSatisfy { $0.isLowercase }
        guard allUpper || allLower, let first = text.first else { return text }
        // Python's capitalize: title-case the first character, lower-case the rest.
        return String(first).uppercased() + text.dropFirst().lowercased()
    }

    /// `str.strip()`: Unicode whitespace at both ends.
    static func strip(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension Character {
    fileprivate var isCased: Bool { isUppercase || isLowercase || (isLetter && uppercased() != lowercased()) }
}
