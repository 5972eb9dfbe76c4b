import ArgumentParser
import Foundation
import MiMoAudio

struct CodecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "Convert audio to MiMo-Audio codes and back with the MiMo-Audio-Tokenizer.",
        subcommands: [Encode.self, Decode.self, Roundtrip.self]
    )

    struct TokenizerOptions: ParsableArguments {
        @OptionGroup var model: AudioModelOptions
        @OptionGroup var runtime: RuntimeOptions
        @OptionGroup var hub: HubOptions

        func load() throws -> AudioTokenizer {
            let directory = try ModelLocator(hub: hub, reporter: .always).locate(
                model.audioTokenizer, role: .audioTokenizer
            ).0
            let start = DispatchTime.now()
            Reporter.always.line("loading tokenizer from \(model.audioTokenizer)")
            let tokenizer = try AudioTokenizer(
                directory: directory, compute: runtime.compute(), quantize: model.codecLoading.format())
            Reporter.always.line(String(format: "loaded in %.2f s", seconds(since: start)))
            return tokenizer
        }
    }

    static func encode(_ input: String, with tokenizer: AudioTokenizer, codebooks: Int) throws -> [[Int]] {
        let samples = try AudioInput.load(URL(fileURLWithPath: input), sampleRate: tokenizer.sampleRate)
        let start = DispatchTime.now()
        Reporter.always.line(
            String(format: "encoding %.2f s of audio", Double(samples.count) / Double(tokenizer.sampleRate)))
        let codes = try tokenizer.encode(samples: samples, codebooks: codebooks)
        Reporter.always.line(
            String(
                format: "encoded %d frames × %d codebooks in %.2f s", codes.first?.count ?? 0, codes.count,
                seconds(since: start)))
        return codes
    }

    static func decode(_ codes: [[Int]], with tokenizer: AudioTokenizer, to target: AudioTarget) throws {
        let start = DispatchTime.now()
        Reporter.always.line("decoding \(codes.first?.count ?? 0) frames")
        let wav = try tokenizer.decode(codes: codes)
        try target.write(wav, sampleRate: tokenizer.sampleRate)
        Reporter.always.line(
            String(
                format: "wrote %.2f s of audio to %@ (%@) in %.2f s", Double(wav.count) / Double(tokenizer.sampleRate),
                target.path == "-" ? "standard output" : target.path, target.format.rawValue, seconds(since: start)))
    }

    /// `-o` and its format, as the task commands take them.
    struct Output: ParsableArguments {
        @Option(
            name: .shortAndLong,
            help:
                "Output audio file, its format from the extension (wav, pcm, flac, mp3, opus/ogg, aac, m4a); '-' is stdout (raw s16le PCM unless --audio-format)."
        )
        var output: String
        @OptionGroup var format: AudioFormatOptions

        func validate() throws { _ = try target() }
        func target() throws -> AudioTarget { try format.target(output) }
    }

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encode a WAV file (any rate, any channels) to codes JSON.")

        @OptionGroup var tokenizer: TokenizerOptions
        @Argument(help: "Input audio file (WAV, FLAC, MP3, Ogg, Opus, M4A, WebM, ...; - reads stdin).") var input:
            String
        @Option(name: .shortAndLong, help: "Output codes JSON file.") var output: String
        @Option(help: "Codebooks to keep (the LM uses 8; up to 20).") var codebooks: Int = 8

        func run() throws {
            let model = try tokenizer.load()
            guard (1...model.codebookCount).contains(codebooks) else {
                throw ValidationError("--codebooks must be between 1 and \(model.codebookCount)")
            }
            let codes = try CodecCommand.encode(input, with: model, codebooks: codebooks)
            try CodesFile(codes: codes, sampleRate: model.sampleRate, frameRate: model.config.frameRate)
                .write(to: URL(fileURLWithPath: output))
            Reporter.always.line("wrote \(output)")
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode codes JSON (first 8 codebooks) to a 24 kHz WAV file.")

        static let codebooksUsed = 8

        @OptionGroup var tokenizer: TokenizerOptions
        @Argument(help: "Input codes JSON file.") var input: String
        @OptionGroup var output: Output

        func run() throws {
            let file = try CodesFile.read(URL(fileURLWithPath: input))
            guard file.codebooks >= Self.codebooksUsed else {
                throw CodecError.tooFewCodebooks(given: file.codebooks, required: Self.codebooksUsed)
            }
            let model = try tokenizer.load()
            guard file.sampleRate == model.sampleRate else {
                throw ValidationError(
                    "codes are for \(file.sampleRate) Hz but the tokenizer runs at \(model.sampleRate) Hz")
            }
            try CodecCommand.decode(Array(file.codes.prefix(Self.codebooksUsed)), with: model, to: try output.target())
        }
    }

    struct Roundtrip: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encode a WAV file to 8 codebooks and decode it again.")

        @OptionGroup var tokenizer: TokenizerOptions
        @Argument(help: "Input audio file (WAV, FLAC, MP3, Ogg, Opus, M4A, WebM, ...; - reads stdin).") var input:
            String
        @OptionGroup var output: Output

        func run() throws {
            let model = try tokenizer.load()
            let codes = try CodecCommand.encode(input, with: model, codebooks: Decode.codebooksUsed)
            try CodecCommand.decode(codes, with: model, to: try output.target())
        }
    }
}
