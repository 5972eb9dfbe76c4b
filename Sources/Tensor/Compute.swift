import CKernels
import Dispatch
import Foundation

/// How much of the machine a model may use. It sizes both BLAS's threads and the engine's own
/// parallel loops, which never run at the same time, so the cores are never oversubscribed.
public struct Compute: Sendable {
    public let threads: Int

    /// Sets the BLAS library's thread count (a process-wide setting of the library).
    public init(threads: Int? = nil) {
        let n = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        self.threads = n
        BLAS.setThreads(n)
    }

    /// One thread, no BLAS side effect: for work already inside a parallel loop.
    public static let serial = Compute(uncheckedThreads: 1)

    private init(uncheckedThreads: Int) { threads = uncheckedThreads }

    /// Runs `body` over `0..<count` split into at most `threads` contiguous chunks.
    public func parallelFor(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(threads, max(1, count / max(minChunk, 1)))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = count * c / chunks
            let hi = count * (c + 1) / chunks
            if lo < hi { body(lo..<hi) }
        }
    }
}

public enum Tuning {
    /// See `mk_keep_freed_memory`: for executables that run large models.
    public static func keepFreedMemory() { mk_keep_freed_memory() }
}

/// Wall-clock seconds since `start` (for timings and benchmarks).
public func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

/// The median of `xs` (0 for none).
public func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return 0 }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
