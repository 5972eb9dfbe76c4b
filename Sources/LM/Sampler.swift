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
    ///
    /// The result is bit-identical to the reference's full-vocabulary sorts (`filterBySorting`), but
    /// top-k finds its threshold with a small heap and top-p sorts only the few tokens that can
    /// matter (`nucleus`), since the text vocabulary has 151,680 entries.
    public func filtered(_ logits: [Float], removing removed: [Int]) -> [Float] {
        var scores = logits
        if let t = settings.temperature { for i in scores.indices { scores[i] /= t } }
        if let m = Self.finiteMax(scores) {
            var finite: [Int]?  // after top-k: the indices still finite, ascending
            if let k = settings.topK {
                let kth = Self.kthLargest(scores, min(k, scores.count))
                scores = scores.map { $0 < kth ? -.infinity : $0 }
                finite = scores.indices.filter { scores[$0] > -.infinity }
            }
            if let p = settings.topP {
                // −inf entries add exactly 0 to the reference's sums, so sorting the finite ones suffices.
                if (finite?.count ?? scores.count) <= Self.fewCandidates || !Self.nucleus(&scores, p: p, max: m) {
                    Self.nucleusBySorting(&scores, p: p, among: finite ?? Array(scores.indices))
                }
            }
        } else {
            // A NaN or +inf (or no finite score): the outcome hangs on how the sort orders them.
            filterBySorting(&scores)
        }
        for t in removed where scores.indices.contains(t) { scores[t] = -.infinity }
        return scores
    }

    /// Picks a token. If filtering left nothing (e.g. only removed tokens survived top-k), the
    /// reference would sample from all −inf; we fall back to the best token not removed.
    public func sample<G: RandomNumberGenerator>(_ logits: [Float], removing removed: [Int] = [], using rng: inout G)
        -> Int
    {
        let scores = filtered(logits, removing: removed)
        guard let best = Self.argmax(scores), scores[best] > -.infinity else {
            var fallback = logits
            for t in removed where fallback.indices.contains(t) { fallback[t] = -.infinity }
            return Self.argmax(fallback) ?? 0
        }
        guard settings.doSample else { return best }
        let m = scores[best]
        // Tokens at −inf (or NaN) weigh exactly 0, so skipping them changes no bit of the index-order
        // total or of the walk. The walk recomputes its weights: cheaper than storing a vocabulary's worth.
        var total = 0.0
        for s in scores where s > -.infinity { total += exp(Double(s - m)) }
        var u = Double.random(in: 0..<1, using: &rng) * total
        for (i, s) in scores.enumerated() where s > -.infinity {
            let w = exp(Double(s - m))
            guard w > 0 else { continue }
            if u < w { return i }
            u -= w
        }
        return best
    }

    /// First index of the maximum (NaN never wins).
    static func argmax(_ xs: [Float]) -> Int? {
        guard var best = xs.firstIndex(where: { !$0.isNaN }) else { return nil }
        var top = xs[best]
        for i in xs.indices where xs[i] > top {
            best = i
            top = xs[i]
        }
        return best
    }

    // MARK: - Filtering internals

    /// Up to this many candidates top-p just sorts them.
    static let fewCandidates = 256

    /// The reference's top-k and top-p by full sorts.
    private func filterBySorting(_ scores: inout [Float]) {
        if let k = settings.topK {
            let kth = scores.sorted(by: >)[min(k, scores.count) - 1]
            for i in scores.indices where scores[i] < kth { scores[i] = -.infinity }
        }
        if let p = settings.topP { Self.nucleusBySorting(&scores, p: p, among: Array(scores.indices)) }
    }

    /// The reference's top-p, over `among` (ascending indices that include every finite score, or
    /// all): the stable sort puts ties in index order, as the reference's sort of all indices does.
    static func nucleusBySorting(_ scores: inout [Float], p: Float, among: [Int]) {
        let order = among.sorted { scores[$0] < scores[$1] }
        let m = among.map { scores[$0] }.max() ?? 0
        let exps = order.map { Double(scores[$0]).isFinite ? exp(Double(scores[$0] - m)) : 0 }
        let total = exps.reduce(0, +)
        var cumulative = 0.0
        for (rank, index) in order.enumerated() where rank < order.count - 1 {
            cumulative += exps[rank] / total
            if cumulative <= Double(1 - p) { scores[index] = -.infinity }
        }
    }

    /// The maximum, if it is finite and no score is NaN or +inf.
    static func finiteMax(_ xs: [Float]) -> Float? {
        var m = -Float.infinity
        for x in xs {
            guard x < .infinity else { return nil }  // NaN or +inf
            m = max(m, x)
        }
        return m > -.infinity ? m : nil
    }

    /// `xs.sorted(by: >)[k - 1]` for 1 ≤ k ≤ count and no NaN: the root of a min-heap of the k
    /// largest seen so far. Most entries lose to the root at once, so this is about one pass.
    static func kthLargest(_ xs: [Float], _ k: Int) -> Float {
        var heap = Array(xs[..<k])
        for i in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(&heap, from: i) }
        for x in xs[k...] where x > heap[0] {
            heap[0] = x
            siftDown(&heap, from: 0)
        }
        return heap[0]
    }

    private static func siftDown(_ heap: inout [Float], from start: Int) {
        var i = start
        while true {
            let left = 2 * i + 1
            guard left < heap.count else { return }
            let child = left + 1 < heap.count && heap[left + 1] < heap[left] ? left + 1 : left
            guard heap[child] < heap[i] else { return }
            heap.swapAt(i, child)
            i = child
        }
    }

    /// Top-p as `nucleusBySorting`, without sorting the vocabulary; returns false, leaving `scores`
    /// untouched, when it cannot be sure of the same result (the caller then sorts). `m` is the
    /// finite maximum; no score is NaN or +inf.
    ///
    /// The reference removes, in ascending order, every token whose running sum ĉ of exp(s − m)/T is
    /// ≤ q = 1 − p, T being the ascending-order total; ĉ never decreases, so it removes a prefix.
    ///
    /// q = 0 (p = 1): ĉ = 0 exactly while every exp so far is 0 (T ≥ 1, the maximum's own exp being
    /// 1), and ĉ > 0 from the first exp that is a normal number on (T ≤ n, so its quotient cannot
    /// round to 0). So exactly the tokens with exp(s − m) = 0, s − m < −746, go, unless some
    /// s − m lies in [−746, −708), where exp is subnormal and the quotient's rounding hangs on T.
    ///
    /// q > 0: tokens are bucketed by m − s (16 buckets per nat, one tail bucket beyond 48), an order
    /// consistent with the reference's. Summing bucket masses from the bottom finds the bucket
    /// holding the crossing of q; only its members are sorted and walked; those below all go and
    /// those above all stay. Our running sums c̃ use other summation orders than the reference's ĉ;
    /// for nonnegative terms both are within relative ε ≈ (2n + buckets)u of the exact value (u = 2⁻⁵³;
    /// subnormal rounding adds at most n·2⁻¹⁰⁷⁴ absolute, far below q·u), so ĉ/c̃ is within 1 ± 2ε.
    /// We accept the crossing only if the last removed token has c̃ < q(1 − δ) and the first kept
    /// one c̃ > q(1 + δ), δ = 8(n + buckets)u ≥ 4ε: then ĉ falls on the same sides of q, so the
    /// same prefix goes. Otherwise (the boundary within ~10⁻¹¹ of q, or no crossing found) false.
    static func nucleus(_ scores: inout [Float], p: Float, max m: Float) -> Bool {
        let q = Double(1 - p)
        if q == 0 {
            var zeros: [Int] = []
            for i in scores.indices where scores[i] > -.infinity {
                let x = Double(scores[i] - m)
                if x < -746 { zeros.append(i) } else if x < -708 { return false }
            }
            for i in zeros { scores[i] = -.infinity }
            return true
        }

        let perNat: Float = 16
        let tail = 48 * Int(perNat)
        func bucket(_ s: Float) -> Int {
            let d = m - s  // ≥ 0; +inf for −inf
            return d < Float(tail) / perNat ? Int(d * perNat) : tail
        }
        var mass = [Double](repeating: 0, count: tail + 1)
        var total = 0.0
        for s in scores {
            let e = exp(Double(s - m))
            mass[bucket(s)] += e
            total += e
        }
        // From the lowest scores (the tail) up: the first bucket whose top crosses q.
        var below = 0.0
        var crossing = -1
        for b in stride(from: tail, through: 0, by: -1) {
            if (below + mass[b]) / total > q {
                crossing = b
                break
            }
            below += mass[b]
        }
        guard crossing >= 0, crossing < tail else { return false }

        // The stable sort puts ties in index order, as the reference's does.
        let members = scores.indices.filter { bucket(scores[$0]) == crossing }.sorted { scores[$0] < scores[$1] }
        let delta = Double(8 * (scores.count + tail + 1)) * 0x1p-53
        var running = below
        var last = below / total
        var firstKept = -1
        for (rank, i) in members.enumerated() {
            running += exp(Double(scores[i] - m))
            let c = running / total
            if c > q {
                guard last < q * (1 - delta), c > q * (1 + delta) else { return false }
                firstKept = rank
                break
            }
            last = c
        }
        guard firstKept >= 0 else { return false }
        // Buckets fall as scores rise, so the lower buckets hold exactly the scores below the members'.
        let lowest = scores[members[0]]
        scores = scores.map { $0 < lowest ? -.infinity : $0 }
        for i in members[..<firstKept] { scores[i] = -.infinity }
        return true
    }
}

/// The reference's per-task sampler pairs (`MimoAudio.task_sampler_configs`; docs/model.md §5).
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
