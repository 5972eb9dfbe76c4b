import ArgumentParser
import Benchmarks
import Foundation
import MiMoAudio

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure speed at the real model sizes with synthesised weights (no download).",
        subcommands: [Codec.self, LM.self, TTS.self, Text.self, Load.self]
    )

    struct Codec: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encode and decode real-time factor of the released tokenizer configuration.")

        @Option(help: "Seconds of audio.") var seconds: Double = 10
        @Option(help: "Timed runs (the median is reported).") var runs: Int = 3
        @Option(help: "Weight dtype: bf16 (as released) or f32.") var dtype: String = "bf16"
        @Flag(help: "Print the figures as JSON.") var json = false
        @OptionGroup var runtime: RuntimeOptions
        @OptionGroup var codecLoading: CodecLoadOptions

        func run() throws {
            guard seconds > 0.1 && seconds <= 600 else { throw ValidationError("--seconds must be in (0.1, 600]") }
            guard (1...100).contains(runs) else { throw ValidationError("--runs must be between 1 and 100") }
            guard let type = DType(rawValue: dtype.uppercased()), type == .bf16 || type == .f32 else {
                throw ValidationError("--dtype must be bf16 or f32")
            }
            let r = try CodecBenchmark.run(
                seconds: seconds, runs: runs, dtype: type, quantize: codecLoading.format(),
                compute: runtime.compute(), log: Reporter.always.line)
            if json {
                let summary: [String: Double] = [
                    "audio_seconds": r.audioSeconds, "threads": Double(r.threads),
                    "encode_seconds_median": r.encodeMedian, "decode_seconds_median": r.decodeMedian,
                    "encode_rtf": r.encodeRTF, "decode_rtf": r.decodeRTF,
                    "encode_gflops": r.encodeGFLOPS, "decode_gflops": r.decodeGFLOPS,
                    "peak_rss_mib": r.peakRSSMiB,
                ]
                try printFigures(summary)
                return
            }
            try printOut(
                "codec benchmark: \(r.audioSeconds) s of audio, \(r.threads) threads, \(r.weights) weights, median of \(r.encodeSeconds.count)"
                    + "\n")
            try printOut("| stage  | wall (s) | RTF   | GFLOP | GFLOP/s |" + "\n")
            try printOut("|--------|----------|-------|-------|---------|" + "\n")
            try printOut(
                String(
                    format: "| encode | %8.2f | %.3f | %5.0f | %7.1f |", r.encodeMedian, r.encodeRTF, r.encodeGFLOP,
                    r.encodeGFLOPS) + "\n")
            try printOut(
                String(
                    format: "| decode | %8.2f | %.3f | %5.0f | %7.1f |", r.decodeMedian, r.decodeRTF, r.decodeGFLOP,
                    r.decodeGFLOPS) + "\n")
            try printOut(String(format: "peak RSS: %.0f MiB", r.peakRSSMiB) + "\n")
        }
    }

    struct LM: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Prefill, decode and patch-decoder speed of the real-size MiMo-Audio-7B (random weights, ≈ 16 GB RAM).")

        @Option(name: .customLong("prompt-tokens"), help: "Prompt length for the prefill measurement.")
        var promptTokens = 512
        @Option(name: .customLong("decode-steps"), help: "Decode steps to time (the median is reported).")
        var decodeSteps = 8
        @Option(help: "Patches to time through the patch decoder.") var patches = 4
        @Option(help: "Weight format: bf16 (as released), q8, q4, or f32 (needs ≈ 32 GB).") var format: String = "bf16"
        @Option(name: .customLong("kv-cache"), help: "KV cache storage: f16 or f32.") var kvCache = "f16"
        @Option(name: .customLong("prefill-chunk"), help: "Prompt groups per prefill pass (the engine's default).")
        var prefillChunk = EngineOptions().prefillChunk
        @Flag(help: "Print the figures as JSON.") var json = false
        @OptionGroup var runtime: RuntimeOptions

        func run() throws {
            guard (1...8192).contains(prefillChunk) else {
                throw ValidationError("--prefill-chunk must be in 1...8192")
            }
            guard (1...8192).contains(promptTokens) else {
                throw ValidationError("--prompt-tokens must be in 1...8192")
            }
            guard (1...1000).contains(decodeSteps), (1...1000).contains(patches) else {
                throw ValidationError("--decode-steps and --patches must be in 1...1000")
            }
            let weightFormat: WeightFormat
            switch format.lowercased() {
            case "bf16": weightFormat = .bf16
            case "f32": weightFormat = .f32
            default: weightFormat = try WeightFormat(quantizationName: format)
            }
            let r = try LMBenchmark.run(
                promptTokens: promptTokens, decodeSteps: decodeSteps, patches: patches,
                format: weightFormat, compute: runtime.compute(), kvPrecision: try parseKVPrecision(kvCache),
                prefillChunk: prefillChunk, log: Reporter.always.line)
            if json {
                let summary: [String: Double] = [
                    "threads": Double(r.threads), "parameters": Double(r.parameters),
                    "prompt_tokens": Double(r.promptTokens),
                    "prefill_tokens_per_second": r.prefillTokensPerSecond,
                    "decode_steps_per_second": r.decodeStepsPerSecond,
                    "decode_gb_per_second": r.decodeGBPerSecond, "patch_decoder_ms_per_patch": r.patchMilliseconds,
                    "text_sampler_ms_per_step": r.samplerSecondsPerStep * 1000,
                    "memory_read_gb_per_second": r.memoryGBPerSecond, "decode_bandwidth_share": r.decodeBandwidthShare,
                    "peak_rss_mib": r.peakRSSMiB,
                ]
                try printFigures(summary)
                return
            }
            try printOut(
                String(
                    format: "LM benchmark: MiMo-Audio-7B sizes (%.2f B parameters), %@ weights, %d threads",
                    Double(r.parameters) / 1e9, r.weightDType, r.threads) + "\n")
            try printOut("| measure | value |" + "\n")
            try printOut("|---|---|" + "\n")
            try printOut(
                String(format: "| prefill, %d-token prompt | %.1f tokens/s |", r.promptTokens, r.prefillTokensPerSecond)
                    + "\n")
            try printOut(
                String(
                    format:
                        "| decode (backbone + lm_head + sampler), median of %d | %.2f steps/s (%.1f GB/s of weights, %.0f%% of the %.1f GB/s measured) |",
                    r.decodeStepSeconds.count, r.decodeStepsPerSecond, r.decodeGBPerSecond,
                    r.decodeBandwidthShare * 100, r.memoryGBPerSecond) + "\n")
            try printOut(
                String(
                    format: "| text sampler (T 0.4, top-p 0.95, 151,680 logits), per step | %.2f ms |",
                    r.samplerSecondsPerStep * 1000) + "\n")
            try printOut(
                String(
                    format: "| patch decoder, one patch (11 steps), median of %d | %.0f ms |", r.patchSeconds.count,
                    r.patchMilliseconds) + "\n")
            try printOut(String(format: "| peak RSS | %.1f GB |", r.peakRSSMiB / 1024) + "\n")
        }
    }

    struct Text: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Text tokenizer speed: load time and encoding of ~1 MB of mixed-language text.")

        @Option(help: "Directory holding tokenizer.json.") var model: String
        @Option(help: "Megabytes of text to encode.") var megabytes: Double = 1
        @Option(help: "Timed runs (the median is reported).") var runs = 5

        func run() throws {
            guard megabytes > 0 && megabytes <= 100, (1...100).contains(runs) else {
                throw ValidationError("--megabytes must be in (0, 100] and --runs in 1...100")
            }
            var start = DispatchTime.now()
            let tokenizer = try TextTokenizer(directory: URL(fileURLWithPath: model))
            let load = seconds(since: start)
            let pieces = [
                "The quick brown fox jumps over the lazy dog, 1234567890 times! ",
                "今天天气真好，我们一起去公园散步吧。语音合成和识别都很有趣。",
                "func main() { let x = [1, 2, 3].map { $0 * 2 }; print(x) }\n",
                "Ça va très bien, merci. Ünïcödé ß ø 😀🎉 — “quotes” and ‘more’.\n",
                "Привет, как дела? こんにちは世界。안녕하세요.   \t\n",
            ]
            // Recurring sentences plus seeded random words, so the per-word cache cannot serve
            // everything from memory.
            var rng = SeededGenerator(seed: 42)
            let letters = Array("abcdefghijklmnopqrstuvwxyz语音合成识别天气éü")
            var text = ""
            var i = 0
            while text.utf8.count < Int(megabytes * 1_000_000) {
                text += pieces[i % pieces.count]
                text +=
                    String((0..<Int.random(in: 3...9, using: &rng)).map { _ in letters.randomElement(using: &rng)! })
                    + " "
                i += 1
            }
            var times: [Double] = []
            var count = 0
            for _ in 0..<runs {
                start = DispatchTime.now()
                count = tokenizer.encode(text).count
                times.append(seconds(since: start))
            }
            let median = Tensor.median(times)
            let mb = Double(text.utf8.count) / 1e6
            // The first run starts with an empty word cache; later runs reuse it.
            try printOut(
                String(
                    format:
                        "tokenizer load: %.2f s; encode %.2f MB (%d tokens): first run %.3f s (%.1f MB/s), median of %d runs %.3f s (%.1f MB/s)",
                    load, mb, count, times[0], mb / times[0], runs, median, mb / median) + "\n")
        }
    }

    struct Load: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Load time of a converted (q8 / q4) MiMo-Audio-7B checkpoint written at the real sizes (≈ 5 / 9 GB of disk)."
        )

        @Option(help: "Weight format: q4 or q8.") var format = "q4"
        @Option(help: "Directory to write the checkpoint to (default: a temporary one, removed afterwards).")
        var directory: String?
        @Option(
            name: .customLong("decode-steps"),
            help: "Decode steps after loading (the first is reported alone, the median of the rest).") var decodeSteps =
            5
        @Flag(help: "Print the figures as JSON.") var json = false
        @OptionGroup var runtime: RuntimeOptions

        func run() throws {
            guard (2...100).contains(decodeSteps) else { throw ValidationError("--decode-steps must be in 2...100") }
            let weightFormat = try WeightFormat(quantizationName: format)
            let dir =
                directory.map { URL(fileURLWithPath: $0) }
                ?? FileManager.default.temporaryDirectory.appendingPathComponent(
                    "mimo-audio-load-\(ProcessInfo.processInfo.processIdentifier)")
            defer { if directory == nil { try? FileManager.default.removeItem(at: dir) } }
            let r = try LoadBenchmark.run(
                format: weightFormat, directory: dir, decodeSteps: decodeSteps, compute: runtime.compute(),
                log: Reporter.always.line)
            if json {
                let summary: [String: Double] = [
                    "file_bytes": Double(r.fileBytes), "cold": r.cold ? 1 : 0, "write_seconds": r.writeSeconds,
                    "load_seconds": r.loadSeconds, "first_step_seconds": r.firstStepSeconds,
                    "later_step_seconds": r.laterStepSeconds,
                ]
                try printFigures(summary)
                return
            }
            try printOut(
                "load benchmark: converted MiMo-Audio-7B (\(r.format)), \(String(format: "%.2f", Double(r.fileBytes) / 1e9)) GB, "
                    + (r.cold
                        ? "page cache dropped first (cold)" : "file in the page cache (warm; dropping it needs root)")
                    + "\n")
            try printOut("| measure | seconds |" + "\n")
            try printOut("|---|---|" + "\n")
            try printOut(String(format: "| write the checkpoint | %.1f |", r.writeSeconds) + "\n")
            try printOut(String(format: "| load (open, map, bind) | %.2f |", r.loadSeconds) + "\n")
            try printOut(
                String(format: "| first decode step (faults the weights in) | %.2f |", r.firstStepSeconds) + "\n")
            try printOut(
                String(format: "| later decode steps (median of %d) | %.3f |", decodeSteps - 1, r.laterStepSeconds)
                    + "\n")
        }
    }

    struct TTS: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End-to-end speech generation at the real sizes: LM steps, patch decoder and codec decode (RTF).")

        @Option(help: "Seconds of speech to generate.") var seconds: Double = 4
        @Option(help: "LM weight format: q4, q8, bf16 (≈ 6 / 9.5 / 16 GB of RAM, plus 2.6 GB for the codec).")
        var format = "q4"
        @Option(name: .customLong("kv-cache"), help: "KV cache storage: f16 or f32.") var kvCache = "f16"
        @Flag(help: "Print the figures as JSON.") var json = false
        @OptionGroup var runtime: RuntimeOptions
        @OptionGroup var codecLoading: CodecLoadOptions

        func run() throws {
            guard seconds > 0 && seconds <= 120 else { throw ValidationError("--seconds must be in (0, 120]") }
            let weightFormat =
                format.lowercased() == "bf16" ? WeightFormat.bf16 : try WeightFormat(quantizationName: format)
            let codecFormat = try codecLoading.format()
            let r = try TTSBenchmark.run(
                seconds: seconds, format: weightFormat, codecQuantize: codecFormat, compute: runtime.compute(),
                kvPrecision: try parseKVPrecision(kvCache), log: Reporter.always.line)
            if json {
                var summary: [String: Double] = ["peak_rss_mib": r.peakRSSMiB]
                for (prefix, x) in [("interleaved", r.interleaved), ("speech_only", r.audioOnly)] {
                    summary[prefix + "_audio_seconds"] = x.audioSeconds
                    summary[prefix + "_text_steps"] = Double(x.textSteps)
                    summary[prefix + "_speech_steps"] = Double(x.audioSteps)
                    summary[prefix + "_lm_seconds"] = x.lmSeconds
                    summary[prefix + "_codec_seconds"] = x.codecSeconds
                    summary[prefix + "_real_time_factor"] = x.realTimeFactor
                }
                try printFigures(summary)
                return
            }
            try printOut(
                "TTS benchmark: MiMo-Audio-7B (\(weightFormat.rawValue)) + tokenizer (\(codecFormat?.rawValue ?? "bf16")), \(runtime.threads ?? ProcessInfo.processInfo.activeProcessorCount) threads"
                    + "\n")
            try printOut(
                "| step mix | audio (s) | text / speech steps | LM (s) | codec decode (s) | real-time factor |" + "\n")
            try printOut("|---|---|---|---|---|---|" + "\n")
            for x in [r.interleaved, r.audioOnly] {
                try printOut(
                    String(
                        format: "| %@ | %.2f | %d / %d | %.2f | %.2f | %.2f |", x.mix, x.audioSeconds, x.textSteps,
                        x.audioSteps,
                        x.lmSeconds, x.codecSeconds, x.realTimeFactor) + "\n")
            }
            try printOut(String(format: "peak RSS: %.1f GB", r.peakRSSMiB / 1024) + "\n")
        }
    }
}

/// A benchmark's figures as one JSON object with sorted keys (`--json`).
private func printFigures(_ figures: [String: Double]) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    try printOut(String(decoding: try encoder.encode(figures), as: UTF8.self) + "\n")
}
