import ArgumentParser
import Foundation
import Logging
import MiMoAudio

@main
struct MimoAudioCommand: ParsableCommand {
    static func main() {
        Tuning.keepFreedMemory()
        Console.shared.setUp()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            // ArgumentParser's exit(withError:), ending through quit.
            let code = exitCode(for: error)
            let text = fullMessage(for: error)
            if !text.isEmpty { fputs(text + "\n", code == .success ? stdout : stderr) }
            quit(code.rawValue)
        }
        // A failed progress or warning line: stderr cannot say so, the exit code does.
        quit(Console.shared.errorStreamFailure == nil ? 0 : 1)
    }

    /// Ends the process without the libraries' exit handlers: Debian's OpenBLAS (0.3.21) can
    /// deadlock in its own (`gotoblas_quit` joins a pool thread that never wakes), which left a
    /// `serve` that had finished its graceful shutdown hanging forever. Every output is written
    /// unbuffered or flushed here, and files are renamed into place before this.
    static func quit(_ code: Int32) -> Never {
        fflush(stdout)
        fflush(stderr)
        _exit(code)
    }

    static let configuration = CommandConfiguration(
        commandName: "mimo-audio",
        abstract: "Native Swift inference for Xiaomi's MiMo-Audio models.",
        version: "mimo-audio 0.3.0",
        subcommands: [
            TTSCommand.self, ASRCommand.self, AskCommand.self, ChatCommand.self, TextChatCommand.self, ICLCommand.self,
            ContinueCommand.self, TextCommand.self, CodecCommand.self, GenerateCommand.self, ConvertCommand.self,
            BenchCommand.self, DownloadCommand.self, ModelsCommand.self, ServeCommand.self,
        ]
    )
}

/// Options every model-running command shares.
struct RuntimeOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Threads for BLAS and the engine's own loops (default: all cores).")
    var threads: Int?

    @Flag(help: "Log details (e.g. checkpoint tensors that are ignored) on stderr.")
    var verbose = false

    @Option(
        help:
            "bf16 matrix products over many rows: fast (bf16 dot products, as the reference's bf16 run) or exact (f32 on widened weights)."
    )
    var precision: String = "fast"

    func compute() throws -> Compute {
        let level: Logger.Level = verbose ? .debug : .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        if let threads, threads < 1 || threads > 1024 {
            throw ValidationError("--threads must be between 1 and 1024")
        }
        guard let mode = Compute.Precision(rawValue: precision.lowercased()) else {
            throw ValidationError("--precision must be fast or exact")
        }
        let compute = Compute(threads: threads, precision: mode)
        BLAS.configure(threads: compute.threads)
        return compute
    }
}

/// Data on stdout, with checked writes (`text` as is: give the newline).
func printOut(_ text: String) throws { try Console.shared.out(text) }

extension WAVWriter.SampleFormat: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "s16": self = .s16
        case "f32": self = .f32
        default: return nil
        }
    }

    public static var allValueStrings: [String] { ["s16", "f32"] }
}
