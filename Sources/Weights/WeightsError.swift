import Foundation

/// Everything that can go wrong while opening, validating or writing weight files.
///
/// Messages are meant to be shown verbatim to CLI users, so each names the file and,
/// where there is one, the tensor.
public enum WeightsError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    case cannotOpen(path: String, reason: String)
    /// `declaredLength` is nil when the file is too short to even hold the length prefix.
    case truncatedHeader(path: String, fileSize: Int, declaredLength: UInt64?)
    case headerTooLarge(path: String, declared: UInt64)
    case invalidHeaderJSON(path: String, reason: String)
    case unknownDType(tensor: String, dtype: String, path: String)
    case offsetsOutOfRange(tensor: String, begin: Int, end: Int, dataSize: Int, path: String)
    case shapeOverflow(tensor: String, shape: [Int], path: String)
    case sizeMismatch(tensor: String, expectedBytes: Int, actualBytes: Int, path: String)
    case overlappingTensors(first: String, second: String, path: String)
    case alreadyQuantized(tensor: String, stored: String, requested: String)
    case missingTensor(name: String, in: String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    case dtypeNotSupported(tensor: String, dtype: DType, wanted: String)
    case invalidIndex(path: String, reason: String)
    case noCheckpoint(directory: String, lookedFor: [String])
    case invalidTensorForWriting(tensor: String, reason: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "weights file not found: \(path)"
        case .cannotOpen(let path, let reason):
            return "cannot open weights file \(path): \(reason)"
        case .truncatedHeader(let path, let fileSize, nil):
            return "\(path) is not a safetensors file: only \(fileSize) bytes, "
                + "too short for the 8-byte header length"
        case .truncatedHeader(let path, let fileSize, .some(let declared)):
            return "\(path) is truncated or not a safetensors file: header declares \(declared) bytes "
                + "but the file has only \(fileSize) bytes"
        case .headerTooLarge(let path, let declared):
            return "\(path) is not a safetensors file: declared header length \(declared) bytes "
                + "exceeds the 100 MiB limit"
        case .invalidHeaderJSON(let path, let reason):
            return "invalid safetensors header in \(path): \(reason)"
        case .unknownDType(let tensor, let dtype, let path):
            return "tensor '\(tensor)' in \(path) has unknown dtype '\(dtype)'"
        case .offsetsOutOfRange(let tensor, let begin, let end, let dataSize, let path):
            if begin > end {
                return "tensor '\(tensor)' in \(path) has data_offsets [\(begin), \(end)] with begin after end"
            }
            return "tensor '\(tensor)' in \(path) has data_offsets [\(begin), \(end)] "
                + "past the end of the \(dataSize)-byte data section (file truncated?)"
        case .shapeOverflow(let tensor, let shape, let path):
            return "tensor '\(tensor)' in \(path) has shape \(TensorShape.describe(shape)) "
                + "whose byte size overflows"
        case .alreadyQuantized(let tensor, let stored, let requested):
            return
                "the checkpoint is already quantized (\(tensor) is \(stored)); it cannot be quantized to \(requested): "
                + "load it without --quantize, or convert the original weights"
        case .overlappingTensors(let first, let second, let path):
            return "tensors '\(first)' and '\(second)' in \(path) have overlapping data_offsets"
        case .sizeMismatch(let tensor, let expectedBytes, let actualBytes, let path):
            return "tensor '\(tensor)' in \(path) needs \(expectedBytes) bytes for its shape and dtype "
                + "but its data_offsets span \(actualBytes) bytes"
        case .missingTensor(let name, let file):
            return "tensor '\(name)' not found in \(file)"
        case .shapeMismatch(let name, let expected, let found):
            return "tensor '\(name)' has shape \(TensorShape.describe(found)), "
                + "expected \(TensorShape.describe(expected))"
        case .dtypeNotSupported(let tensor, let dtype, let wanted):
            return "tensor '\(tensor)' has dtype \(dtype.rawValue), which cannot be read as \(wanted)"
        case .invalidIndex(let path, let reason):
            return "invalid checkpoint index \(path): \(reason)"
        case .noCheckpoint(let directory, let lookedFor):
            return "no checkpoint in \(directory): looked for "
                + lookedFor.joined(separator: " and ")
        case .invalidTensorForWriting(let tensor, let reason):
            return "cannot write tensor '\(tensor)': \(reason)"
        case .cannotWrite(let path, let reason):
            return "cannot write \(path): \(reason)"
        }
    }
}

// Foundation's `localizedDescription` otherwise prints an opaque "error N" on Linux.
extension WeightsError: LocalizedError {
    public var errorDescription: String? { description }
}
