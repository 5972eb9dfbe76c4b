import ArgumentParser
import Foundation
import MiMoAudio

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract:
            "Write a MiMo-Audio LM checkpoint with block-quantized linear layers (loads memory-mapped, no conversion).")

    @Option(help: "q8 (8.5 bits per weight) or q4 (4.5 bits per weight).") var format: String
    @Argument(help: "Input LM checkpoint directory.") var input: String
    @Argument(help: "Output directory (config and tokenizer files are copied).") var output: String
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        let target = try WeightFormat(quantizationName: format)
        guard URL(fileURLWithPath: input).standardizedFileURL != URL(fileURLWithPath: output).standardizedFileURL else {
            throw ValidationError("the output directory must differ from the input")
        }
        let start = DispatchTime.now()
        let report = try CheckpointConverter.convert(
            from: URL(fileURLWithPath: input), to: URL(fileURLWithPath: output),
            format: target, compute: runtime.compute(), log: Reporter.always.line)
        Reporter.always.line(
            String(
                format: "wrote %@: %d quantized and %d kept tensors, %.2f GB, in %.1f s", output,
                report.quantizedTensors, report.keptTensors, Double(report.bytesWritten) / 1e9, seconds(since: start)))
    }
}

/// `--quantize q8|q4` on the commands that load the LM.
/// How the LM is held in memory.
struct LMLoadOptions: ParsableArguments {
    @Option(help: "Quantize the LM's linear layers while loading: q8 or q4 (a converted checkpoint needs no flag).")
    var quantize: String?

    @Option(
        name: .customLong("kv-cache"),
        help: "KV cache storage: f16 (half the memory) or f32 (the reference's exact numerics).")
    var kvCache: String = "f16"

    func validate() throws {
        do {
            _ = try format()
            _ = try kvPrecision()
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("--quantize: \(error)")
        }
    }

    func format() throws -> WeightFormat? { try quantize.map { try WeightFormat(quantizationName: $0) } }

    func kvPrecision() throws -> KVPrecision { try parseKVPrecision(kvCache) }
}

/// How the codec is held in memory (every command that loads the MiMo-Audio-Tokenizer).
struct CodecLoadOptions: ParsableArguments {
    @Option(
        name: .customLong("codec-quantize"),
        help:
            "Quantize the codec's linear layers to q8 while loading (int8 GEMMs: faster, within ~34 dB of the f32 path)."
    )
    var codecQuantize: String?

    func format() throws -> WeightFormat? {
        guard let codecQuantize else { return nil }
        let format = try WeightFormat(quantizationName: codecQuantize)
        guard format == .q8_0 else {
            throw ValidationError("--codec-quantize must be q8 (4-bit weights are too coarse for the codec)")
        }
        return format
    }
}

/// `--kv-cache` as given on the command line (tasks and benchmarks).
func parseKVPrecision(_ name: String) throws -> KVPrecision {
    guard let p = KVPrecision(rawValue: name.lowercased()) else {
        throw ValidationError("--kv-cache must be f16 or f32")
    }
    return p
}
