import Foundation
import Tensor

public enum StopReason: String, Sendable, Codable {
    /// The text channel produced a token of the stop set.
    case stopToken = "stop_token"
    /// `maxNewTokens` groups were generated.
    case maxNewTokens = "max_new_tokens"
    /// The sequence reached the model's context (`max_position_embeddings`).
    case maxLength = "max_length"
}

public struct GenerationOptions: Sendable {
    public var minNewTokens: Int
    public var maxNewTokens: Int
    /// Text ids that end generation (once `minNewTokens` groups exist; before that they are
    /// removed from the text sampler's choices, as the reference does).
    public var stopTokens: Set<Int>
    public var textSampler: SamplerSettings
    public var audioSampler: SamplerSettings
    public var seed: UInt64
    /// Keep every step's text logits in the result (for checking, costs vocab floats per step).
    public var recordLogits: Bool

    public init(minNewTokens: Int = 0, maxNewTokens: Int = 8192, stopTokens: Set<Int>,
                textSampler: SamplerSettings = .defaultText, audioSampler: SamplerSettings = .defaultAudio,
                seed: UInt64 = 0, recordLogits: Bool = false) {
        self.minNewTokens = minNewTokens
        self.maxNewTokens = maxNewTokens
        self.stopTokens = stopTokens
        self.textSampler = textSampler
        self.audioSampler = audioSampler
        self.seed = seed
        self.recordLogits = recordLogits
    }
}

public struct GenerationTimings: Sendable, Codable {
    public var prefillGroups = 0
    public var prefillSeconds = 0.0
    public var steps = 0
    public var stepSeconds = 0.0
    public var patches = 0
    public var patchDecoderSeconds = 0.0
}

public struct GenerationResult: Sendable {
    /// The generated grid in the reference's layout: the text id repeated on the 4 frames of
    /// each group, codes or empty ids below; the stop group included.
    public var newIDs: TokenGrid
    public var stopReason: StopReason
    public var stopToken: Int?
    public var timings: GenerationTimings
    /// Text logits that chose each group's text token (when `recordLogits`).
    public var stepLogits: [[Float]]
}

public enum GenerationEvent: Sendable {
    /// The text token of a new group (`<|empty|>` for speech steps).
    case text(Int)
    /// One patch of audio codes, `[groupSize][channels]`.
    case audio([[Int]])
    case finished(GenerationResult)
}

public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case invalidOptions(String)
    case cancelled

    public var description: String {
        switch self {
        case .invalidOptions(let why): return "invalid generation options: \(why)"
        case .cancelled: return "generation was cancelled"
        }
    }
}

/// One conversation's state for the LM: the backbone's KV cache and the groups it holds. A new
/// prompt that extends the previous sequence only prefills what is new (the reference
/// re-prefills everything; the result is the same).
public final class LMSession {
    public let model: MiMoAudioLM
    private let cache: KVCache
    /// The groups whose keys and values are in `cache`.
    private var fed: TokenGrid

    public init(model: MiMoAudioLM) {
        self.model = model
        cache = model.makeBackboneCache()
        fed = TokenGrid(rows: Array(repeating: [], count: model.config.gridRows))
    }

    /// Groups currently cached.
    public var cachedGroups: Int { cache.count }

    /// Generates after `prompt` (the whole sequence, history included), reporting each group as
    /// it is produced.
    @discardableResult
    public func generate(prompt: TokenGrid, options: GenerationOptions,
                         onEvent: (GenerationEvent) -> Void = { _ in }) throws -> GenerationResult {
        try generate(prompt: prompt, options: options, isCancelled: { false }, onEvent: onEvent)
    }

    /// The same, checking `isCancelled` before every step.
    @discardableResult
    public func generate(prompt: TokenGrid, options: GenerationOptions, isCancelled: () -> Bool,
                         onEvent: (GenerationEvent) -> Void) throws -> GenerationResult {
        let config = model.config
        let gs = config.groupSize
        try config.validate(prompt)
        guard options.minNewTokens >= 0 else { throw GenerationError.invalidOptions("min new tokens must be ≥ 0") }
        guard options.maxNewTokens >= 1 else { throw GenerationError.invalidOptions("max new tokens must be ≥ 1") }
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
        let fresh = prompt.slice((reuse * gs)..<(promptGroups * gs))
        var hidden = model.backboneForward(model.embed(fresh), cache: cache)
        fed.append(fresh)
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
            let token = textSampler.sample(logits, removing: removed, using: &rng)
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
            if options.stopTokens.contains(token) && length >= minLength { reason = .stopToken }
            else if length >= maxLength { reason = .maxNewTokens }
            else if length >= config.maxPositions { reason = .maxLength }
            if let reason {
                timings.stepSeconds = seconds(since: start)
                let result = GenerationResult(newIDs: newIDs, stopReason: reason,
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
            let session = UncheckedBox(self)
            Thread.detachNewThread {
                do {
                    try session.value.generate(prompt: prompt, options: options, isCancelled: { cancelled.isSet },
                                               onEvent: { continuation.yield($0) })
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
        }
    }

    private func commonPrefixGroups(with prompt: TokenGrid) -> Int {
        let gs = model.config.groupSize
        let limit = min(cache.count, prompt.groups(size: gs))
        var g = 0
        while g < limit {
            let cols = (g * gs)..<((g + 1) * gs)
            // Only what the model reads must agree: the text id at the group start and the codes.
            if fed.rows[0][cols.lowerBound] != prompt.rows[0][cols.lowerBound] { break }
            if (1..<fed.rows.count).contains(where: { fed.rows[$0][cols] != prompt.rows[$0][cols] }) { break }
            g += 1
        }
        return g
    }
}

private final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() { lock.lock(); flag = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return flag }
}

/// Hands a non-Sendable session to the one thread that uses it while the stream runs.
private struct UncheckedBox<T>: @unchecked Sendable { let value: T; init(_ v: T) { value = v } }
