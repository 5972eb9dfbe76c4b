import Foundation

/// `mimo-audio convert`: writes an LM checkpoint whose linear layers are block-quantized, with
/// self-describing metadata, so it loads memory-mapped with no conversion work.
public enum CheckpointConverter {
    public struct Report: Sendable {
        public var quantizedTensors: Int
        public var keptTensors: Int
        public var bytesWritten: Int
    }

    public static func convert(
        from input: URL, to output: URL, format: WeightFormat, compute: Compute,
        log: (String) -> Void
    ) throws -> Report {
        let config = try LMConfig(contentsOf: input.appendingPathComponent("config.json"))
        let checkpoint = try Checkpoint(directory: input)
        let source = QuantizingSource(UsageTrackingSource(checkpoint), format: format, compute: compute)
        log("quantizing the linear layers to \(format.rawValue)")
        // Binding the model is what tells linear weights from the rest.
        _ = try MiMoAudioLM(
            config: config, weights: source, specialTokens: try SpecialTokens(directory: input), compute: compute)
        let quantized = source.quantizedWeights

        var writer = SafeTensorsWriter()
        writer.metadata["format"] = "pt"
        writer.metadata["mimo_audio.weight_format"] = format.rawValue
        var kept = 0
        for name in checkpoint.names {
            if let q = quantized[name] {
                try addQuantized(q, name: name, to: &writer)
            } else {
                guard let info = checkpoint.info(name) else { continue }
                let bytes = try checkpoint.bytes(name)
                try writer.add(name, dtype: info.dtype, shape: info.shape, bytes: Data(bytes))
                kept += 1
            }
        }
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let target = output.appendingPathComponent("model.safetensors")
        // The writer's quantized bytes point into `quantized`, which must outlive the write.
        try withExtendedLifetime(quantized) { try writer.write(to: target) }
        // Config and tokenizer files travel along; the shard index is replaced by the single file.
        for file in try FileManager.default.contentsOfDirectory(atPath: input.path)
        where !file.hasSuffix(".safetensors") && file != Checkpoint.indexFileName {
            let from = input.appendingPathComponent(file)
            let to = output.appendingPathComponent(file)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: from.path, isDirectory: &isDirectory), !isDirectory.boolValue
            else { continue }
            try? FileManager.default.removeItem(at: to)
            // The file itself, not a symlink to it: a hub snapshot's files are relative links
            // into its blobs, which would dangle anywhere else.
            try FileManager.default.copyItem(at: from.resolvingSymlinksInPath(), to: to)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: target.path)[.size] as? Int) ?? 0
        return Report(quantizedTensors: quantized.count, keptTensors: kept, bytesWritten: size)
    }

    /// A quantized weight as its `U8` rows plus the metadata naming its layout. The bytes are
    /// not copied: `q` must stay alive until the writer has written.
    public static func addQuantized(_ q: WeightMatrix, name: String, to writer: inout SafeTensorsWriter) throws {
        let bytes = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: q.base), count: q.byteCount, deallocator: .none)
        try writer.add(name, dtype: .u8, shape: [q.rows, q.format.rowBytes(cols: q.cols)], bytes: bytes)
        writer.metadata[Quantization.metadataKey(name)] = Quantization.metadataValue(format: q.format, cols: q.cols)
    }
}
