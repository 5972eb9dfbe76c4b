import Foundation
import Tensor

/// What an `LMSession` holds between generations: the backbone's KV cache and the groups whose
/// keys and values it holds. A value the engine's prefix cache can keep and hand to the next
/// request whose prompt starts the same way.
public struct LMState: @unchecked Sendable {
    public let cache: KVCache
    public let grid: TokenGrid

    public var groups: Int { cache.count }
    /// Memory of the cached keys and values.
    public var bytes: Int { cache.bytes }

    /// A copy of the first `groups` groups (the arrays are shared until either side writes).
    public func prefix(_ groups: Int, groupSize: Int) -> LMState {
        LMState(cache: cache.copy(keeping: groups), grid: grid.slice(0..<(groups * groupSize)))
    }
}

/// One conversation's state for the LM: the backbone's KV cache and the groups it holds. A new
/// prompt that extends the previous sequence only prefills what is new (the reference
/// re-prefills everything; the result is the same). One generation at a time: a second caller
/// gets `GenerationError.busy` instead of corrupting the cache.
public final class LMSession: @unchecked Sendable {
    public let model: MiMoAudioLM
    private var cache: KVCache
    /// The groups whose keys and values are in `cache`.
    private var fed: TokenGrid
    private let lock = NSLock()
    private var running = false

    public init(model: MiMoAudioLM) {
        self.model = model
        cache = model.makeBackboneCache()
        fed = TokenGrid(rows: Array(repeating: [], count: model.config.gridRows))
    }

    /// Resumes from a saved state (of the same model).
    public init(model: MiMoAudioLM, state: LMState) {
        self.model = model
        cache = state.cache
        fed = state.grid
    }

    /// Groups currently cached.
    public var cachedGroups: Int { cache.count }

    /// The cached state (after a generation: the prompt and every generated group but the stop group).
    public var state: LMState { LMState(cache: cache, grid: fed) }

    /// Generates after `prompt` (the whole sequence, history included), reporting each group as
    /// it is produced.
    @discardableResult
    public func generate(
        prompt: TokenGrid, options: GenerationOptions,
        onEvent: (GenerationEvent) -> Void = { _ in }
    ) throws -> GenerationResult {
        try generate(prompt: prompt, options: options, isCancelled: { false }, onEvent: onEvent)
    }

    /// The same, checking `isCancelled` between prefill chunks and before every step, and
    /// ending with `.stopRequested` after a step once `stopRequested` says so.
    @discardableResult
    public func generate(
        prompt: TokenGrid, options: GenerationOptions, isCancelled: () -> Bool,
        stopRequested: () -> Bool = { false }, onEvent: (GenerationEvent) -> Void
    ) throws -> GenerationResult {
        lock.lock()
        guard !running else {
            lock.unlock()
            throw GenerationError.busy
        }
        running = true
        lock.unlock()
        defer {
            lock.lock()
            running = false
            lock.unlock()
        }
        return try run(
            prompt: prompt, options: options, isCancelled: isCancelled, stopRequested: stopRequested, onEvent: onEvent)
    }

