import ArgumentParser
import Foundation
import MiMoAudio

struct TextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text", abstract: "The LM's text tokenizer: encode text to ids and decode ids to text.",
        subcommands: [Encode.self, Decode.self])

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encode text (added tokens such as <|im_end|> are recognised).")
        @Option(help: "Directory holding tokenizer.json.") var model: String
        @Argument(help: "Text to encode.") var text: String?
        @Option(name: .customLong("text-file"), help: "Read the text from a file (- reads stdin).") var textFile:
            String?
        @Flag(help: "Print {\"ids\": [...], \"tokens\": [...]}.") var json = false

        func run() throws {
            let text = try readText(argument: text, file: textFile, what: "text to encode")
            let tokenizer = try TextTokenizer(directory: URL(fileURLWithPath: model))
            let ids = tokenizer.encode(text)
            if json {
                struct Output: Encodable {
                    let ids: [Int]
                    let tokens: [String]
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                try printOut(
                    String(decoding: try encoder.encode(Output(ids: ids, tokens: tokenizer.tokens(ids))), as: UTF8.self)
                        + "\n")
            } else {
                try printOut(ids.map(String.init).joined(separator: " ") + "\n")
            }
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode ids to text (special tokens kept, as the reference does).")
        @Option(help: "Directory holding tokenizer.json.") var model: String
        @Flag(name: .customLong("skip-special-tokens"), help: "Drop special tokens.") var skipSpecialTokens = false
        @Argument(help: "Token ids.") var ids: [Int]

        func run() throws {
            let tokenizer = try TextTokenizer(directory: URL(fileURLWithPath: model))
            if let bad = ids.first(where: { $0 < 0 || $0 >= tokenizer.vocabularySize }) {
                throw ValidationError("id \(bad) is outside the vocabulary 0..<\(tokenizer.vocabularySize)")
            }
            try printOut(tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens) + "\n")
        }
    }
}
