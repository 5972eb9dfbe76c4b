import JSON

/// Parsing and validation of the safetensors header:
/// `u64 little-endian N`, then N bytes of UTF-8 JSON, then the data section.
///
/// Everything here treats the file as hostile: after `parse` succeeds every tensor's byte
/// range lies inside the file and matches its shape and dtype, so later reads need no checks.
struct SafeTensorsHeader {
    struct Entry {
        let info: TensorInfo
        /// Offset of the tensor's first byte from the start of the file.
        let fileOffset: Int
    }

    /// Same cap as the reference implementation; anything larger is a corrupt or hostile file.
    static let maximumLength: UInt64 = 100 * 1024 * 1024
    static let metadataKey = "__metadata__"

    let metadata: [String: String]
    let entries: [String: Entry]

    static func parse(_ file: UnsafeRawBufferPointer, path: String) throws -> SafeTensorsHeader {
        guard file.count >= 8 else {
            throw WeightsError.truncatedHeader(path: path, fileSize: file.count, declaredLength: nil)
        }
        let declared = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
        guard declared <= maximumLength else {
            throw WeightsError.headerTooLarge(path: path, declared: declared)
        }
        // Cannot overflow: declared is at most 100 MiB.
        let headerLength = Int(declared)
        guard headerLength <= file.count - 8 else {
            throw WeightsError.truncatedHeader(path: path, fileSize: file.count, declaredLength: declared)
        }
        let dataStart = 8 + headerLength
        let dataSize = file.count - dataStart

        let json: JSONValue
        do {
            json = try JSONParser.parse(Array(file[8..<dataStart]))
        } catch {
            throw WeightsError.invalidHeaderJSON(path: path, reason: error.description)
        }
        guard case .object(let members) = json else {
            throw WeightsError.invalidHeaderJSON(path: path, reason: "top level is \(json.typeName), not an object")
        }

        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        // Sorted so that a file with several problems always reports the same one first.
        for name in members.keys.sorted() {
            guard let value = members[name] else { continue }
            if name == metadataKey {
                metadata = try parseMetadata(value, path: path)
                continue
            }
            let entry = try parseEntry(name: name, value: value, dataSize: dataSize, path: path)
            entries[name] = Entry(info: entry.info, fileOffset: dataStart + entry.begin)
        }
        // Two tensors sharing bytes is a corrupt (or hostile) file: writing one would change the other.
        let spans = entries.filter { $0.value.info.byteCount > 0 }
            .map { (name: $0.key, begin: $0.value.fileOffset, end: $0.value.fileOffset + $0.value.info.byteCount) }
            .sorted { ($0.begin, $0.name) < ($1.begin, $1.name) }
        for (a, b) in zip(spans, spans.dropFirst()) where b.begin < a.end {
            throw WeightsError.overlappingTensors(first: a.name, second: b.name, path: path)
        }
        return SafeTensorsHeader(metadata: metadata, entries: entries)
    }

    private static func parseMetadata(_ value: JSONValue, path: String) throws -> [String: String] {
        switch value {
        case .null:
            return [:]
        case .object(let members):
            var metadata: [String: String] = [:]
            for (key, member) in members {
                guard case .string(let text) = member else {
                    throw WeightsError.invalidHeaderJSON(
                        path: path, reason: "\(metadataKey) value for '\(key)' is \(member.typeName), not a string")
                }
                metadata[key] = text
            }
            return metadata
        default:
            throw WeightsError.invalidHeaderJSON(
                path: path, reason: "\(metadataKey) is \(value.typeName), not an object of strings")
        }
    }

    private static func parseEntry(
        name: String, value: JSONValue, dataSize: Int, path: String
    ) throws -> (info: TensorInfo, begin: Int) {
        func invalid(_ reason: String) -> WeightsError {
            .invalidHeaderJSON(path: path, reason: "tensor '\(name)': \(reason)")
        }
        guard case .object(let fields) = value else {
            throw invalid("entry is \(value.typeName), not an object")
        }

        guard case .string(let dtypeName)? = fields["dtype"] else {
            throw invalid("missing or non-string 'dtype'")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw WeightsError.unknownDType(tensor: name, dtype: dtypeName, path: path)
        }

        guard case .array(let shapeValues)? = fields["shape"] else {
            throw invalid("missing or non-array 'shape'")
        }
        var shape: [Int] = []
        for dimension in shapeValues {
            guard case .int(let size) = dimension, size >= 0 else {
                throw invalid("shape must contain non-negative integers")
            }
            shape.append(size)
        }

        guard case .array(let offsetValues)? = fields["data_offsets"], offsetValues.count == 2,
            case .int(let begin) = offsetValues[0], case .int(let end) = offsetValues[1],
            begin >= 0, end >= 0
        else {
            throw invalid("'data_offsets' must be two non-negative integers [begin, end]")
        }
        guard begin <= end, end <= dataSize else {
            throw WeightsError.offsetsOutOfRange(tensor: name, begin: begin, end: end, dataSize: dataSize, path: path)
        }

        guard let expected = TensorShape.byteCount(shape, dtype) else {
            throw WeightsError.shapeOverflow(tensor: name, shape: shape, path: path)
        }
        guard expected == end - begin else {
            throw WeightsError.sizeMismatch(tensor: name, expectedBytes: expected, actualBytes: end - begin, path: path)
        }
        return (TensorInfo(name: name, dtype: dtype, shape: shape, byteCount: expected), begin)
    }
}
