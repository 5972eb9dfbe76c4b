import Foundation

/// Converts the raw data chunk to Float with libsndfile's normalisation (what torchaudio.load returns
/// through the soundfile backend): integers are divided by 2^(bits-1) after removing the 8-bit offset,
/// floats are taken as stored. Every scale is a power of two, so the only rounding is Int32/Double → Float.
enum SampleDecoder {
    static func decode(_ bytes: LittleEndianBytes, layout: RIFFLayout) throws -> WAVFile {
        let format = layout.format
        // libsndfile also ignores a trailing partial frame.
        let frames = layout.dataRange.count / format.blockAlign
        guard frames > 0, let base = bytes.raw.baseAddress else { throw WAVError.noSamples }
        let count = frames * format.channels  // ≤ data bytes, cannot overflow
        let start = base + layout.dataRange.lowerBound

        let samples = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            convert(start, count: count, format: format.sampleFormat, into: out)
            initialized = count
        }
        if format.sampleFormat == .float32 || format.sampleFormat == .float64,
            let bad = samples.firstIndex(where: { !$0.isFinite })
        {
            throw WAVError.nonFiniteSample(index: bad)
        }
        return WAVFile(
            sampleRate: format.sampleRate,
            channels: format.channels,
            format: format.sampleFormat,
            interleavedSamples: samples
        )
    }

    /// `source` must hold `count` samples of `format`; the caller derived `count` from the data length.
    private static func convert(
        _ source: UnsafeRawPointer, count: Int, format: WAVFile.SampleFormat,
        into out: UnsafeMutableBufferPointer<Float>
    ) {
        switch format {
        case .unsigned8:
            let bytes = source.assumingMemoryBound(to: UInt8.self)
            for i in 0..<count { out[i] = Float(Int(bytes[i]) - 128) / 128 }
        case .signed16:
            for i in 0..<count {
                let value = Int16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))
                out[i] = Float(value) / 32768
            }
        case .signed24:
            let bytes = source.assumingMemoryBound(to: UInt8.self)
            for i in 0..<count {
                let unsigned = Int32(bytes[3 * i]) | Int32(bytes[3 * i + 1]) << 8 | Int32(bytes[3 * i + 2]) << 16
                let value = (unsigned << 8) >> 8  // sign-extend from 24 bits
                out[i] = Float(value) / 8_388_608
            }
        case .signed32:
            for i in 0..<count {
                let value = Int32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))
                out[i] = Float(value) / 2_147_483_648
            }
        case .float32:
            for i in 0..<count {
                let bits = UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                out[i] = Float(bitPattern: bits)
            }
        case .float64:
            for i in 0..<count {
                let bits = UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                out[i] = Float(Double(bitPattern: bits))
            }
        }
    }
}
