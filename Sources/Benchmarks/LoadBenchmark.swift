import Foundation
import MiMoAudio

#if canImport(Glibc)
    import Glibc
#endif

/// How long a converted (quantized) MiMo-Audio-7B checkpoint takes to load: writes one at the
/// real sizes from synthesised weights, then times opening it (mmap, header and config) and the
/// first decode steps, which fault the weights in.
public struct LoadBenchmark {
    public struct Result: Sendable {
        public var format: String
        public var fileBytes: Int
        public var writeSeconds: Double
        /// Whether the page cache was dropped before loading (needs root); otherwise the file is
        /// in memory from having just been written.
        public var cold: Bool
        public var loadSeconds: Double
        /// The first decode step after loading (it touches every weight once), and the median
        /// of the steps after it.
        public var firstStepSeconds: Double
        public var laterStepSeconds: Double
    }

    /// Every tensor a model binds, as bound, so a synthesised model can be written out.
    final class RecordingSource: WeightSource, @unchecked Sendable {
        let base: any WeightSource & Sendable
        private let lock = NSLock()
        private(set) var tensors: [String: (shape: [Int], weight: WeightMatrix)] = [:]

        init(_ base: any WeightSource & Sendable) { self.base = base }

        func weight(_ name: String, shape: [Int]) throws -> WeightMatrix {
            record(name, shape, try base.weight(name, shape: shape))
        }
        func linearWeight(_ name: String, shape: [Int]) throws -> WeightMatrix {
            record(name, shape, try base.linearWeight(name, shape: shape))
        }

        private func record(_ name: String, _ shape: [Int], _ w: WeightMatrix) -> WeightMatrix {
            lock.lock()
            tensors[name] = (shape, w)
            lock.unlock()
            return w
        }
    }

    public static func run(
        format: WeightFormat, directory: URL, decodeSteps: Int = 5, compute: Compute, log: (String) -> Void
    ) throws -> Result {
        precondition(decodeSteps >= 2)
        precondition(format.isQuantized)
        let config = try LMBenchmark.releasedConfig()
        let file = directory.appendingPathComponent("model.safetensors")
        var start = DispatchTime.now()
        log("synthesising MiMo-Audio-7B (\(format.rawValue) random weights) and writing \(file.path)")
        try writeConverted(
            from: RandomWeights(dtype: .bf16), config: config, configJSON: Data(LMBenchmark.releasedConfigJSON.utf8),
            specialTokens: LMBenchmark.releasedSpecialTokens, format: format, to: directory, compute: compute)
        let writeSeconds = seconds(since: start)
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
        log(String(format: "wrote %.2f GB in %.1f s", Double(fileBytes) / 1e9, writeSeconds))

        let cold = dropPageCache()
        log(cold ? "page cache dropped: loading cold" : "cannot drop the page cache (needs root): loading warm")
        start = DispatchTime.now()
        let model = try MiMoAudioLM(
            config: try LMConfig(contentsOf: directory.appendingPathComponent("config.json")),
            directory: directory, specialTokens: LMBenchmark.releasedSpecialTokens, compute: compute,
            kvPrecision: .f16)
        let load = seconds(since: start)
        log(String(format: "loaded in %.2f s", load))
        let cache = model.makeBackboneCache()
        var steps: [Double] = []
        for step in 0..<decodeSteps {
            start = DispatchTime.now()
            let grid = TokenGrid(
                rows: [Array(repeating: 1000 + step, count: config.groupSize)]
                    + config.speechEmptyIDs.map { Array(repeating: $0, count: config.groupSize) })
            _ = model.textLogits(model.backboneForward(model.embed(grid), cache: cache))
            steps.append(seconds(since: start))
            log(String(format: "decode step %d: %.2f s", step + 1, steps[step]))
        }
        return Result(
            format: format.rawValue, fileBytes: fileBytes, writeSeconds: writeSeconds, cold: cold, loadSeconds: load,
            firstStepSeconds: steps[0], laterStepSeconds: median(Array(steps.dropFirst())))
    }

    /// Binds a model from `base` with its linear layers quantized to `format`, and writes every
    /// tensor it bound, as bound, to `directory/model.safetensors` (the layout `convert` writes)
    /// next to `configJSON` as config.json.
    static func writeConverted(
        from base: any WeightSource & Sendable, config: LMConfig, configJSON: Data,
        specialTokens: SpecialTokens, format: WeightFormat, to directory: URL, compute: Compute
    ) throws {
        let source = RecordingSource(QuantizingSource(base, format: format, compute: compute))
        _ = try MiMoAudioLM(config: config, weights: source, specialTokens: specialTokens, compute: compute)
        var writer = SafeTensorsWriter()
        writer.metadata["format"] = "pt"
        writer.metadata["mimo_audio.weight_format"] = format.rawValue
        for (name, t) in source.tensors {
            if t.weight.format.isQuantized {
                try CheckpointConverter.addQuantized(t.weight, name: name, to: &writer)
            } else {
                let dtype: DType =
                    switch t.weight.format {
                    case .f32: .f32
                    case .f16: .f16
                    default: .bf16
                    }
                let bytes = Data(
                    bytesNoCopy: UnsafeMutableRawPointer(mutating: t.weight.base), count: t.weight.byteCount,
                    deallocator: .none)
                try writer.add(name, dtype: dtype, shape: t.shape, bytes: bytes)
            }
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // The writer's bytes point into the recorded weights, which must outlive the write.
        try withExtendedLifetime(source) { try writer.write(to: directory.appendingPathComponent("model.safetensors")) }
        try configJSON.write(to: directory.appendingPathComponent("config.json"))
    }

    /// Flushes dirty pages and asks the kernel to drop clean ones; false without the right to.
    static func dropPageCache() -> Bool {
        sync()
        guard let handle = FileHandle(forWritingAtPath: "/proc/sys/vm/drop_caches") else { return false }
        defer { try? handle.close() }
        do { try handle.write(contentsOf: Data("3\n".utf8)) } catch { return false }
        return true
    }
}
