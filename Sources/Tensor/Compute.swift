import CKernels
import Dispatch
import Foundation

/// The worker threads of a `Compute`: created once, joined when the last copy goes away.
final class WorkerPool: @unchecked Sendable {
    let pool: OpaquePointer?

    init(threads: Int) { pool = threads > 1 ? mk_pool_create(Int32(threads)) : nil }

    deinit { if let pool { mk_pool_destroy(pool) } }
}

/// How much of the machine a model may use: the engine's own persistent worker pool. BLAS's
/// threads are a process-wide setting made once by the executor (`BLAS.configure`) to the same
/// count; the two never run at the same time, so the cores are never oversubscribed.
public struct Compute: Sendable {
    public let threads: Int
    public let precision: Precision
    private let workers: WorkerPool?

    /// How bf16 weights multiply many activation rows (prompts, the codec). Quantized weights
    /// always use their integer kernels; f32 weights always use sgemm.
    public enum Precision: String, Sendable, CaseIterable {
        /// Widen the weights to f32 for sgemm: the reference's numerics on f32 activations.
        case exact
        /// bf16 dot products of bf16-rounded activations (AVX512_BF16 `vdpbf16ps`, ~2× sgemm):
        /// the arithmetic of the reference's own bf16 run. CPUs without bf16 dot products run
        /// the exact path, which is faster there.
        case fast
    }

    /// Starts `threads − 1` workers (the calling thread is the last).
    public init(threads: Int? = nil, precision: Precision = .exact) {
        let n = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        self.threads = n
        self.precision = precision
        workers = n > 1 ? WorkerPool(threads: n) : nil
    }

    /// One thread: for work already inside a parallel loop.
    public static let serial = Compute(uncheckedThreads: 1)

    private init(uncheckedThreads: Int) {
        threads = uncheckedThreads
        precision = .exact
        workers = nil
    }

    /// Runs `body` over `0..<count` split into at most `threads · chunksPerThread` contiguous
    /// chunks, which the threads take in turn as they finish their previous one: more chunks per
    /// thread balance the load when a core is slowed (a shared host's hypervisor steals time from
    /// one vCPU at a time), at the cost of a few more hand-offs.
    public func parallelFor(_ count: Int, minChunk: Int = 1, chunksPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(threads * max(chunksPerThread, 1), max(1, count / max(minChunk, 1)))
        guard chunks > 1, let pool = workers?.pool else {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            var job = Job(count: count, chunks: chunks, body: body)
            withUnsafeMutablePointer(to: &job) { p in
                mk_pool_run(
                    pool,
                    { raw, c in
                        let job = raw!.assumingMemoryBound(to: Job.self).pointee
                        let lo = job.count * c / job.chunks
                        let hi = job.count * (c + 1) / job.chunks
                        if lo < hi { job.body(lo..<hi) }
                    }, p, chunks)
            }
        }
    }

    private struct Job {
        let count: Int
        let chunks: Int
        let body: (Range<Int>) -> Void
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
