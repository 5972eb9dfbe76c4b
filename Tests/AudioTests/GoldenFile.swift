import Foundation

/// Minimal test-only safetensors reader: 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets: [begin, end]}}`, then the raw little-endian tensor bytes.
struct GoldenFile {
    struct FormatError: Error, CustomStringConvertible {
        let description: String
    }

    private let data: Data
    private let header: [String: Any]
    private let dataStart: Int

    init(contentsOf url: URL) throws {
        data = try Data(contentsOf: url)
        guard data.count >= 8 else { throw FormatError(description: "\(url.lastPathComponent): shorter than 8 bytes") }
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard headerLength >= 0, headerLength <= data.count - 8,
            let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength)))
                as? [String: Any]
        else { throw FormatError(description: "\(url.lastPathComponent): bad header") }
        self.header = header
        dataStart = 8 + headerLength
    }

    func floats(_ name: String) throws -> [Float] {
        guard let entry = header[name] as? [String: Any],
            entry["dtype"] as? String == "F32",
            let offsets = entry["data_offsets"] as? [Int], offsets.count == 2,
            let shape = entry["shape"] as? [Int]
        else { throw FormatError(description: "no F32 tensor named \(name)") }
        let begin = dataStart + offsets[0]
        let end = dataStart + offsets[1]
        let count = shape.reduce(1, *)
        guard begin <= end, end <= data.count, end - begin == 4 * count else {
            throw FormatError(description: "\(name): data_offsets do not match shape \(shape)")
        }
        return data.subdata(in: begin..<end).withUnsafeBytes { raw in
            (0..<count).map {
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
            }
        }
    }
}
