import Foundation
import Tensor

public enum StopReason: String, Sendable, Codable {
    /// The text channel produced a token of the stop set.
    case stopToken = "stop_token"
    /// `maxNewTokens` groups were generated.
    case maxNewTokens = "max_new_tokens"
    /// The sequence reached the model's context (`max_position_embeddings`).
    case maxLength = "max_length"
    /// The caller asked to stop after a step (a stop string in the text, a barge-in).
    case stopRequested = "stop_requested"
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
    /// Prompt groups per prefill pass: cancellation is checked between passes, so a long prompt
    /// can be abandoned within one chunk. Same math as one pass (a GEMM over fewer rows).
    public var prefillChunk: Int
    /// Teacher forcing: the text token to take at step n (from 0) instead of the sampled one,
    /// when this returns one. The sampler still runs, so its cost stays in the timings; the
    /// benchmarks use it to give random weights the rhythm of real speech.
    public var forcedText: (@Sendable (Int) -> Int?)?

    public init(
        minNewTokens: Int = 0, maxNewTokens: Int = 8192, stopTokens: Set<Int>,
        textSampler: SamplerSettings = .defaultText, audioSampler: SamplerSettings = .defaultAudio,
        seed: UInt64 = 0, recordLogits: Bool = false, prefillChunk: Int = 256,
        forcedText: (@Sendable (Int) -> Int?)? = nil
    ) {
        self.minNewTokens = minNewTokens
        self.maxNewTokens = maxNewTokens
        self.stopTokens = stopTokens
        self.textSampler = textSampler
        self.audioSampler = audioSampler
        self.seed = seed
        self.recordLogits = recordLogits
        self.prefillChunk = prefillChunk
        self.forcedText = forcedText
    }
}

public struct GenerationTimings: Sendable, Codable {
    public var prefillGroups = 0
    public var prefillSeconds = 0.0
    public var steps = 0
    public var stepSeconds = 0.0
    public var patches = 0
    public var patchDecoderSeconds = 0.0
    /// Time in the text channel's sampler (151,680 logits a step at the real size).
    public var textSamplerSeconds = 0.0

    enum CodingKeys: String, CodingKey {
        case prefillGroups = "prefill_groups"
        case prefillSeconds = "prefill_seconds"
        case steps
        case stepSeconds = "step_seconds"
        case patches
        case patchDecoderSeconds = "patch_decoder_seconds"
        case textSamplerSeconds = "text_sampler_seconds"
    }
}

extension GenerationTimings {
    /// Two generations' timings, added up.
    public static func + (a: GenerationTimings, b: GenerationTimings) -> GenerationTimings {
        var t = a
        t.prefillGroups += b.prefillGroups
        t.prefillSeconds += b.prefillSeconds
        t.steps += b.steps
        t.stepSeconds += b.stepSeconds
        t.patches += b.patches
        t.patchDecoderSeconds += b.patchDecoderSeconds
        t.textSamplerSeconds += b.textSamplerSeconds
        return t
    }
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
    /// `done` of the `total` prompt groups to compute have been prefilled (0 as it starts, then
    /// after each chunk).
    case prefill(done: Int, total: Int)
    /// The text token of a new group (`<|empty|>` for speech steps).
    case text(Int)
    /// One patch of audio codes, `[groupSize][channels]`.
    case audio([[Int]])
    case finished(GenerationResult)
}

public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case invalidOptions(String)
    case cancelled
    /// The session is already generating for another caller.
    case busy

    public var description: String {
        switch self {
        case .invalidOptions(let why): return "invalid generation options: \(why)"
        case .cancelled: return "generation was cancelled"
        case .busy: return "this LM session is already generating; a session serves one generation at a time"
        }
    }
}
