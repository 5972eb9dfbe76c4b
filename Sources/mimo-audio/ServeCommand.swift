import ArgumentParser
import Foundation
import Logging
import MiMoAudio
import Server

/// `mimo-audio serve`: the OpenAI-compatible HTTP server.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the OpenAI audio API (speech, voices, models, health) over HTTP.")

    @Option(help: "MiMo-Audio LM: a checkpoint directory or a Hugging Face repo id.")
    var model = DefaultModels.instruct
    @OptionGroup var audio: AudioModelOptions
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(parsing: .unconditional, help: "Port to listen on (0: any free port, printed on stderr).") var port = 8000
    @Option(
        name: .customLong("api-key"),
        help: "Require 'Authorization: Bearer KEY' on /v1/* (default: $MIMO_AUDIO_API_KEY; none: open).")
    var apiKey: String?
    @Option(name: .customLong("cors-origin"), help: "Allow browser requests from this origin (repeatable).")
    var corsOrigins: [String] = []
    @Option(
        name: .customLong("max-queue"), parsing: .unconditional,
        help: "Requests that may wait for the engine; more get 429 with Retry-After.")
    var maxQueue = 16
    @Option(
        name: .customLong("max-new-tokens"), parsing: .unconditional,
        help: "The most LM steps one response may take (a step is 0.64 s of speech).")
    var maxNewTokens = 8192
    // Tests only: speech and realtime responses begin with N speech steps (so a random model
    // speaks) or N cheap text steps (so a request runs for seconds).
    @Option(name: .customLong("force-speech-steps"), parsing: .unconditional, help: .hidden) var forceSpeechSteps = 0
    @Option(name: .customLong("force-text-steps"), parsing: .unconditional, help: .hidden) var forceTextSteps = 0
    @Option(
        name: .customLong("prefix-cache"), parsing: .unconditional,
        help: "MiB of KV prefixes kept so a follow-up turn prefills only what is new (0: none).")
    var prefixCache = 1024
    @Flag(name: .customLong("no-playground"), help: "Do not serve the web playground at /.")
    var noPlayground = false
    @Option(help: "A directory of extra voices: NAME.txt (a style instruction), optional NAME.wav (a voice prompt).")
    var voices: String?
    @OptionGroup var loading: LMLoadOptions
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var hub: HubOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        guard (0...100_000).contains(maxQueue) else { throw ValidationError("--max-queue must be in 0...100000") }
        guard (1...1_000_000).contains(maxNewTokens) else {
            throw ValidationError("--max-new-tokens must be in 1...1000000")
        }
        for (name, value) in [("speech", forceSpeechSteps), ("text", forceTextSteps)] {
            guard (0...100_000).contains(value) else {
                throw ValidationError("--force-\(name)-steps must be in 0...100000")
            }
        }
        guard forceSpeechSteps == 0 || forceTextSteps == 0 else {
            throw ValidationError("give --force-speech-steps or --force-text-steps, not both")
        }
        guard (0...(1 << 20)).contains(prefixCache) else {
            throw ValidationError("--prefix-cache must be in 0...1048576 MiB")
        }
        if let key = apiKey ?? ProcessInfo.processInfo.environment["MIMO_AUDIO_API_KEY"], key.isEmpty {
            throw ValidationError("the API key must not be empty")
        }
    }

    func run() throws {
        let compute = try runtime.compute()
        let book = try VoiceBook(directory: voices.map { URL(fileURLWithPath: $0) })
        let key = apiKey ?? ProcessInfo.processInfo.environment["MIMO_AUDIO_API_KEY"]
        let id = FileAccess.isDirectory(model) ? URL(fileURLWithPath: model).lastPathComponent : model
        var configuration = ServerConfiguration(
            host: host, port: port, apiKey: key, corsOrigins: corsOrigins, voices: book,
            models: ModelCatalog(id: id), maxNewTokens: maxNewTokens)
        configuration.playground = !noPlayground
        if forceSpeechSteps > 0 { configuration.forcedSteps = ForcedSteps(.speech, count: forceSpeechSteps) }
        if forceTextSteps > 0 { configuration.forcedSteps = ForcedSteps(.text, count: forceTextSteps) }
        let serving = configuration
        let (model, audio, hub, loading, maxQueue, prefixCache) = (model, audio, hub, loading, maxQueue, prefixCache)
        let host = host
        var logger = Logger(label: "mimo-audio.serve")
        logger.logLevel = runtime.verbose ? .debug : .info
        try runBlocking { [logger] in
            try await MiMoServer.run(
                serving, logger: logger,
                load: { trace in
                    let locator = ModelLocator(hub: hub, reporter: .always)
                    let (lm, quantize) = try locator.locate(
                        model, role: .lm, quantize: try loading.format(), compute: compute)
                    let codec = try locator.locate(audio.audioTokenizer, role: .audioTokenizer).0
                    let pipeline = try Pipeline(
                        model: lm, audioTokenizer: codec, compute: compute, quantize: quantize,
                        kvPrecision: loading.kvPrecision(), codecQuantize: audio.codecLoading.format())
                    Reporter.always.line("models loaded: serving")
                    return Engine(
                        pipeline: pipeline,
                        options: EngineOptions(maxQueue: maxQueue, prefixCacheBytes: prefixCache << 20, trace: trace))
                },
                onListening: { port in Reporter.always.line("listening on http://\(host):\(port)") })
        }
    }
}
