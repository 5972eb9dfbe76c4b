import MiMoAudio
import XCTest

final class SamplerTests: XCTestCase {
    func testGreedyPicksTheFirstMaximumAndHonoursRemovals() throws {
        var rng = SeededGenerator(seed: 1)
        let s = try Sampler(.greedy)
        XCTAssertEqual(s.sample([1, 3, 3, 2], using: &rng), 1)
        XCTAssertEqual(s.sample([1, 3, 3, 2], removing: [1], using: &rng), 2)
        // Only removed tokens left after filtering: fall back to the best token not removed.
        let topOne = try Sampler(SamplerSettings(doSample: false, topK: 1))
        XCTAssertEqual(topOne.sample([1, 5, 2], removing: [1], using: &rng), 2)
    }

    func testTopKKeepsTiesAndTopPKeepsTheSmallestNucleus() throws {
        let k2 = try Sampler(SamplerSettings(doSample: true, topK: 2))
        // Ties at the k-th value are all kept (scores < kth are removed).
        XCTAssertEqual(k2.filtered([1, 3, 2, 2], removing: []).map { $0.isFinite }, [false, true, true, true])
        let p = try Sampler(SamplerSettings(doSample: true, topP: 0.5))
        // Probabilities ∝ e^[0, 1, 3]: the largest alone is > 0.5, so only it survives.
        XCTAssertEqual(p.filtered([0, 1, 3], removing: []).map { $0.isFinite }, [false, false, true])
        // p = 1 removes nothing of positive probability.
        let p1 = try Sampler(SamplerSettings(doSample: true, topP: 1))
        XCTAssertEqual(p1.filtered([0, 1, 3], removing: []).map { $0.isFinite }, [true, true, true])
    }

    func testSamplingIsSeededAndFollowsTheDistribution() throws {
        let s = try Sampler(SamplerSettings(doSample: true, temperature: 1))
        let logits: [Float] = [0, log(3)]  // probabilities 1/4, 3/4
        var a = SeededGenerator(seed: 42)
        var b = SeededGenerator(seed: 42)
        let first = (0..<200).map { _ in s.sample(logits, using: &a) }
        XCTAssertEqual(first, (0..<200).map { _ in s.sample(logits, using: &b) }, "same seed, same draws")
        var rng = SeededGenerator(seed: 7)
        let ones = (0..<20000).map { _ in s.sample(logits, using: &rng) }.filter { $0 == 1 }.count
        // Binomial(20000, 0.75): standard deviation ≈ 61; 5σ.
        XCTAssertEqual(Double(ones), 15000, accuracy: 306)
    }

    /// `filtered` and `sample` against a verbatim copy of the full-sort implementation they replaced
    /// (`FullSortSampler` below), on random logits of the audio and text vocabulary sizes: equal bit
    /// patterns, equal tokens, equal RNG use. No tolerance anywhere.
    func testFilteringMatchesTheFullSortReference() throws {
        var rng = SeededGenerator(seed: 2024)
        func pick<T>(_ xs: [T]) -> T { xs[Int.random(in: 0..<xs.count, using: &rng)] }

        // Logit shapes: flat to very peaked, heavy ties, −inf entries, exps underflowing (spread
        // of thousands), all equal.
        func uniform() -> Float { Float(rng.next() >> 40) * 0x1p-24 }  // [0, 1), cheap in debug builds
        func logits(_ n: Int) -> [Float] {
            let width = pick([Float(0.01), 1, 8, 40, 2000])
            var xs = (0..<n).map { _ in (2 * uniform() - 1) * width }
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: xs = xs.map { ($0 / width * 4).rounded() / 2 }  // few distinct values
            case 1: for _ in 0..<3 { xs[Int.random(in: 0..<n, using: &rng)] += 25 }
            case 2: for i in xs.indices where uniform() < 0.3 { xs[i] = -.infinity }
            case 3: xs = [Float](repeating: 1.5, count: n)
            default: break
            }
            return xs
        }
        func settings(_ n: Int) -> SamplerSettings {
            SamplerSettings(
                doSample: Int.random(in: 0..<8, using: &rng) > 0,
                temperature: pick([nil, 0.3, 0.6, 0.9, 1.0, 1.5]),
                topK: pick([nil, nil, 1, 50, 300, n / 2, n + 5]),
                topP: pick([nil, 0.5, 0.95, 0.95, 1.0, Float.random(in: 0.01...1, using: &rng)]))
        }
        func removed(_ xs: [Float]) -> [Int] {
            pick([
                [], [Int.random(in: 0..<xs.count, using: &rng)],
                [xs.indices.max { xs[$0] < xs[$1] }!, xs.count + 3, -1],
            ])
        }

