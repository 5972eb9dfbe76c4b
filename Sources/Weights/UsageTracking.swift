import Foundation
import Logging

/// Wraps a checkpoint and records which tensors a model bound, so the rest (MTP layers, RVQ
/// training buffers, the stored ISTFT window, ...) can be reported instead of silently kept.
public final class UsageTrackingSource: WeightSource, @unchecked Sendable {
    public let checkpoint: Checkpoint
    private let lock = NSLock()
    private var used: Set<String> = []

    public init(_ checkpoint: Checkpoint) { self.checkpoint = checkpoint }

    public func weight(_ name: String, shape: [Int]) throws -> WeightMatrix {
        lock.lock()
        used.insert(name)
        lock.unlock()
        return try checkpoint.weight(name, shape: shape)
    }

    /// Tensors of the checkpoint nothing asked for, sorted.
    public var unusedNames: [String] {
        lock.lock()
        defer { lock.unlock() }
        return checkpoint.unusedNames(given: used)
    }

    /// Lists the unused tensors at debug level (they are ignored, which is expected for
    /// training-only or auxiliary tensors).
    public func logUnused(_ logger: Logger, model: String) {
        let unused = unusedNames
        guard !unused.isEmpty else { return }
        logger.debug(
            "\(model): ignoring \(unused.count) unused tensor(s) in \(checkpoint.sourcePath): \(unused.joined(separator: ", "))"
        )
    }
}