    private func run(
        prompt: TokenGrid, options: GenerationOptions, isCancelled: () -> Bool, stopRequested: () -> Bool,
        onEvent: (GenerationEvent) -> Void
    ) throws -> GenerationResult {
        let config = model.config
        let gs = config.groupSize
        try config.validate(prompt)
        guard options.minNewTokens >= 0 else { throw GenerationError.invalidOptions("min new tokens must be ≥ 0") }
        guard options.maxNewTokens >= 1 else { throw GenerationError.invalidOptions("max new tokens must be ≥ 1") }
        guard options.prefillChunk >= 1 else {
            throw GenerationError.invalidOptions("the prefill chunk must be ≥ 1 group")
        }
        let textSampler = try Sampler(options.textSampler)
        let audioSampler = try Sampler(options.audioSampler)
        var rng = SeededGenerator(seed: options.seed)

        let promptGroups = prompt.groups(size: gs)
        var timings = GenerationTimings()
        var start = DispatchTime.now()
        // Reuse the cached prefix, but always run at least the last prompt group for its logits.
        let reuse = min(commonPrefixGroups(with: prompt), promptGroups - 1)
        cache.truncate(to: reuse)
        fed = fed.slice(0..<(reuse * gs))
        var hidden = Matrix(rows: 0, cols: config.backbone.hidden)
        var done = reuse
        // done 0 first: the prefill starts (a front end times the prefill from it).
        onEvent(.prefill(done: 0, total: promptGroups - reuse))
        while done < promptGroups {
            if isCancelled() { throw GenerationError.cancelled }
            let end = min(promptGroups, done + options.prefillChunk)
            let chunk = prompt.slice((done * gs)..<(end * gs))
            hidden = model.backboneForward(model.embed(chunk), cache: cache)
            fed.append(chunk)
            done = end
            onEvent(.prefill(done: done - reuse, total: promptGroups - reuse))
        }
        timings.prefillGroups = promptGroups - reuse
        timings.prefillSeconds = seconds(since: start)

        let emptyAudio = config.speechEmptyIDs
        var newIDs = TokenGrid(rows: Array(repeating: [], count: config.gridRows))
        var logitsLog: [[Float]] = []
        var length = promptGroups
        // Clamped to the context: huge counts from a command line must not overflow.
        let minLength = promptGroups + min(options.minNewTokens, config.maxPositions)
        let maxLength = promptGroups + min(options.maxNewTokens, config.maxPositions)
        start = DispatchTime.now()
        while true {
            if isCancelled() { throw GenerationError.cancelled }
            let last = hidden.rows((hidden.rows - 1)..<hidden.rows)
            let logits = model.textLogits(last).data
            if options.recordLogits { logitsLog.append(logits) }
            let removed = length < minLength ? Array(options.stopTokens) : []
            let samplerStart = DispatchTime.now()
            var token = textSampler.sample(logits, removing: removed, using: &rng)
            timings.textSamplerSeconds += seconds(since: samplerStart)
            if let forced = options.forcedText?(timings.steps) { token = forced }
            var audio = Array(repeating: emptyAudio, count: gs)
            if token == model.emptyTextID {
                let patchStart = DispatchTime.now()
                audio = model.decodePatch(model.localHidden(last), sampler: audioSampler, using: &rng)
                timings.patches += 1
                timings.patchDecoderSeconds += seconds(since: patchStart)
            }
            var group = TokenGrid(rows: [Array(repeating: token, count: gs)])
            for ch in 0..<config.audioChannels { group.rows.append(audio.map { $0[ch] }) }
            newIDs.append(group)
            length += 1
            timings.steps += 1
            onEvent(.text(token))
            if token == model.emptyTextID { onEvent(.audio(audio)) }

            var reason: StopReason?
            if options.stopTokens.contains(token) && length >= minLength {
                reason = .stopToken
            } else if length >= maxLength {
                reason = .maxNewTokens
            } else if length >= config.maxPositions {
                reason = .maxLength
            } else if stopRequested() {
                reason = .stopRequested
            }
            if let reason {
                timings.stepSeconds = seconds(since: start)
                let result = GenerationResult(
                    newIDs: newIDs, stopReason: reason,
                    stopToken: reason == .stopToken ? token : nil,
                    timings: timings, stepLogits: logitsLog)
                onEvent(.finished(result))
                return result
            }
            // The stop group is never fed back; every other group is.
            hidden = model.backboneForward(model.embed(group), cache: cache)
            fed.append(group)
        }
    }

    /// The same generation as an asynchronous stream of events, run off the caller's thread.
    /// Cancelling the consuming task stops generation at the next group.
    public func events(prompt: TokenGrid, options: GenerationOptions) -> AsyncThrowingStream<GenerationEvent, Error> {
        AsyncThrowingStream { continuation in
            let cancelled = CancellationFlag()
            continuation.onTermination = { _ in cancelled.set() }
            Thread.detachNewThread { [self] in
                do {
                    try generate(
                        prompt: prompt, options: options, isCancelled: { cancelled.isSet },
                        onEvent: { continuation.yield($0) })
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
        }
    }

    private func commonPrefixGroups(with prompt: TokenGrid) -> Int {
        commonPrefix(
            fed, prompt, groups: min(cache.count, prompt.groups(size: model.config.groupSize)),
            groupSize: model.config.groupSize)
    }
}

/// Leading groups of `a` and `b` (at most `groups`) that the model reads alike: the text id at
/// each group start and every audio code.
public func commonPrefix(_ a: TokenGrid, _ b: TokenGrid, groups limit: Int, groupSize gs: Int) -> Int {
    var g = 0
    while g < limit {
        let cols = (g * gs)..<((g + 1) * gs)
        if a.rows[0][cols.lowerBound] != b.rows[0][cols.lowerBound] { break }
        if (1..<a.rows.count).contains(where: { a.rows[$0][cols] != b.rows[$0][cols] }) { break }
        g += 1
    }
    return g
}

/// A flag set from any thread (a consumer's cancellation) and read by the generating thread.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    public init() {}
    public func set() {
        lock.lock()
        flag = true
        lock.unlock()
    }
    public var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return flag
    }
}
