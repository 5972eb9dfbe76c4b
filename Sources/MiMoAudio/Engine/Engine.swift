import Foundation

public struct EngineOptions: Sendable {
    /// Requests that may wait for the executor; more are refused with `EngineError.queueFull`.
    public var maxQueue: Int
    /// Memory for KV prefixes of earlier requests (LRU by bytes); 0 turns prefix reuse off.
    public var prefixCacheBytes: Int
    /// Prompt groups per prefill pass (cancellation is checked between passes). 256 prefills as
    /// fast as one pass over a 512-group prompt; 128 was 6 % slower (AVX2 Zen 1, alternating runs).
    public var prefillChunk: Int
    /// Called on the executor thread as requests move along (tests, metrics); must be quick.
    public var trace: (@Sendable (EngineTrace) -> Void)?

    public init(
        maxQueue: Int = 64, prefixCacheBytes: Int = 1 << 30, prefillChunk: Int = 256,
        trace: (@Sendable (EngineTrace) -> Void)? = nil
    ) {
        self.maxQueue = maxQueue
        self.prefixCacheBytes = prefixCacheBytes
        self.prefillChunk = prefillChunk
        self.trace = trace
    }
}

/// A request's way through the engine, as `EngineOptions.trace` sees it.
public enum EngineTrace: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable { case completed, cancelled, failed }
    case queued(request: Int)
    case started(request: Int)
    case prefill(request: Int, done: Int, total: Int)
    case step(request: Int, groups: Int)
    /// The consumer went away (or cancelled); the request stops at its next check.
    case cancelRequested(request: Int)
    /// The request's state is freed.
    case ended(request: Int, outcome: Outcome)
}

/// Runs every task of MiMo-Audio for every front end (CLI, HTTP server, realtime socket): a
/// request goes through one executor, in order, and streams its events back. Holds the loaded
/// models and the prefix cache; conversations are values in the requests.
public final class Engine: @unchecked Sendable {
    public let pipeline: Pipeline
    public let options: EngineOptions
    private let executor: Executor
    private let prefixCache: PrefixCache
    private let ids = NSLock()
    private var lastID = 0

    /// Sets up BLAS for the process (once) with the pipeline's thread count.
    public init(pipeline: Pipeline, options: EngineOptions = EngineOptions()) {
        self.pipeline = pipeline
        self.options = options
        executor = Executor(capacity: max(0, options.maxQueue))
        prefixCache = PrefixCache(
            capacityBytes: max(0, options.prefixCacheBytes), groupSize: pipeline.lm.config.groupSize)
        BLAS.configure(threads: pipeline.lm.compute.threads)
    }

    /// Requests submitted and not yet started.
    public var waitingRequests: Int { executor.waitingCount }

    /// Bytes of KV state the prefix cache holds.
    public var cachedPrefixBytes: Int { prefixCache.bytes }

    /// Runs `request`, streaming its events; `finished` comes last. Dropping the stream or
    /// cancelling the consuming task stops the work within one decode step (or one prefill
    /// chunk) and frees the request's state.
    public func run(_ request: TaskRequest) -> AsyncThrowingStream<TaskEvent, Error> {
        AsyncThrowingStream { continuation in
            let job = Job(
                id: nextID(), request: request, trace: options.trace,
                emit: { continuation.yield($0) },
                complete: { result in
                    switch result {
                    case .success: continuation.finish()
                    case .failure(let e): continuation.finish(throwing: e)
                    }
                })
            continuation.onTermination = { termination in
                if case .cancelled = termination { job.cancel() }
            }
            submit(job)
        }
    }

    /// The same, for a synchronous caller: events, `finished` last, are handed to `onEvent` (on
    /// the executor's thread) while this waits. An error thrown by `onEvent` (an output that cannot be
    /// written) cancels the request and is rethrown.
    @discardableResult
    public func perform(_ request: TaskRequest, onEvent: @escaping (TaskEvent) throws -> Void) throws -> TaskResult {
        let done = DispatchSemaphore(value: 0)
        let box = PerformBox()
        let handler = UncheckedSendable(onEvent)
        let job = Job(
            id: nextID(), request: request, trace: options.trace, emit: { _ in },
            complete: {
                box.result = $0
                done.signal()
            })
        job.emit = { [unowned job] event in
            guard box.consumerError == nil else { return }
            do { try handler.value(event) } catch {
                box.consumerError = error
                job.cancel()
            }
        }
        submit(job)
        done.wait()
        if let error = box.consumerError { throw error }
        return try box.result!.get()
    }

    private func lmAudio(_ source: AudioSource) throws -> LMAudio {
        switch source {
        case .codes(let audio): return audio
        case .samples(let samples): return try pipeline.lmAudio(samples: samples)
        }
    }

