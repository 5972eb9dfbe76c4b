import CKernels
import Dispatch

/// The machine's memory read bandwidth as the engine's threads see it, so benchmarks can state
/// what share of it a memory-bound step achieves (shared hosts swing by ±30 %, so it is
/// measured in the same process, next to the figure it is compared with).
public enum MemoryBandwidth {
    /// Median GB/s of `passes` parallel read passes over a buffer far larger than the caches.
    public static func measureRead(megabytes: Int = 512, passes: Int = 5, compute: Compute) -> Double {
        let words = megabytes << 17  // 8-byte words
        // Allocated as weights are (huge pages where allowed), so the figure is decode's roofline.
        guard let raw = mk_alloc_streamed(words * 8) else { return 0 }
        defer { mk_free_streamed(raw) }
        let buffer = raw.bindMemory(to: UInt64.self, capacity: words)
        compute.parallelFor(words, minChunk: 1 << 16) { r in
            (buffer + r.lowerBound).initialize(repeating: 1, count: r.count)
        }
        var rates: [Double] = []
        for _ in 0..<passes {
            let start = DispatchTime.now()
            compute.parallelFor(words, minChunk: 1 << 16) { r in
                // An opaque C call: its read cannot be optimised away.
                _ = mk_read_sum(buffer + r.lowerBound, r.count)
            }
            rates.append(Double(words * 8) / seconds(since: start) / 1e9)
        }
        return median(rates)
    }
}
