import Foundation

/// A memory-mapped, fully validated `.safetensors` file.
///
/// Immutable after `init`, hence safe to share across tasks. Buffers handed out by
/// `bytes(_:)` point into the mapping and stay valid as long as this object is alive.
public final class SafeTensorsFile: @unchecked Sendable {
    public let url: URL
    /// The optional `__metadata__` object of the header.
    public let metadata: [String: String]
    /// Tensor names in sorted order.
    public let names: [String]

    /// The file's bytes, and what keeps them alive (the mapping; nil for bytes that live as
    /// long as the program).
    private let file: UnsafeRawBufferPointer
    private let mapping: MappedFile?
    private let entries: [String: SafeTensorsHeader.Entry]

    public convenience init(url: URL) throws {
        let mapping = try MappedFile(path: url.path)
        try self.init(url: url, path: url.path, file: mapping.bytes, mapping: mapping)
    }

    /// A safetensors image compiled into the program (`name` stands for its path in errors).
    public convenience init(programBytes: UnsafeRawBufferPointer, name: String) throws {
        try self.init(url: URL(fileURLWithPath: name), path: name, file: programBytes, mapping: nil)
    }

    private init(url: URL, path: String, file: UnsafeRawBufferPointer, mapping: MappedFile?) throws {
        (self.url, self.file, self.mapping) = (url, file, mapping)
        let header = try SafeTensorsHeader.parse(file, path: path)
        metadata = header.metadata
        entries = header.entries
        names = header.entries.keys.sorted()
    }

    public var path: String { url.path }

    public func contains(_ name: String) -> Bool {
        entries[name] != nil
    }

    public func info(_ name: String) -> TensorInfo? {
        entries[name]?.info
    }

    /// The tensor's raw little-endian bytes, valid for the lifetime of this object.
    /// The start address may be misaligned for the element type.
    public func bytes(_ name: String) throws -> UnsafeRawBufferPointer {
        rawBytes(try entry(name))
    }

    public func withBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try body(bytes(name))
    }

    /// The tensor converted to `Float`; accepts F32, BF16, F16 and F64.
    public func floats(_ name: String) throws -> [Float] {
        let entry = try entry(name)
        guard let values = TensorDecoding.floats(rawBytes(entry), dtype: entry.info.dtype) else {
            throw WeightsError.dtypeNotSupported(tensor: name, dtype: entry.info.dtype, wanted: "Float")
        }
        return values
    }

    /// The tensor converted to `Int64`; accepts I64, I32, I16, I8, U32, U16, U8 and BOOL.
    public func int64s(_ name: String) throws -> [Int64] {
        let entry = try entry(name)
        guard let values = TensorDecoding.int64s(rawBytes(entry), dtype: entry.info.dtype) else {
            throw WeightsError.dtypeNotSupported(tensor: name, dtype: entry.info.dtype, wanted: "Int64")
        }
        return values
    }

    /// The tensor's info, after checking that it exists and has exactly `shape`.
    public func require(_ name: String, shape: [Int]) throws -> TensorInfo {
        let info = try entry(name).info
        guard info.shape == shape else {
            throw WeightsError.shapeMismatch(name: name, expected: shape, found: info.shape)
        }
        return info
    }

    private func entry(_ name: String) throws -> SafeTensorsHeader.Entry {
        guard let entry = entries[name] else {
            throw WeightsError.missingTensor(name: name, in: path)
        }
        return entry
    }

    private func rawBytes(_ entry: SafeTensorsHeader.Entry) -> UnsafeRawBufferPointer {
        // The header parser guaranteed this range lies inside the mapping.
        UnsafeRawBufferPointer(rebasing: file[entry.fileOffset..<entry.fileOffset + entry.info.byteCount])
    }
}
