import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import MiMoAudio
import NIOCore
import ServiceLifecycle

/// What `mimo-audio serve` runs with.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Required as `Authorization: Bearer` on /v1/* when set (compared in constant time).
    public var apiKey: String?
    public var corsOrigins: [String]
    public var voices: VoiceBook
    public var models: ModelCatalog
    /// Largest request body accepted (OpenAI's upload limit is 25 MB).
    public var maxBodyBytes: Int
    /// The most LM steps (groups of 4 audio frames, 0.64 s of speech each) one response may take.
    public var maxNewTokens: Int
    /// Spoken chat replies kept for later turns (`message.audio.id`), least recently used out first.
    public var replyCacheBytes = 64 << 20
    /// Testing only: speech and realtime responses begin with these steps (see `ForcedSteps`).
    public var forcedSteps: ForcedSteps?
    /// The web playground at `/`.
    public var playground = true

    public init(
        host: String = "127.0.0.1", port: Int = 8000, apiKey: String? = nil, corsOrigins: [String] = [],
        voices: VoiceBook, models: ModelCatalog, maxBodyBytes: Int = 25 << 20, maxNewTokens: Int = 8192
    ) {
        (self.host, self.port, self.apiKey, self.corsOrigins) = (host, port, apiKey, corsOrigins)
        (self.voices, self.models, self.maxBodyBytes, self.maxNewTokens) = (voices, models, maxBodyBytes, maxNewTokens)
    }
}

