import Foundation

/// Bounds-checked little-endian reads over untrusted bytes: every accessor returns nil instead of
/// reading past the end, so malformed input can never fault.
struct LittleEndianBytes {
    let raw: UnsafeRawBufferPointer
    var count: Int { raw.count }

    init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }

    func has(_ length: Int, at offset: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= count && count - offset >= length
    }

    func uint16(at offset: Int) -> UInt16? {
        guard has(2, at: offset) else { return nil }
        return UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    func uint32(at offset: Int) -> UInt32? {
        guard has(4, at: offset) else { return nil }
        return UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    func bytes(at offset: Int, length: Int) -> [UInt8]? {
        guard has(length, at: offset) else { return nil }
        return Array(raw[offset..<(offset + length)])
    }

    /// A four-character code with non-printable bytes escaped, for error messages.
    func fourCC(at offset: Int) -> String? {
        guard let code = bytes(at: offset, length: 4) else { return nil }
        return code.map { (0x20...0x7E).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }
            .joined()
    }
}

/// The validated audio format from the `fmt ` chunk.
struct WAVFormat: Equatable {
    var sampleFormat: WAVFile.SampleFormat
    var channels: Int
    var sampleRate: Int
    var blockAlign: Int
}

/// Where the audio lives inside a RIFF/WAVE byte stream.
struct RIFFLayout {
    var format: WAVFormat
    var dataRange: Range<Int>

    /// Streaming writers (ffmpeg to a pipe, our own unfinalised WAVStreamWriter) cannot patch sizes and
    /// leave 0xFFFFFFFF; some leave 0 in both the RIFF and data sizes. Such a data chunk runs to the end
    /// of the input. Any other size is trusted and must be fully present.
    private static let unknownSize: UInt32 = 0xFFFF_FFFF

    static func parse(_ bytes: LittleEndianBytes) throws -> RIFFLayout {
        guard bytes.count > 0 else { throw WAVError.emptyInput }
        try checkMagic(bytes)
        guard let riffSize = bytes.uint32(at: 4), bytes.has(12, at: 0) else {
            throw WAVError.truncatedHeader(offset: 0)
        }
        guard bytes.fourCC(at: 8) == "WAVE" else { throw WAVError.notWAVE }

        var format: WAVFormat?
        var dataRange: Range<Int>?
        var offset = 12
        while offset < bytes.count, format == nil || dataRange == nil {
            guard let id = bytes.fourCC(at: offset), let declared = bytes.uint32(at: offset + 4) else {
                throw WAVError.truncatedHeader(offset: offset)
            }
            let bodyStart = offset + 8
            let available = bytes.count - bodyStart
            // Int(exactly:) keeps this trap-free even where Int is 32 bits; an unrepresentable size is
            // simply "larger than the input".
            let size = Int(exactly: declared) ?? Int.max
            switch id {
            case "fmt ":
                guard format == nil else { throw WAVError.duplicateChunk(id: id) }
                guard size <= available else {
                    throw WAVError.truncatedChunk(id: id, offset: offset, declaredSize: size, available: available)
                }
                format = try parseFormat(bytes, bodyStart: bodyStart, size: size)
            case "data":
                guard dataRange == nil else { throw WAVError.duplicateChunk(id: id) }
                let streamed = declared == unknownSize || (declared == 0 && (riffSize == 0 || riffSize == unknownSize))
                if streamed {
                    dataRange = bodyStart..<bytes.count
                    guard format != nil else { throw WAVError.missingFmtChunk }
                    continue  // the loop ends: both chunks are known
                } else {
                    guard size <= available else { throw WAVError.truncatedData(expected: size, got: available) }
                    dataRange = bodyStart..<(bodyStart + size)
                }
            default:
                guard size <= available else {
                    throw WAVError.truncatedChunk(id: id, offset: offset, declaredSize: size, available: available)
                }
            }
            // RIFF chunks are word aligned: an odd-sized body is followed by one pad byte.
            let (paddedSize, overflow) = size.addingReportingOverflow(size & 1)
            guard !overflow, paddedSize <= available else { break }
            offset = bodyStart + paddedSize
        }
        guard let format else { throw WAVError.missingFmtChunk }
        guard let dataRange else { throw WAVError.missingDataChunk }
        return RIFFLayout(format: format, dataRange: dataRange)
    }

    private static func checkMagic(_ bytes: LittleEndianBytes) throws {
        guard let magic = bytes.fourCC(at: 0) else {
            // Fewer than four bytes: a cut-off "RIFF" is a truncation, anything else is not a WAV.
            let riffPrefix = Array("RIFF".utf8).prefix(bytes.count)
            if let head = bytes.bytes(at: 0, length: bytes.count), head.elementsEqual(riffPrefix) {
                throw WAVError.truncatedHeader(offset: 0)
            }
            throw WAVError.notRIFF
        }
        switch magic {
        case "RIFF": return
        case "RIFX", "RF64", "BW64": throw WAVError.unsupportedContainer(magic)
        default: throw WAVError.notRIFF
        }
    }

    /// KSDATAFORMAT_SUBTYPE_* GUIDs share these 14 trailing bytes; the leading two hold the format tag.
    private static let extensibleGUIDTail: [UInt8] = [
        0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
    ]

    private static func parseFormat(_ bytes: LittleEndianBytes, bodyStart: Int, size: Int) throws -> WAVFormat {
        guard size >= 16,
            var tag = bytes.uint16(at: bodyStart),
            let channels = bytes.uint16(at: bodyStart + 2),
            let sampleRate = bytes.uint32(at: bodyStart + 4),
            let blockAlign = bytes.uint16(at: bodyStart + 12),
            let bits = bytes.uint16(at: bodyStart + 14)
        else { throw WAVError.invalidFmtChunk(size: size) }

        if tag == 0xFFFE {
            // WAVE_FORMAT_EXTENSIBLE: cbSize (2) + valid bits (2) + channel mask (4) + sub-format GUID (16).
            guard size >= 40, let extraSize = bytes.uint16(at: bodyStart + 16), extraSize >= 22,
                let guid = bytes.bytes(at: bodyStart + 24, length: 16)
            else { throw WAVError.invalidFmtChunk(size: size) }
            guard Array(guid[2...]) == extensibleGUIDTail else {
                throw WAVError.unsupportedExtensibleSubFormat(guid: guid.map { String(format: "%02x", $0) }.joined())
            }
            tag = UInt16(guid[0]) | UInt16(guid[1]) << 8
        }

        guard channels > 0 else { throw WAVError.zeroChannels }
        guard sampleRate > 0 else { throw WAVError.zeroSampleRate }
        let sampleFormat: WAVFile.SampleFormat
        switch (tag, bits) {
        case (1, 8): sampleFormat = .unsigned8
        case (1, 16): sampleFormat = .signed16
        case (1, 24): sampleFormat = .signed24
        case (1, 32): sampleFormat = .signed32
        case (3, 32): sampleFormat = .float32
        case (3, 64): sampleFormat = .float64
        default: throw WAVError.unsupportedFormat(tag: Int(tag), bitsPerSample: Int(bits))
        }
        // channels ≤ 65535 and ≤ 8 bytes per sample: no overflow possible.
        let expectedBlockAlign = Int(channels) * sampleFormat.bitsPerSample / 8
        guard Int(blockAlign) == expectedBlockAlign else {
            throw WAVError.blockAlignMismatch(declared: Int(blockAlign), expected: expectedBlockAlign)
        }
        return WAVFormat(
            sampleFormat: sampleFormat,
            channels: Int(channels),
            sampleRate: Int(exactly: sampleRate) ?? Int.max,
            blockAlign: expectedBlockAlign
        )
    }
}
