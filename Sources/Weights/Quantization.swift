import Foundation
import Tensor

/// Block-quantized checkpoints. A converted safetensors file stores each quantized weight as a
/// `U8` tensor `[rows, rowBytes]` (the blocks, exactly as the kernels read them) and names its
/// format and column count in the header metadata, so it loads by memory-mapping alone.
public enum Quantization {
    /// Header metadata key holding the format of `tensor` ("q8_0:4096:rows2" = q8_0, 4096 columns,
    /// the row layout of ckernels.h).
    public static func metadataKey(_ tensor: String) -> String { "mimo_audio.quant." + tensor }

    /// The stored layout's version: files of another layout are refused, not misread.
    static let layout = "rows2"

    public static func metadataValue(format: WeightFormat, cols: Int) -> String {
        "\(format.rawValue):\(cols):\(layout)"
    }

    static func parse(_ value: String) -> (WeightFormat, Int)? {
        let parts = value.split(separator: ":")
        guard parts.count == 3, parts[2] == layout, let format = WeightFormat(rawValue: String(parts[0])),
            format.isQuantized,
            let cols = Int(parts[1]), cols > 0, cols % 32 == 0
        else { return nil }
        return (format, cols)
    }
}

public enum QuantizationError: Error, CustomStringConvertible, Equatable {
    case unsupportedFormat(String)
    case invalidMetadata(tensor: String, value: String)
    case shapeMismatch(tensor: String, expected: [Int], stored: String)

    public var description: String {
        switch self {
        case .unsupportedFormat(let f): return "unknown weight format '\(f)' (expected q8 or q4)"
        case .invalidMetadata(let tensor, let value):
            return
                "tensor '\(tensor)' has invalid quantization metadata '\(value)' (expected FORMAT:COLUMNS:\(Quantization.layout); "
                + "a checkpoint converted by an older version must be converted again)"
        case .shapeMismatch(let tensor, let expected, let stored):
            return "quantized tensor '\(tensor)' holds \(stored), expected shape \(expected)"
        }
    }
}

extension WeightFormat {
    /// `q8` / `q4` as the command line spells them.
    public init(quantizationName name: String) throws {
        switch name.lowercased() {
        case "q8", "q8_0": self = .q8_0
        case "q4", "q4_0": self = .q4_0
        default: throw QuantizationError.unsupportedFormat(name)
        }
    }
}

/// Quantizes the linear-layer weights of another source as the model binds them (`--quantize`),
/// and remembers them so `convert` can write them out. Other tensors (embeddings, norms,
/// convolutions) pass through in their stored dtype.
public final class QuantizingSource: WeightSource, @unchecked Sendable {
    public let base: any WeightSource & Sendable
    public let format: WeightFormat
    public let activations: QuantizedActivations
    let compute: Compute
    private let lock = NSLock()
    private var converted: [String: WeightMatrix] = [:]

    public init(
        _ base: any WeightSource & Sendable, format: WeightFormat, activations: QuantizedActivations = .int16,
        compute: Compute
    ) {
        precondition(format.isQuantized)
        self.base = base
        self.format = format
        self.activations = activations
        self.compute = compute
    }

    public func weight(_ name: String, shape: [Int]) throws -> WeightMatrix {
        try base.weight(name, shape: shape)
    }

    public func linearWeight(_ name: String, shape: [Int]) throws -> WeightMatrix {
        let w = try base.linearWeight(name, shape: shape)
        // A converted checkpoint in another format cannot be re-quantized without loss upon loss.
        if w.format.isQuantized && w.format != format {
            throw WeightsError.alreadyQuantized(tensor: name, stored: w.format.rawValue, requested: format.rawValue)
        }
        // Already in the format (a converted checkpoint), or rows that are not whole blocks: keep.
        guard !w.format.isQuantized, w.cols % 32 == 0 else { return w }
        let q = w.quantized(format, activations: activations, compute: compute)
        lock.lock()
        converted[name] = q
        lock.unlock()
        return q
    }

    /// The weights converted so far, by checkpoint name.
    public var quantizedWeights: [String: WeightMatrix] {
        lock.lock()
        defer { lock.unlock() }
        return converted
    }
}