/// The OpenAI-compatible HTTP server over one engine. It listens at once and loads the models in
/// the background (`/health` answers 503 until they are ready); SIGTERM or SIGINT stop it
/// gracefully.
public enum MiMoServer {
    /// Serves until a shutdown signal. `load` runs once, off the event loops; `onListening` gets
    /// the bound port (useful with port 0).
    public static func run(
        _ configuration: ServerConfiguration, logger: Logger,
        load: @escaping @Sendable (_ trace: @escaping @Sendable (EngineTrace) -> Void) throws -> Engine,
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) async throws {
        let state = ServerState()
        let metrics = ServerMetrics()
        let router = makeRouter(configuration, state: state, metrics: metrics, logger: logger)
        let app = Application(
            router: router,
            // A WebSocket frame may hold as much as a request body: browsers send each message as
            // one frame, and clients append seconds of audio at a time (the default is 16 KB,
            // a quarter second of base64 PCM16).
            server: .http1WebSocketUpgrade(
                webSocketRouter: makeRealtimeRouter(configuration, state: state, logger: logger),
                configuration: .init(ws: .init(maxFrameSize: configuration.maxBodyBytes))),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "mimo-audio"),
            onServerRunning: { channel in
                onListening(channel.localAddress?.port ?? configuration.port)
                Thread.detachNewThread {
                    let start = metrics.now
                    do {
                        state.loaded(try load(metrics.observe))
                        metrics.modelLoad.set(start.duration(to: metrics.now) / .seconds(1))
                    } catch {
                        logger.error("loading the models failed: \(error)")
                        state.set(.failed(String(describing: error)))
                    }
                }
            },
            logger: logger)
        let services = ServiceGroup(
            configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        // SIGTERM or SIGINT: the server keeps listening but answers new requests 503 (so a
        // balancer moves on) until the running ones have finished, then stops; a second signal
        // stops it without waiting.
        let drains = [SIGTERM, SIGINT].map { signalNumber -> DispatchSourceSignal in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                logger.notice("draining: new requests get 503; stopping when the running ones finish")
                state.drain { Task { await services.triggerGracefulShutdown() } }
            }
            source.resume()
            return source
        }
        defer { for source in drains { source.cancel() } }
        try await services.run()
    }

    static func makeRouter(
        _ configuration: ServerConfiguration, state: ServerState, metrics: ServerMetrics, logger: Logger
    )
        -> Router<BasicRequestContext>
    {
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ErrorMiddleware(logger: logger))
        if !configuration.corsOrigins.isEmpty {
            router.add(middleware: OriginsMiddleware(origins: Set(configuration.corsOrigins)))
        }
        router.get("/metrics") { _, _ -> Response in
            let engine: Engine? = if case .serving(let engine) = state.current { engine } else { nil }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.text(engine: engine))))
        }
        if configuration.playground { PlaygroundRoutes.add(to: router) }
        router.get("/health") { _, _ -> Response in
            _ = try state.engine()
            return json(["status": "ok"])
        }
        let api = router.group("v1")
        if let key = configuration.apiKey { api.add(middleware: BearerAuthMiddleware(key: key)) }
        api.get("models") { _, _ -> Response in
            let models = configuration.models.ids.map {
                ["id": $0, "object": "model", "created": 0, "owned_by": "xiaomi-mimo"] as [String: Any]
            }
            return json(["object": "list", "data": models])
        }
        api.get("audio/voices") { _, _ -> Response in
            let voices = configuration.voices.names.map { name -> [String: Any] in
                let voice = configuration.voices.voices[name]!
                return ["id": name, "name": name, "instruction": voice.english, "voice_prompt": voice.prompt != nil]
            }
            return json(["object": "list", "data": voices])
        }
        let service = SpeechService(
            maxNewTokens: configuration.maxNewTokens, forcedSteps: configuration.forcedSteps)
        api.post("audio/speech") { request, context -> Response in
            try await cancellingOnHangUp(
                request, context: context, state: state, logger: logger, limit: configuration.maxBodyBytes
            ) {
                body, watch in
                let arrival = metrics.now
                let speech = try SpeechRequest.decode(body.readableBytesView)
                try configuration.models.check(speech.model)
                // An unknown voice is a 400 even while the models load.
                let voice = try configuration.voices.voice(speech.voice)
                let engine = try state.engine()
                let task = try service.taskRequest(speech, voice: voice, engine: engine)
                let sampleRate = try engine.pipeline.requireCodec().sampleRate
                let events = try await StartedEvents.start(
                    engine.run(task),
                    meter: metrics.generation(endpoint: "/v1/audio/speech", arrival: arrival, engine: engine))
                switch speech.streamFormat {
                case nil:
                    var samples: [Float] = []
                    for try await event in events {
                        if case .audio(let chunk) = event { samples += chunk }
                    }
                    let data = try SpeechService.encode(samples, format: speech.format, sampleRate: sampleRate)
                    return Response(
                        status: .ok, headers: [.contentType: SpeechService.contentType(speech.format)],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
                case .audio?:
                    return streamedAudio(events, format: speech.format, sampleRate: sampleRate, watch: watch)
                case .sse?:
                    return streamedEvents(events, format: speech.format, sampleRate: sampleRate, watch: watch)
                }
            }
        }
        api.post("audio/transcriptions") { request, context -> Response in
            // The file may be 25 MB; the multipart framing and the other fields come on top.
            let limit = configuration.maxBodyBytes + (1 << 20)
            return try await cancellingOnHangUp(request, context: context, state: state, logger: logger, limit: limit) {
                body, watch in
                let arrival = metrics.now
                let transcription = try TranscriptionRequest.decode(
                    body.readableBytesView, contentType: request.headers[.contentType])
                try configuration.models.check(transcription.model)
                let engine = try state.engine()
                let samples = try TranscriptionService.samples(transcription, engine: engine)
                let duration = Double(samples.count) / Double(try engine.pipeline.requireCodec().sampleRate)
                let events = try await StartedEvents.start(
                    engine.run(TranscriptionService.taskRequest(transcription, samples: samples)),
                    meter: metrics.generation(endpoint: "/v1/audio/transcriptions", arrival: arrival, engine: engine))
                if transcription.stream {
                    return streamedTranscript(events, format: transcription.format, watch: watch)
                }
                var text = ""
                for try await event in events {
                    if case .finished(let result) = event { text = result.text }
                }
                let (type, content) = TranscriptFormatter.body(
                    text, format: transcription.format, duration: duration, language: transcription.language)
                return Response(
                    status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: content)))
            }
        }
        let chat = ChatService(
            maxNewTokens: configuration.maxNewTokens, voices: configuration.voices,
            replies: ReplyAudioCache(capacityBytes: configuration.replyCacheBytes), logger: logger)
        api.post("chat/completions") { request, context -> Response in
            try await cancellingOnHangUp(
                request, context: context, state: state, logger: logger, limit: configuration.maxBodyBytes
            ) { body, watch in
                try await chatCompletion(
                    body, service: chat, configuration: configuration, state: state, metrics: metrics, watch: watch)
            }
        }
        return router
    }

    /// `transcript.text.delta` events as the text is generated, then `transcript.text.done`.
    static func streamedTranscript(
        _ events: StartedEvents, format: TranscriptionRequest.Format, watch: HangUpWatch
    ) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: watch.streamed(
                ResponseBody { writer in
                    func send(_ object: [String: Any]) async throws {
                        try await writer.write(ByteBuffer(string: "data: " + jsonText(object) + "\n\n"))
                    }
                    for try await event in events {
                        switch event {
                        case .text(let delta): try await send(["type": "transcript.text.delta", "delta": delta])
                        case .finished(let result):
                            let usage = result.usage
                            try await send([
                                "type": "transcript.text.done", "text": result.text,
                                "usage": [
                                    "type": "tokens", "input_tokens": usage.promptGroups,
                                    "output_tokens": usage.generatedGroups,
                                    "total_tokens": usage.promptGroups + usage.generatedGroups,
                                ],
                            ])
                        default: break
                        }
                    }
                    try await writer.finish(nil)
                }))
    }

    /// The encoded stream as it is generated (chunked transfer). A client that goes away makes the
    /// next write fail, which ends the iteration and with it the generation.
    static func streamedAudio(
        _ events: StartedEvents, format: AudioFileFormat, sampleRate: Int, watch: HangUpWatch
    ) -> Response {
        Response(
            status: .ok, headers: [.contentType: SpeechService.contentType(format)],
            body: watch.streamed(
                ResponseBody { writer in
                    let pending = PendingBytes()
                    let encoder = try AudioStreamWriter(
                        format: format, sampleRate: sampleRate, destination: .stream { pending.append($0) })
                    for try await event in events {
                        guard case .audio(let chunk) = event else { continue }
                        try encoder.write(chunk)
                        if let bytes = pending.take() { try await writer.write(ByteBuffer(bytes: bytes)) }
                    }
                    try encoder.finish()
                    if let bytes = pending.take() { try await writer.write(ByteBuffer(bytes: bytes)) }
                    try await writer.finish(nil)
                }))
    }

    /// `speech.audio.delta` events with base64 audio, then `speech.audio.done` with usage.
    static func streamedEvents(
        _ events: StartedEvents, format: AudioFileFormat, sampleRate: Int, watch: HangUpWatch
    ) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: watch.streamed(
                ResponseBody { writer in
                    let pending = PendingBytes()
                    let encoder = try AudioStreamWriter(
                        format: format, sampleRate: sampleRate, destination: .stream { pending.append($0) })
                    func send(_ object: [String: Any]) async throws {
                        try await writer.write(ByteBuffer(string: "data: " + jsonText(object) + "\n\n"))
                    }
                    var usage = TaskUsage()
                    for try await event in events {
                        switch event {
                        case .audio(let chunk):
                            try encoder.write(chunk)
                            if let bytes = pending.take() {
                                try await send(["type": "speech.audio.delta", "audio": bytes.base64EncodedString()])
                            }
                        case .finished(let result): usage = result.usage
                        default: break
                        }
                    }
                    try encoder.finish()
                    if let bytes = pending.take() {
                        try await send(["type": "speech.audio.delta", "audio": bytes.base64EncodedString()])
                    }
                    try await send([
                        "type": "speech.audio.done",
                        "usage": [
                            "input_tokens": usage.promptGroups, "output_tokens": usage.generatedGroups,
                            "total_tokens": usage.promptGroups + usage.generatedGroups,
                            "audio_seconds": usage.audioSecondsOut,
                        ],
                    ])
                    try await writer.finish(nil)
                }))
    }

    /// Runs a generating handler with the request body (at most `limit` bytes) so that a client
    /// that leaves cancels it and its streamed response (see `HangUpWatch`). The watch reads the
    /// connection to its end, so the response says `Connection: close` (errors included) and
    /// clients open a new connection instead of reusing a closed one.
    static func cancellingOnHangUp(
        _ request: Request, context: some RequestContext, state: ServerState, logger: Logger, limit: Int,
        _ handler: @escaping @Sendable (ByteBuffer, HangUpWatch) async throws -> Response
    ) async throws -> Response {
        var response: Response
        do {
            try state.enter()
            response = try await HangUpWatch.run(request, limit: limit, onEnd: state.leave, handler)
        } catch is NIOTooManyBytesError {
            response = try APIError(
                status: .contentTooLarge, message: "The request body is larger than \(limit) bytes.",
                type: "invalid_request_error", code: "request_too_large"
            ).response(from: request, context: context)
        } catch {
            response = try apiError(error, request: request, logger: logger).response(from: request, context: context)
        }
        response.headers[.connection] = "close"
        return response
    }

    /// Any error as the OpenAI-shaped one a client gets.
    static func apiError(_ error: Error, request: Request, logger: Logger) -> APIError {
        switch error {
        case let error as APIError: return error
        case EngineError.queueFull(let capacity):
            return .busy("The server is busy: its queue of \(capacity) waiting requests is full. Retry shortly.")
        case let error as HTTPError:
            return APIError(
                status: error.status, message: error.body ?? error.status.reasonPhrase, type: "invalid_request_error")
        case is CancellationError:
            // The client left and its work was cancelled; nobody reads this answer. 499 is
            // nginx's "client closed request", so the metrics count it apart from failures.
            logger.debug("\(request.method) \(request.uri.path): the client left; its generation was cancelled")
            return APIError(
                status: .init(code: 499, reasonPhrase: "Client Closed Request"),
                message: "The client closed the request.",
                type: "invalid_request_error", code: "client_closed_request")
        default:
            logger.error("\(request.method) \(request.uri.path): \(error)")
            return .internalError(String(describing: error))
        }
    }

    static func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: jsonText(object))))
    }
}