    private func nextID() -> Int {
        ids.lock()
        defer { ids.unlock() }
        lastID += 1
        return lastID
    }

    private func submit(_ job: Job) {
        do {
            try executor.submit({ [self] in execute(job) }, queued: { options.trace?(.queued(request: job.id)) })
        } catch {
            job.complete(.failure(error))
        }
    }

    private func execute(_ job: Job) {
        options.trace?(.started(request: job.id))
        let outcome: EngineTrace.Outcome
        do {
            if job.isCancelled { throw GenerationError.cancelled }
            let result = try generate(job)
            job.emit(.finished(result))
            job.complete(.success(result))
            outcome = .completed
        } catch {
            job.complete(.failure(error))
            outcome = (error as? GenerationError) == .cancelled ? .cancelled : .failed
        }
        options.trace?(.ended(request: job.id, outcome: outcome))
    }

    /// Everything a request does, on the executor thread.
    private func generate(_ job: Job) throws -> TaskResult {
        if case .tts(let text, let instruct, let voice, let natural) = job.request.task,
            text.count > TextSplitter.defaultMaxCharacters
        {
            return try speakInPieces(job, TextSplitter.pieces(text), instruct: instruct, voice: voice, natural: natural)
        }
        return try generate(job, job.request)
    }

    /// Long TTS text, spoken piece by piece in order with one voice: the same seed, instruction,
    /// voice prompt and template for every piece; events flow as each piece is generated.
    private func speakInPieces(_ job: Job, _ pieces: [String], instruct: String?, voice: AudioSource?, natural: Bool)
        throws -> TaskResult
    {
        var request = job.request
        if request.templateIndex == nil && !natural, case .tts(let text, _, _, _) = request.task {
            request.templateIndex = TaskRecipe.templateDraw(count: Templates.tts(for: text).count, seed: request.seed)
        }
        // The voice prompt is encoded once.
        let voice = try voice.map { AudioSource.codes(try lmAudio($0)) }
        var merged: TaskResult?
        for piece in pieces {
            var part = request
            part.task = .tts(text: piece, instruct: instruct, voice: voice, natural: natural)
            let r = try generate(job, part)
            merged = merged.map { $0.followed(by: r) } ?? r
        }
        return merged!
    }

