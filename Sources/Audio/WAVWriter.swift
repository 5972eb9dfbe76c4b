import Foundation

/// Writes mono WAV files.
public enum WAVWriter {
    public enum SampleFormat: Sendable {
        /// 16-bit PCM (format tag 1).
        case s16
        /// 32-bit IEEE float (format tag 3) in a plain 16-byte `fmt ` chunk.
        case f32

        var bytesPerSample: Int {
            switch self {
            case .s16: return 2
            case .f32: return 4
            }
        }
    }

    static let headerSize = 44

    /// The complete file in memory. Throws for non-finite samples (NaN has no PCM meaning and would
    /// make the float file unreadable by `WAVReader`), an unusable sample rate, or more than 4 GiB of data.
    public static func encode(samples: [Float], sampleRate: Int, format: SampleFormat) throws -> Data {
        let dataSize = try checkedDataSize(sampleCount: samples.count, format: format)
        var data = header(
            sampleRate: try checkedSampleRate(sampleRate, format: format), format: format,
            dataSize: UInt32(dataSize))
        try appendSamples(samples, firstIndex: 0, format: format, to: &data)
        return data
    }

    public static func write(samples: [Float], sampleRate: Int, format: SampleFormat, to url: URL) throws {
        try FileOutput.write(try encode(samples: samples, sampleRate: sampleRate, format: format), to: url.path)
    }

    // MARK: - Shared with WAVStreamWriter

    static func checkedSampleRate(_ sampleRate: Int, format: SampleFormat) throws -> UInt32 {
        // The header also stores the byte rate, which must fit in 32 bits too.
        guard sampleRate > 0, let rate = UInt32(exactly: sampleRate),
            !rate.multipliedReportingOverflow(by: UInt32(format.bytesPerSample)).overflow
        else { throw WAVError.invalidSampleRate(sampleRate) }
        return rate
    }

    /// Byte count of `sampleCount` samples, guaranteed to fit the RIFF size field with the header.
    static func checkedDataSize(sampleCount: Int, format: SampleFormat) throws -> Int {
        let (bytes, overflow) = sampleCount.multipliedReportingOverflow(by: format.bytesPerSample)
        guard !overflow, bytes <= Int(UInt32.max) - (headerSize - 8) else {
            throw WAVError.tooLargeForWAV(byteCount: overflow ? Int.max : bytes)
        }
        return bytes
    }

    /// The header of a stream whose length is not known yet: 0xFFFFFFFF sizes, the convention of
    /// streaming writers, which `WAVReader`, ffmpeg and libsndfile read to the end of the data.
    static func streamingHeader(sampleRate: UInt32, format: SampleFormat) -> Data {
        var header = header(sampleRate: sampleRate, format: format, dataSize: 0)
        header.replaceSubrange(4..<8, with: [0xFF, 0xFF, 0xFF, 0xFF])
        header.replaceSubrange(40..<44, with: [0xFF, 0xFF, 0xFF, 0xFF])
        return header
    }

    static func header(sampleRate: UInt32, format: SampleFormat, dataSize: UInt32) -> Data {
        let blockAlign = UInt16(format.bytesPerSample)
        var header = Data(capacity: headerSize)
        header.append(contentsOf: Array("RIFF".utf8))
        header.appendLittleEndian(dataSize &+ UInt32(headerSize - 8))  // callers keep this below 2^32
        header.append(contentsOf: Array("WAVEfmt ".utf8))
        header.appendLittleEndian(UInt32(16))
        header.appendLittleEndian(UInt16(format == .s16 ? 1 : 3))
        header.appendLittleEndian(UInt16(1))  // mono
        header.appendLittleEndian(sampleRate)
        header.appendLittleEndian(sampleRate &* UInt32(blockAlign))  // checkedSampleRate rules out overflow
        header.appendLittleEndian(blockAlign)
        header.appendLittleEndian(UInt16(8 * format.bytesPerSample))
        header.append(contentsOf: Array("data".utf8))
        header.appendLittleEndian(dataSize)
        return header
    }

    /// `firstIndex` offsets the index reported for a non-finite sample when streaming in pieces.
    static func appendSamples(_ samples: [Float], firstIndex: Int, format: SampleFormat, to data: inout Data) throws {
        if let bad = samples.firstIndex(where: { !$0.isFinite }) {
            throw WAVError.nonFiniteSample(index: firstIndex + bad)
        }
        let byteCount = samples.count * format.bytesPerSample  // bounded by checkedDataSize
        let encoded = [UInt8](unsafeUninitializedCapacity: byteCount) { out, initialized in
            let raw = UnsafeMutableRawBufferPointer(out)
            switch format {
            case .s16:
                for (i, sample) in samples.enumerated() {
                    raw.storeBytes(of: pcm16(sample).littleEndian, toByteOffset: 2 * i, as: Int16.self)
                }
            case .f32:
                for (i, sample) in samples.enumerated() {
                    raw.storeBytes(of: sample.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                }
            }
            initialized = byteCount
        }
        data.append(contentsOf: encoded)
    }

    /// Clip to [-1, 1], scale by 32767 and round half to even, as libsndfile's lrintf does for
    /// soundfile.write(..., subtype="PCM_16"). `sample` is finite, so the result is in Int16 range.
    public static func pcm16(_ sample: Float) -> Int16 {
        let clipped = Swift.min(Swift.max(sample, -1), 1)
        return Int16((clipped * 32767).rounded(.toNearestOrEven))
    }
}

extension Data {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