/// Bytes the encoder produced since the last write to the client.
final class PendingBytes: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ more: Data) {
        lock.lock()
        data.append(more)
        lock.unlock()
    }
    func take() -> Data? {
        lock.lock()
        defer { lock.unlock() }
        guard !data.isEmpty else { return nil }
        let out = data
        data = Data()
        return out
    }
}

extension APIError: HTTPResponseError {
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == .tooManyRequests { headers[.retryAfter] = "1" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Every error as OpenAI's error shape: the engine's queue limit as 429, anything unexpected as
/// a 500 with its description (logged), never a dropped connection.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do { return try await next(request, context) } catch {
            throw MiMoServer.apiError(error, request: request, logger: logger)
        }
    }
}

/// `Authorization: Bearer <key>` on /v1/*, compared in constant time.
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        guard header.hasPrefix(prefix), BearerAuthMiddlewareCheck.equal(String(header.dropFirst(prefix.count)), key)
        else { throw APIError.unauthorized() }
        return try await next(request, context)
    }
}

enum BearerAuthMiddlewareCheck {
    /// Equal, in time that depends on the lengths only (a key is not guessed byte by byte).
    static func equal(_ given: String, _ key: String) -> Bool {
        let a = Array(given.utf8)
        let b = Array(key.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}

/// CORS for the listed origins (Open WebUI and other browser front ends): preflights answered,
/// responses to those origins marked; other origins get no CORS headers, so browsers refuse them.
struct OriginsMiddleware<Context: RequestContext>: RouterMiddleware {
    let origins: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let origin = request.headers[.origin], origins.contains(origin) || origins.contains("*") else {
            return try await next(request, context)
        }
        var response: Response
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            response = Response(status: .noContent)
            response.headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
            response.headers[.accessControlAllowHeaders] = "Authorization, Content-Type, Accept"
            response.headers[.accessControlMaxAge] = "600"
        } else {
            do { response = try await next(request, context) } catch let error as APIError {
                response = try error.response(from: request, context: context)
            }
        }
        response.headers[.accessControlAllowOrigin] = origins.contains("*") ? "*" : origin
        response.headers[.vary] = "Origin"
        return response
    }
}

