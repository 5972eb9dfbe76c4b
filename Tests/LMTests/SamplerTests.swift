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
        let logits: [Float] = [0, log(3)]   // probabilities 1/4, 3/4
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42)
        let first = (0..<200).map { _ in s.sample(logits, using: &a) }
        XCTAssertEqual(first, (0..<200).map { _ in s.sample(logits, using: &b) }, "same seed, same draws")
        var rng = SeededGenerator(seed: 7)
        let ones = (0..<20000).map { _ in s.sample(logits, using: &rng) }.filter { $0 == 1 }.count
        // Binomial(20000, 0.75): standard deviation ≈ 61; 5σ.
        XCTAssertEqual(Double(ones), 15000, accuracy: 306)
    }
}
