import ArgumentParser
import Foundation
import MiMoAudio

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure speed at the real model sizes with synthesised weights (no download).",
        subcommands: [Codec.self]
    )

    struct Codec: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encode and decode real-time factor of the released tokenizer configuration.")

        @Option(help: "Seconds of audio.") var seconds: Double = 10
        @Option(help: "Timed runs (the median is reported).") var runs: Int = 3
        @Option(help: "Weight dtype: bf16 (as released) or f32.") var dtype: String = "bf16"
        @Flag(help: "Print the figures as JSON.") var json = false
        @OptionGroup var runtime: RuntimeOptions

        func run() throws {
            guard seconds > 0.1 && seconds <= 600 else { throw ValidationError("--seconds must be in (0.1, 600]") }
            guard (1...100).contains(runs) else { throw ValidationError("--runs must be between 1 and 100") }
            guard let type = DType(rawValue: dtype.uppercased()), type == .bf16 || type == .f32 else {
                throw ValidationError("--dtype must be bf16 or f32")
            }
            let r = try CodecBenchmark.run(seconds: seconds, runs: runs, dtype: type, compute: runtime.compute(), log: progress)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                let summary: [String: Double] = [
                    "audio_seconds": r.audioSeconds, "threads": Double(r.threads),
                    "encode_seconds_median": r.encodeMedian, "decode_seconds_median": r.decodeMedian,
                    "encode_rtf": r.encodeRTF, "decode_rtf": r.decodeRTF,
                    "encode_gflops": r.encodeGFLOPS, "decode_gflops": r.decodeGFLOPS,
                    "peak_rss_mib": r.peakRSSMiB,
                ]
                print(String(decoding: try encoder.encode(summary), as: UTF8.self))
                return
            }
            print("codec benchmark: \(r.audioSeconds) s of audio, \(r.threads) threads, \(r.weightDType) weights, median of \(r.encodeSeconds.count)")
            print("| stage  | wall (s) | RTF   | GFLOP | GFLOP/s |")
            print("|--------|----------|-------|-------|---------|")
            print(String(format: "| encode | %8.2f | %.3f | %5.0f | %7.1f |", r.encodeMedian, r.encodeRTF, r.encodeGFLOP, r.encodeGFLOPS))
            print(String(format: "| decode | %8.2f | %.3f | %5.0f | %7.1f |", r.decodeMedian, r.decodeRTF, r.decodeGFLOP, r.decodeGFLOPS))
            print(String(format: "peak RSS: %.0f MiB", r.peakRSSMiB))
        }
    }
}