/// A generation whose first event has arrived, so a refusal (the engine's full queue) became a
/// 429 before a streamed response sent its status; the rest of the events follow.
final class StartedEvents: AsyncSequence, @unchecked Sendable {
    typealias Element = TaskEvent
    private var first: TaskEvent?
    private var rest: AsyncThrowingStream<TaskEvent, Error>.AsyncIterator
    private let meter: GenerationMeter

    private init(
        first: TaskEvent?, rest: AsyncThrowingStream<TaskEvent, Error>.AsyncIterator, meter: GenerationMeter
    ) {
        (self.first, self.rest, self.meter) = (first, rest, meter)
    }

    /// `meter` sees every event as it arrives.
    static func start(_ events: AsyncThrowingStream<TaskEvent, Error>, meter: GenerationMeter) async throws
        -> StartedEvents
    {
        var iterator = events.makeAsyncIterator()
        let first = try await iterator.next()
        if let first { meter.see(first) }
        return StartedEvents(first: first, rest: iterator, meter: meter)
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let events: StartedEvents
        func next() async throws -> TaskEvent? { try await events.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(events: self) }

    private func next() async throws -> TaskEvent? {
        if let event = first {
            first = nil
            return event
        }
        let event = try await rest.next()
        if let event { meter.see(event) }
        return event
    }
}