    private func generate(_ job: Job, _ request: TaskRequest) throws -> TaskResult {
        let lm = pipeline.lm
        if case .streamed(let n) = request.audioDelivery, !(1...1500).contains(n) { throw EngineError.invalidChunk(n) }
        let recipe = try TaskRecipe(request, prompts: pipeline.prompts) { source in
            if job.isCancelled { throw GenerationError.cancelled }
            return try lmAudio(source)
        }
        for warning in recipe.warnings { job.emit(.warning(warning)) }
        try lm.config.validate(recipe.prompt)
        let (textSampler, audioSampler) = recipe.samplers(request)
        var options = GenerationOptions(
            minNewTokens: request.minNewTokens, maxNewTokens: request.maxNewTokens,
            stopTokens: recipe.stops, textSampler: textSampler, audioSampler: audioSampler,
            seed: request.seed, prefillChunk: self.options.prefillChunk)
        if let forced = request.forcedSteps, forced.count > 0 {
            let id =
                forced.token == .speech
                ? lm.emptyTextID : pipeline.textTokenizer.encode(" a").first ?? lm.emptyTextID
            options.forcedText = { @Sendable (step: Int) -> Int? in step < forced.count ? id : nil }
        }

        var stream: SpeechStream?
        if recipe.speaks, case .streamed(let chunk) = request.audioDelivery {
            stream = SpeechStream(codec: try pipeline.requireCodec(), chunkFrames: chunk)
        }
        let session =
            prefixCache.longestPrefix(of: recipe.prompt).map { LMSession(model: lm, state: $0) } ?? LMSession(model: lm)
        var decoder = IncrementalDecoder(tokenizer: pipeline.textTokenizer, skipSpecialTokens: true)
        var splitter = ThinkingSplitter(startsThinking: recipe.startsThinking)
        var stopTexts = StopTexts(request.stopTexts)
        func emitText(_ pieces: [(thinking: Bool, text: String)]) {
            for piece in pieces {
                if piece.thinking {
                    job.emit(.thinking(piece.text))
                } else {
                    let text = stopTexts.push(piece.text)
                    if !text.isEmpty { job.emit(.text(text)) }
                }
            }
        }
        let eostm = pipeline.textTokenizer.specialTokens.idsByName["<|eostm|>"]
        var audioOpen = true
        var (groups, frames) = (0, 0)
        var streamError: Error?
        let start = DispatchTime.now()
        let result: GenerationResult
        do {
            result = try session.generate(
                prompt: recipe.prompt, options: options,
                isCancelled: { job.isCancelled || streamError != nil },
                stopRequested: { stopTexts.stopped || request.stopSignal?.isSet == true },
                onEvent: { event in
                    switch event {
                    case .prefill(let done, let total):
                        job.emit(.progress(.prefill(done: done, total: total)))
                        self.options.trace?(.prefill(request: job.id, done: done, total: total))
                    case .text(let id):
                        groups += 1
                        // Speech after <|eostm|> is not part of the answer (the extraction ends there).
                        if id == eostm { audioOpen = false }
                        emitText(splitter.push(decoder.push(id)))
                    case .audio(let patch):
                        guard audioOpen else { break }
                        frames += patch.count
                        if let stream, streamError == nil {
                            do {
                                let samples = try stream.add(patch: patch)
                                if !samples.isEmpty { job.emit(.audio(samples)) }
                            } catch { streamError = error }
                        }
                    case .finished:
                        return
                    }
                    if case .text = event {
                        job.emit(
                            .progress(
                                .step(
                                    groups: groups, audioSeconds: Double(frames) / pipeline.frameRate,
                                    elapsed: seconds(since: start))))
                        self.options.trace?(.step(request: job.id, groups: groups))
                    }
                })
        } catch GenerationError.cancelled where streamError != nil {
            throw streamError!
        }
        emitText(splitter.push(decoder.finish()) + splitter.finish())
        let held = stopTexts.finish()
        if !held.isEmpty { job.emit(.text(held)) }

        let output = try lm.extractOutput(result.newIDs)
        let text = pipeline.text(output.textIDs)
        var (thinking, answer) = ThinkingSplitter.split(text, startsThinking: recipe.startsThinking)
        if stopTexts.stopped { answer = stopTexts.cut(answer) }
        var usage = TaskUsage(
            promptGroups: recipe.prompt.groups(size: lm.config.groupSize),
            generatedGroups: result.newIDs.groups(size: lm.config.groupSize), audioSecondsIn: recipe.audioSecondsIn)
        usage.cachedGroups = usage.promptGroups - result.timings.prefillGroups
        usage.audioSecondsOut = Double(output.codes.first?.count ?? 0) / pipeline.frameRate
        if recipe.speaks, let codec = pipeline.codec {
            switch request.audioDelivery {
            case .none: break
            case .streamed:
                if let stream {
                    job.emit(.audio(try stream.finish()))
                    usage.audioSecondsOut = stream.stats.audioSeconds
                }
            case .whole:
                var wav = [Float](repeating: 0, count: codec.sampleRate)
                if output.codes.first?.isEmpty == false {
                    wav = try codec.decode(codes: output.codes)
                } else {
                    job.emit(.warning("no audio was generated; 1 s of silence stands in, as the reference writes"))
                }
                usage.audioSecondsOut = Double(wav.count) / Double(codec.sampleRate)
                job.emit(.audio(wav))
            }
        }
        var sequence = recipe.prompt
        sequence.append(result.newIDs)
        prefixCache.insert(session.state)
        return TaskResult(
            text: text, thinking: thinking, answer: answer, newIDs: result.newIDs, textIDs: output.textIDs,
            codes: output.codes, sequence: sequence, stopReason: result.stopReason,
            stopToken: result.stopToken.map { pipeline.textTokenizer.specialTokens.namesByID[$0] ?? String($0) },
            timings: result.timings, usage: usage, seed: request.seed, template: recipe.template,
            stream: stream?.stats)
    }

}

/// One request on its way: its events go to `emit`, its end to `complete` (exactly once).
private final class Job: @unchecked Sendable {
    let id: Int
    let request: TaskRequest
    let trace: (@Sendable (EngineTrace) -> Void)?
    var emit: (TaskEvent) -> Void
    private let completion: (Result<TaskResult, Error>) -> Void
    private let flag = CancellationFlag()
    private let lock = NSLock()
    private var completed = false

    init(
        id: Int, request: TaskRequest, trace: (@Sendable (EngineTrace) -> Void)?, emit: @escaping (TaskEvent) -> Void,
        complete: @escaping (Result<TaskResult, Error>) -> Void
    ) {
        self.id = id
        self.request = request
        self.trace = trace
        self.emit = emit
        completion = complete
    }

    var isCancelled: Bool { flag.isSet }

    func cancel() {
        guard !flag.isSet else { return }
        flag.set()
        trace?(.cancelRequested(request: id))
    }

    func complete(_ result: Result<TaskResult, Error>) {
        lock.lock()
        let first = !completed
        completed = true
        lock.unlock()
        if first { completion(result) }
    }
}

private final class PerformBox: @unchecked Sendable {
    var result: Result<TaskResult, Error>?
    var consumerError: Error?
}

struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
