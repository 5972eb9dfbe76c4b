import Foundation
import Hummingbird
import Metrics
import MiMoAudio
import Prometheus

/// What `serve` reports at `GET /metrics` (Prometheus text), through swift-metrics with an
/// explicit Prometheus factory (no process-wide bootstrap). Names follow vLLM's where they mean the
/// same, under one prefix, with the unit in the name.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory

    let running: Meter
    let waiting: Meter
    let queueTime: Metrics.Timer
    let promptTokens: Metrics.Counter
    let generationTokens: Metrics.Counter
    let audioInput: FloatingPointCounter
    let audioOutput: FloatingPointCounter
    let realTimeFactor: Recorder
    let modelLoad: Meter
    let prefixHits: Metrics.Counter
    let prefixHitTokens: Metrics.Counter
    let prefixBytes: Meter

    /// The routes a request is counted under; anything else is "other", so label values stay few
    /// whatever paths clients send.
    static let endpoints: Set<String> = [
        "/health", "/metrics", "/v1/models", "/v1/audio/voices", "/v1/audio/speech", "/v1/audio/transcriptions",
        "/v1/chat/completions",
    ]

    /// Latency buckets from 10 ms to 10 min: a tiny model answers in milliseconds, a 7B's long
    /// spoken reply on a CPU in minutes.
    static let latencyBuckets: [Duration] = [
        0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
    ].map { Duration.milliseconds(Int64($0 * 1000)) }

    private let clock = ContinuousClock()
    private let traces = TraceBook()

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.latencyBuckets
        // Real-time factor: 0.05 (20× faster than speech) to 20.
        factory.valueHistogramBuckets["mimo_audio_speech_real_time_factor"] = [
            0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 5, 10, 20,
        ]
        self.factory = factory
        running = Meter(label: "mimo_audio_requests_running", factory: factory)
        waiting = Meter(label: "mimo_audio_requests_waiting", factory: factory)
        queueTime = Metrics.Timer(label: "mimo_audio_queue_time_seconds", factory: factory)
        promptTokens = Metrics.Counter(label: "mimo_audio_prompt_tokens_total", factory: factory)
        generationTokens = Metrics.Counter(label: "mimo_audio_generation_tokens_total", factory: factory)
        audioInput = FloatingPointCounter(label: "mimo_audio_audio_input_seconds_total", factory: factory)
        audioOutput = FloatingPointCounter(label: "mimo_audio_audio_output_seconds_total", factory: factory)
        realTimeFactor = Recorder(label: "mimo_audio_speech_real_time_factor", factory: factory)
        modelLoad = Meter(label: "mimo_audio_model_load_seconds", factory: factory)
        prefixHits = Metrics.Counter(label: "mimo_audio_prefix_cache_hits_total", factory: factory)
        prefixHitTokens = Metrics.Counter(label: "mimo_audio_prefix_cache_hit_tokens_total", factory: factory)
        prefixBytes = Meter(label: "mimo_audio_prefix_cache_bytes", factory: factory)
        for meter in [running, waiting, modelLoad, prefixBytes] { meter.set(0) }
        for counter in [promptTokens, generationTokens, prefixHits, prefixHitTokens] { counter.increment(by: 0) }
        audioInput.increment(by: 0.0)
        audioOutput.increment(by: 0.0)
    }

    static func endpoint(_ path: String) -> String { endpoints.contains(path) ? path : "other" }

    func request(endpoint: String, status: Int, duration: Duration) {
        Counter(
            label: "mimo_audio_requests_total", dimensions: [("endpoint", endpoint), ("status", String(status))],
            factory: factory
        ).increment()
        Metrics.Timer(
            label: "mimo_audio_request_duration_seconds", dimensions: [("endpoint", endpoint)], factory: factory
        )
        .record(duration: duration)
    }

    /// The engine's trace: the running and waiting gauges, and each generation's queue time.
    func observe(_ trace: EngineTrace) {
        let now = clock.now
        switch trace {
        case .queued(let id):
            traces.queued(id, at: now)
            waiting.increment()
        case .started(let id):
            if let since = traces.started(id) { queueTime.record(duration: since.duration(to: now)) }
            waiting.decrement()
            running.increment()
        case .ended(let id, _):
            if traces.ended(id) { running.decrement() } else { waiting.decrement() }
        default: break
        }
    }

    /// A per-request observer of the generation's events (first token, first audio, usage).
    func generation(endpoint: String, arrival: ContinuousClock.Instant, engine: Engine) -> GenerationMeter {
        GenerationMeter(metrics: self, endpoint: endpoint, arrival: arrival, engine: engine)
    }

    var now: ContinuousClock.Instant { clock.now }

    /// The Prometheus text.
    func text(engine: Engine?) -> String {
        if let engine { prefixBytes.set(engine.cachedPrefixBytes) }
        return registry.emitToString()
    }

    /// Queue times by request id, and which requests have started (an ended request that never
    /// started was cancelled while it waited).
    private final class TraceBook: @unchecked Sendable {
        private let lock = NSLock()
        private var queuedAt: [Int: ContinuousClock.Instant] = [:]
        private var started: Set<Int> = []

        func queued(_ id: Int, at instant: ContinuousClock.Instant) { lock.withLock { queuedAt[id] = instant } }
        func started(_ id: Int) -> ContinuousClock.Instant? {
            lock.withLock {
                started.insert(id)
                return queuedAt.removeValue(forKey: id)
            }
        }
        /// Whether it had started.
        func ended(_ id: Int) -> Bool {
            lock.withLock {
                queuedAt[id] = nil
                return started.remove(id) != nil
            }
        }
    }
}