        var cases: [(logits: [Float], settings: SamplerSettings, removed: [Int])] = []
        for (n, count) in [(129, 50), (1025, 35)] {
            for _ in 0..<count {
                let xs = logits(n)
                cases.append((xs, settings(n), removed(xs)))
            }
        }
        // The text vocabulary with the reference's presets, on a flat-ish vector: most of it lies
        // below the top-p boundary. The full sorts are slow in debug builds, so p = 1 gets a rising
        // ramp (ties in fours) instead, which the reference's merge sort takes in one pass and which
        // makes the longest walk.
        let text = (0..<151_680).map { _ in (2 * uniform() - 1) * 8 }
        let ramp = (0..<151_680).map { Float($0 / 4) / 2370 - 8 }
        cases += [
            (text, SamplerSettings(doSample: true, temperature: 0.6, topP: 0.95), removed(text)),
            (ramp, SamplerSettings(doSample: true, temperature: 0.6, topP: 1.0), removed(ramp)),
            (text, SamplerSettings(doSample: true, temperature: 0.6, topK: 50, topP: 0.95), removed(text)),
        ]
        // Edge cases: the running sum crosses q within rounding (ties across the boundary: the exact
        // sum is 1/2, the reference's rounds above it); p so small that 1 − p rounds to 1; exps of 0
        // at p = 1, and subnormal ones (exp(−744.5) / 1025 rounds to 0, so the reference drops that
        // token, exp(−720) / 1025 does not); NaN and +inf (handled by the full sorts as before);
        // all −inf; a single token.
        let p1 = SamplerSettings(doSample: true, topP: 1.0)
        cases += [
            ([Float](repeating: 0, count: 1026), SamplerSettings(doSample: true, topP: 0.5), []),
            (logits(1025), SamplerSettings(doSample: true, topP: 1e-9), []),
            ([Float](repeating: 0, count: 1025) + [-800], p1, []),
            ([Float](repeating: 0, count: 1025) + [-720, -744.5, -800], p1, []),
            ([Float](repeating: 0, count: 3) + [-720, -744.5, -800], p1, []),
            ([1, .nan, 3, 2] + [Float](repeating: 0, count: 300), SamplerSettings.defaultText, []),
            ([1, .infinity, 3] + [Float](repeating: 0, count: 300), SamplerSettings(doSample: true, topP: 0.9), []),
            ([Float](repeating: -.infinity, count: 300), SamplerSettings(doSample: true, topK: 3, topP: 0.9), []),
            ([2], SamplerSettings.defaultText, []),
        ]

        for (c, (xs, settings, removed)) in cases.enumerated() {
            let sampler = try Sampler(settings)
            let reference = FullSortSampler(settings: settings)
            let got = sampler.filtered(xs, removing: removed)
            let want = reference.filtered(xs, removing: removed)
            let same = got.count == want.count && memcmp(got, want, got.count * MemoryLayout<Float>.size) == 0
            XCTAssertTrue(same, "case \(c) (n \(xs.count), \(settings)): filtered scores differ (bit for bit)")
            var a = SeededGenerator(seed: UInt64(c))
            var b = a
            XCTAssertEqual(
                sampler.sample(xs, removing: removed, using: &a),
                reference.pick(from: want, logits: xs, removing: removed, using: &b), "case \(c)")
            XCTAssertEqual(a.next(), b.next(), "case \(c): same random draws consumed")
        }
    }
}

/// The sampler as it was before top-k and top-p stopped sorting the whole vocabulary, verbatim:
/// the oracle for `testFilteringMatchesTheFullSortReference`.
private struct FullSortSampler {
    let settings: SamplerSettings

    func filtered(_ logits: [Float], removing removed: [Int]) -> [Float] {
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

    /// `sample`, given its first line's `filtered(logits, removing: removed)` so that the test
    /// filters once (the full sorts are slow in debug builds).
    func pick<G: RandomNumberGenerator>(
        from scores: [Float], logits: [Float], removing removed: [Int],
        using rng: inout G
    ) -> Int {
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

    static func argmax(_ xs: [Float]) -> Int? {
        var best: Int?
        for (i, x) in xs.enumerated() where !x.isNaN {
            if best == nil || x > xs[best!] { best = i }
        }
        return best
    }
}
