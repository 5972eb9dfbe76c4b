import Foundation

/// The reference's `MiMoSampler`: temperature, top-k (ties at the k-th value kept), top-p
/// (ascending sort, drop entries whose cumulative probability is ≤ 1 − p, always keep the
/// maximum), then the caller's removed tokens, then multinomial sampling or argmax (first
/// index on ties).
public struct SamplerSettings: Sendable, Equatable, Codable {
    public var doSample: Bool
    public var temperature: Float?
    public var topK: Int?
    public var topP: Float?

    public init(doSample: Bool, temperature: Float? = nil, topK: Int? = nil, topP: Float? = nil) {
        self.doSample = doSample
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
    }

    public static let greedy = SamplerSettings(doSample: false)
    /// The reference's defaults for tasks without a preset.
    public static let defaultText = SamplerSettings(doSample: true, temperature: 0.6, topK: 50, topP: 0.95)
    public static let defaultAudio = SamplerSettings(doSample: true, temperature: 0.9, topK: 50, topP: 0.95)
}

public enum SamplerError: Error, CustomStringConvertible, Equatable {
    case invalidTemperature(Float)
    case invalidTopP(Float)
    case invalidTopK(Int)

    public var description: String {
        switch self {
        case .invalidTemperature(let t): return "temperature must be a positive finite number, got \(t)"
        case .invalidTopP(let p): return "top-p must be in (0, 1], got \(p)"
        case .invalidTopK(let k): return "top-k must be positive, got \(k)"
        }
    }
}

/// A small, fast, seedable generator (SplitMix64): sampling is reproducible for a seed, but is
/// not expected to match torch's generator.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

public struct Sampler: Sendable {
    public let settings: SamplerSettings

    public init(_ settings: SamplerSettings) throws {
        if let t = settings.temperature, !(t > 0 && t.isFinite) { throw SamplerError.invalidTemperature(t) }
        if let p = settings.topP, !(p > 0 && p <= 1) { throw SamplerError.invalidTopP(p) }
        if let k = settings.topK, k < 1 { throw SamplerError.invalidTopK(k) }
        self.settings = settings
    }

    /// Filtered scores (−inf where removed), as `MiMoSampler.process` then the removals.
    public func filtered(_ logits: [Float], removing removed: [Int]) -> [Float] {
        var scores = logits
        if let t = settings.temperature { for i in scores.indices { scores[i] /= t } }
        if let k = settings.topK {
            let kth = scores.sorted(by: >)[min(k, scores.count) - 1]
            for i in scores.indices where scores[i] < kth { scores[i] = -.infinity }
        }
        if let p = settings.topP {
            let order = scores.indices.sorted { scores[$0] < scores[$1] }
            let m = scores.max() ?? 0
            let exps = order.map { Double(scores[$0]).isFinite ? exp(Double(scores[$0] - m)) : 0 }
            let total = exps.reduce(0, +)
            var cumulative = 0.0
            for (rank, index) in order.enumerated() where rank < order.count - 1 {
                cumulative += exps[rank] / total
                if cumulative <= Double(1 - p) { scores[index] = -.infinity }
            }
        }
        for t in removed where scores.indices.contains(t) { scores[t] = -.infinity }
        return scores
    }

    /// Picks a token. If filtering left nothing (e.g. only removed tokens survived top-k), the
    /// reference would sample from all −inf; we fall back to the best token not removed.
    public func sample<G: RandomNumberGenerator>(_ logits: [Float], removing removed: [Int] = [], using rng: inout G) -> Int {
        let scores = filtered(logits, removing: removed)
        guard let best = Self.argmax(scores), scores[best] > -.infinity else {
            var fallback = logits
            for t in removed where fallback.indices.contains(t) { fallback[t] = -.infinity }
            return Self.argmax(fallback) ?? 0
        }
        guard settings.doSample else { return best }
        let m = scores[best]
        let weights = scores.map { $0 > -.infinity ? exp(Double($0 - m)) : 0 }
        let total = weights.reduce(0, +)
        var u = Double.random(in: 0..<1, using: &rng) * total
        for (i, w) in weights.enumerated() where w > 0 {
            if u < w { return i }
            u -= w
        }
        return best
    }

    /// First index of the maximum (NaN never wins).
    static func argmax(_ xs: [Float]) -> Int? {
        var best: Int?
        for (i, x) in xs.enumerated() where !x.isNaN {
            if best == nil || x > xs[best!] { best = i }
        }
        return best
    }
}

/// The reference's per-task sampler pairs (`MimoAudio.task_sampler_configs`; spec §5).
public enum TaskSamplers: String, CaseIterable, Sendable {
    case `default`, asr, tts, spokenDialogue, audioUnderstanding, textChat, inContextLearning

    /// (text channel, patch decoder).
    public var settings: (text: SamplerSettings, audio: SamplerSettings) {
        let audio = SamplerSettings(doSample: true, temperature: 0.9, topP: 0.95)
        switch self {
        case .default: return (.defaultText, .defaultAudio)
        case .asr, .inContextLearning: return (SamplerSettings(doSample: false, temperature: 1.0, topP: 1.0), audio)
        case .tts: return (SamplerSettings(doSample: true, temperature: 0.6, topP: 1.0), audio)
        case .spokenDialogue: return (SamplerSettings(doSample: true, temperature: 0.6, topP: 0.95), audio)
        case .audioUnderstanding: return (SamplerSettings(doSample: true, temperature: 0.3, topP: 0.95), audio)
        case .textChat: return (SamplerSettings(doSample: true, temperature: 0.4, topP: 0.95), audio)
        }
    }
}