/// Watches one generation's events for the latency and usage metrics.
final class GenerationMeter: @unchecked Sendable {
    let metrics: ServerMetrics
    let endpoint: String
    let arrival: ContinuousClock.Instant
    let engine: Engine
    private var began: ContinuousClock.Instant?
    private var sawToken = false
    private var sawAudio = false

    init(metrics: ServerMetrics, endpoint: String, arrival: ContinuousClock.Instant, engine: Engine) {
        (self.metrics, self.endpoint, self.arrival, self.engine) = (metrics, endpoint, arrival, engine)
    }

    private func latency(_ label: String, until now: ContinuousClock.Instant) {
        Metrics.Timer(label: label, dimensions: [("endpoint", endpoint)], factory: metrics.factory)
            .record(duration: arrival.duration(to: now))
    }

    func see(_ event: TaskEvent) {
        let now = metrics.now
        if began == nil { began = now }
        switch event {
        case .progress(.step):
            // The first generated group, whether or not its token is visible text.
            guard !sawToken else { return }
            sawToken = true
            latency("mimo_audio_time_to_first_token_seconds", until: now)
        case .audio(let samples) where !samples.isEmpty:
            guard !sawAudio else { return }
            sawAudio = true
            latency("mimo_audio_time_to_first_audio_seconds", until: now)
        case .finished(let result):
            let usage = result.usage
            metrics.promptTokens.increment(by: usage.promptGroups)
            metrics.generationTokens.increment(by: usage.generatedGroups)
            metrics.audioInput.increment(by: usage.audioSecondsIn)
            metrics.audioOutput.increment(by: usage.audioSecondsOut)
            if usage.cachedGroups > 0 {
                metrics.prefixHits.increment()
                metrics.prefixHitTokens.increment(by: usage.cachedGroups)
            }
            if usage.audioSecondsOut > 0, let began {
                let d = began.duration(to: now).components
                let seconds = Double(d.seconds) + Double(d.attoseconds) * 1e-18
                metrics.realTimeFactor.record(seconds / usage.audioSecondsOut)
            }
            metrics.prefixBytes.set(engine.cachedPrefixBytes)
        default: break
        }
    }
}

/// Counts every request by route and status, and times it to the last byte of its response
/// (a streamed body included).
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = metrics.now
        let endpoint = ServerMetrics.endpoint(request.uri.path)
        var response: Response
        do { response = try await next(request, context) } catch {
            let status = (error as? HTTPResponseError)?.status.code ?? 500
            metrics.request(endpoint: endpoint, status: status, duration: start.duration(to: metrics.now))
            throw error
        }
        let (metrics, status, body) = (metrics, response.status.code, response.body)
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            defer { metrics.request(endpoint: endpoint, status: status, duration: start.duration(to: metrics.now)) }
            try await body.write(writer)
        }
        return response
    }
}
