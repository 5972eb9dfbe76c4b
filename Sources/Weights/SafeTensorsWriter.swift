import Foundation
import JSON

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Builds a `.safetensors` file in memory and writes it out.
///
/// Layout follows the Hugging Face writer: `__metadata__` first, then tensor entries with keys
/// in sorted order, the header padded with spaces so the data section starts 8-byte aligned,
/// and tensors laid out contiguously by decreasing element size (then name) so that every
/// tensor is aligned to its element size without gaps (the reference reader rejects gaps).
public struct SafeTensorsWriter: Sendable {
    private struct PendingTensor: Sendable {
        let dtype: DType
        let shape: [Int]
        let data: Data
    }

    public var metadata: [String: String] = [:]
    private var tensors: [String: PendingTensor] = [:]

    public init() {}

    public var names: [String] { tensors.keys.sorted() }

    /// Adds raw little-endian element bytes; their count must match shape and dtype.
    public mutating func add(_ name: String, dtype: DType, shape: [Int], bytes: Data) throws {
        guard !name.isEmpty, name != SafeTensorsHeader.metadataKey else {
            throw WeightsError.invalidTensorForWriting(tensor: name, reason: "reserved or empty name")
        }
        guard tensors[name] == nil else {
            throw WeightsError.invalidTensorForWriting(tensor: name, reason: "added twice")
        }
        guard let expected = TensorShape.byteCount(shape, dtype) else {
            throw WeightsError.invalidTensorForWriting(
                tensor: name, reason: "shape \(TensorShape.describe(shape)) has a negative dimension or overflows")
        }
        guard expected == bytes.count else {
            throw WeightsError.invalidTensorForWriting(
                tensor: name,
                reason: "shape \(TensorShape.describe(shape)) as \(dtype.rawValue) needs \(expected) bytes, "
                    + "got \(bytes.count)")
        }
        tensors[name] = PendingTensor(dtype: dtype, shape: shape, data: bytes)
    }

    /// Adds floats stored as F32, F64, F16 or BF16 (both halves round to nearest even).
    public mutating func add(_ name: String, floats: [Float], shape: [Int], as dtype: DType = .f32) throws {
        let encoded: [UInt8]
        switch dtype {
        case .f32: encoded = ElementEncoding.littleEndianBytes(floats.map(\.bitPattern))
        case .f64: encoded = ElementEncoding.littleEndianBytes(floats.map { Double($0).bitPattern })
        case .f16: encoded = ElementEncoding.littleEndianBytes(floats.map(ElementEncoding.float16Bits))
        case .bf16: encoded = ElementEncoding.littleEndianBytes(floats.map(ElementEncoding.bfloat16Bits))
        default:
            throw WeightsError.invalidTensorForWriting(tensor: name, reason: "cannot store floats as \(dtype.rawValue)")
        }
        try add(name, dtype: dtype, shape: shape, bytes: Data(encoded))
    }

    /// Adds integers stored as I64, I32, I16, I8 or U8; values must fit the chosen dtype.
    public mutating func add(_ name: String, int64s: [Int64], shape: [Int], as dtype: DType = .i64) throws {
        func narrowed<T: FixedWidthInteger>(_ type: T.Type) throws -> [T] {
            try int64s.map { value in
                guard let narrow = T(exactly: value) else {
                    throw WeightsError.invalidTensorForWriting(
                        tensor: name, reason: "value \(value) does not fit \(dtype.rawValue)")
                }
                return narrow
            }
        }
        let encoded: [UInt8]
        switch dtype {
        case .i64: encoded = ElementEncoding.littleEndianBytes(int64s)
        case .i32: encoded = ElementEncoding.littleEndianBytes(try narrowed(Int32.self))
        case .i16: encoded = ElementEncoding.littleEndianBytes(try narrowed(Int16.self))
        case .i8: encoded = ElementEncoding.littleEndianBytes(try narrowed(Int8.self))
        case .u8: encoded = ElementEncoding.littleEndianBytes(try narrowed(UInt8.self))
        default:
            throw WeightsError.invalidTensorForWriting(
                tensor: name, reason: "cannot store integers as \(dtype.rawValue)")
        }
        try add(name, dtype: dtype, shape: shape, bytes: Data(encoded))
    }

    /// The complete file contents.
    public func serialized() -> Data {
        let (header, order) = encodeHeader()
        var output = Data(capacity: header.count + order.reduce(0) { $0 + $1.data.count })
        output.append(header)
        for tensor in order {
            output.append(tensor.data)
        }
        return output
    }

    /// Writes to a temporary sibling file and renames it into place, so a crash never leaves
    /// a truncated checkpoint under the final name.
    public func write(to url: URL) throws {
        let path = url.path
        let temporaryPath = path + ".partial"
        let (header, order) = encodeHeader()
        guard FileManager.default.createFile(atPath: temporaryPath, contents: nil) else {
            throw WeightsError.cannotWrite(path: temporaryPath, reason: "cannot create file")
        }
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporaryPath))
            do {
                try handle.write(contentsOf: header)
                for tensor in order {
                    try handle.write(contentsOf: tensor.data)
                }
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            guard rename(temporaryPath, path) == 0 else {
                throw WeightsError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
            }
        } catch let error as WeightsError {
            try? FileManager.default.removeItem(atPath: temporaryPath)
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: temporaryPath)
            throw WeightsError.cannotWrite(path: path, reason: error.localizedDescription)
        }
    }

    /// The length-prefixed, padded header and the tensors in data-section order.
    private func encodeHeader() -> (header: Data, order: [PendingTensor]) {
        let layout = tensors.sorted { lhs, rhs in
            lhs.value.dtype.byteSize != rhs.value.dtype.byteSize
                ? lhs.value.dtype.byteSize > rhs.value.dtype.byteSize
                : lhs.key < rhs.key
        }
        var entries: [String: JSONValue] = [:]
        var offset = 0
        for (name, tensor) in layout {
            let end = offset + tensor.data.count
            entries[name] = .object([
                "dtype": .string(tensor.dtype.rawValue),
                "shape": .array(tensor.shape.map { .int($0) }),
                "data_offsets": .array([.int(offset), .int(end)]),
            ])
            offset = end
        }

        var json = "{"
        var members: [String] = []
        if !metadata.isEmpty {
            let metadataObject = JSONValue.object(metadata.mapValues { .string($0) })
            members.append(JSONValue.quoted(SafeTensorsHeader.metadataKey) + ":" + metadataObject.serialized())
        }
        for name in entries.keys.sorted() {
            guard let entry = entries[name] else { continue }
            members.append(JSONValue.quoted(name) + ":" + entry.serialized())
        }
        json += members.joined(separator: ",") + "}"

        var headerBytes = Array(json.utf8)
        while headerBytes.count % 8 != 0 {
            headerBytes.append(UInt8(ascii: " "))
        }
        var header = Data(ElementEncoding.littleEndianBytes([UInt64(headerBytes.count)]))
        header.append(contentsOf: headerBytes)
        return (header, layout.map(\.value))
    }
}
