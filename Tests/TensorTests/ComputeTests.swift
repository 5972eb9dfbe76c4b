import Dispatch
import Tensor
import XCTest

/// The worker pool behind `Compute.parallelFor`: every index once, nested and concurrent loops.
final class ComputeTests: XCTestCase {
    func counts(_ compute: Compute, _ n: Int, minChunk: Int = 1) -> [Int] {
        let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(n, 1))
        defer { hits.deallocate() }
        hits.initialize(repeating: 0)
        compute.parallelFor(n, minChunk: minChunk) { r in for i in r { hits[i] += 1 } }
        return Array(hits.prefix(n))
    }

    func testEveryIndexRunsExactlyOnce() {
        for threads in [1, 2, 3, 8] {
            let compute = Compute(threads: threads)
            for n in [0, 1, 2, 7, 64, 1000] {
                XCTAssertEqual(
                    counts(compute, n, minChunk: 3), Array(repeating: 1, count: n), "\(threads) threads, \(n)")
            }
            // Many short loops back to back: the workers' spin-then-sleep hand-off.
            for _ in 0..<2000 { XCTAssertEqual(counts(compute, 5).reduce(0, +), 5) }
        }
    }

    /// Tiny loops back to back, as the patch decoder runs them: a worker still claiming work of a
    /// finished loop must never take (or run twice) a task of the next one. Each index counts
    /// its runs and the loop's caller checks them as soon as `parallelFor` returns.
    func testBackToBackTinyLoopsRunEachTaskOnceBeforeReturning() {
        for threads in [2, 3] {
            let compute = Compute(threads: threads)
            let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4)
            defer { hits.deallocate() }
            var bad = 0
            for iteration in 0..<150_000 {
                let n = 2 + iteration % 3
                hits.initialize(repeating: 0)
                compute.parallelFor(n) { r in for i in r { hits[i] += 1 } }
                if hits.prefix(n).contains(where: { $0 != 1 }) { bad += 1 }
            }
            XCTAssertEqual(bad, 0, "\(threads) threads")
        }
    }

    func testNestedLoopsRunInline() {
        let compute = Compute(threads: 2)
        let total = UnsafeMutableBufferPointer<Int>.allocate(capacity: 8)
        defer { total.deallocate() }
        total.initialize(repeating: 0)
        compute.parallelFor(8) { outer in
            for o in outer { compute.parallelFor(10) { inner in total[o] += inner.count } }
        }
        XCTAssertEqual(Array(total), Array(repeating: 10, count: 8))
    }

    func testLoopsFromSeveralThreadsAtOnce() {
        let compute = Compute(threads: 2)
        let results = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            var sum = 0
            for _ in 0..<200 { sum += counts(compute, 33).reduce(0, +) }
            results[t] = sum
        }
        XCTAssertEqual(Array(results), Array(repeating: 200 * 33, count: 4))
    }

    func testIdleWorkersSleepAndWakeUp() {
        let compute = Compute(threads: 2)
        XCTAssertEqual(counts(compute, 100).reduce(0, +), 100)
        Thread.sleep(forTimeInterval: 0.2)  // well past the spin window
        XCTAssertEqual(counts(compute, 100).reduce(0, +), 100)
    }
}
