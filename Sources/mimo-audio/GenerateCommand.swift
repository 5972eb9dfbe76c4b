import ArgumentParser
import Foundation
import MiMoAudio

/// Low-level generation from a prompt token grid: for research and for checking against the
/// reference.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate from a prompt token grid with the MiMo-Audio LM.")

    @Option(help: "MiMo-Audio LM: a checkpoint directory or a Hugging Face repo id.") var model: String
    @Option(
        name: .customLong("audio-tokenizer"),
        help: "MiMo-Audio-Tokenizer, a directory or a repo id (needed for -o).")
    var audioTokenizer: String?
    @OptionGroup var hub: HubOptions
    @Option(name: .customLong("prompt-grid"), help: "JSON {\"input_ids\": [9 rows]} prompt grid.") var promptGrid:
        String
    @Flag(help: "Greedy text and audio sampling (default: the reference's default sampler preset).") var greedy = false
    @Option(help: "Seed for sampling.") var seed: UInt64 = 0
    @Option(name: .customLong("min-new-tokens"), help: "Groups before a stop token may end generation.")
    var minNewTokens = 0
    @Option(name: .customLong("max-new-tokens"), help: "Maximum groups to generate.") var maxNewTokens = 8192
    @Option(help: "Stop token, as the tokenizer spells it (<|im_end|>) or an integer id; repeatable.") var stop:
        [String] = []
    @Flag(help: "Print the result as JSON on stdout.") var json = false
    @Option(
        name: .shortAndLong, help: "Write the generated audio to this file (format from the extension; '-' is stdout).")
    var output: String?
    @OptionGroup var format: AudioFormatOptions
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var loading: LMLoadOptions
    @OptionGroup var codecLoading: CodecLoadOptions

    func validate() throws {
        guard !stop.isEmpty else { throw ValidationError("give at least one --stop token") }
        guard minNewTokens >= 0 else { throw ValidationError("--min-new-tokens must be ≥ 0") }
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be ≥ 1") }
        guard minNewTokens <= maxNewTokens else {
            throw ValidationError(
                "--min-new-tokens (\(minNewTokens)) must not exceed --max-new-tokens (\(maxNewTokens))")
        }
        if output != nil && audioTokenizer == nil {
            throw ValidationError("-o needs --audio-tokenizer to decode the audio")
        }
        if let output {
            _ = try format.target(output)
            if output == "-" && json {
                throw ValidationError("--json and -o - both write to stdout; write the audio to a file")
            }
        }
    }

    func run() throws {
        let compute = try runtime.compute()
        let prompt = try PromptGridFile.read(URL(fileURLWithPath: promptGrid))
        let locator = ModelLocator(hub: hub, reporter: .always)
        let (lmDirectory, quantize) = try locator.locate(model, role: .lm, quantize: loading.format(), compute: compute)
        let codecDirectory = try audioTokenizer.map { try locator.locate($0, role: .audioTokenizer).0 }
        let start = DispatchTime.now()
        Reporter.always.line("loading LM from \(model)")
        let pipeline = try Pipeline(
            model: lmDirectory, audioTokenizer: codecDirectory,
            compute: compute, quantize: quantize, kvPrecision: loading.kvPrecision(),
            codecQuantize: codecLoading.format())
        Reporter.always.line(String(format: "loaded in %.2f s", seconds(since: start)))
        let lm = pipeline.lm
        try lm.config.validate(prompt)
        let stops = try Set(stop.map { try resolve($0, in: lm) })
        let request = TaskRequest(
            .grid(prompt, stops: stops), seed: seed, greedy: greedy, minNewTokens: minNewTokens,
            maxNewTokens: maxNewTokens, audioDelivery: output == nil ? .none : .whole)
        Reporter.always.line("generating after \(prompt.groups(size: lm.config.groupSize)) prompt groups")
        var wav: [Float] = []
        let result = try Engine(pipeline: pipeline).perform(request) { event in
            switch event {
            case .progress(.step): if !json { Console.shared.err(".") }
            case .audio(let samples): wav += samples
            case .warning(let message): Reporter.always.line("warning: \(message)")
            default: break
            }
        }
        if !json { Reporter.always.line("") }
        let t = result.timings
        Reporter.always.line(
            String(
                format: "prefill %d groups in %.2f s; %d steps (%d audio patches) in %.2f s; stop: %@",
                t.prefillGroups, t.prefillSeconds, t.steps, t.patches, t.stepSeconds, result.stopReason.rawValue))
        if let output, let codec = pipeline.codec {
            try format.target(output).write(
                wav, sampleRate: codec.sampleRate)
            Reporter.always.line("wrote \(output)")
        }
        if json {
            let report = GenerateReport(
                newIDs: result.newIDs.rows, stopReason: result.stopReason.rawValue, stopToken: result.stopToken,
                textTokens: result.textIDs, codes: result.codes, timings: result.timings)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try printOut(String(decoding: try encoder.encode(report), as: UTF8.self) + "\n")
        } else if output == "-" {
            Reporter.always.line(
                "text tokens: \(result.textIDs.map { lm.specialTokens.namesByID[$0] ?? String($0) }.joined(separator: " "))"
            )
        } else {
            try printOut(
                "text tokens: \(result.textIDs.map { lm.specialTokens.namesByID[$0] ?? String($0) }.joined(separator: " "))\n"
            )
            try printOut("audio frames: \(result.codes.first?.count ?? 0)\n")
        }
    }

    private func resolve(_ token: String, in lm: MiMoAudioLM) throws -> Int {
        if let id = Int(token) {
            guard (0..<lm.config.vocabSize).contains(id) else {
                throw ValidationError("--stop \(id) is outside the vocabulary 0..<\(lm.config.vocabSize)")
            }
            return id
        }
        return try lm.specialTokens.id(token)
    }
}

struct GenerateReport: Encodable {
    let newIDs: [[Int]]
    let stopReason: String
    let stopToken: String?
    let textTokens: [Int]
    let codes: [[Int]]
    let timings: GenerationTimings

    enum CodingKeys: String, CodingKey {
        case newIDs = "new_ids"
        case stopReason = "stop_reason"
        case stopToken = "stop_token"
        case textTokens = "text_tokens"
        case codes, timings
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(newIDs, forKey: .newIDs)
        try c.encode(stopReason, forKey: .stopReason)
        try c.encode(stopToken, forKey: .stopToken)  // null when generation did not stop on a token
        try c.encode(textTokens, forKey: .textTokens)
        try c.encode(codes, forKey: .codes)
        try c.encode(timings, forKey: .timings)
    }
}
