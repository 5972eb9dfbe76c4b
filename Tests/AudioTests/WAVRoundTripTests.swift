import Audio
import Foundation
import XCTest

final class WAVRoundTripTests: XCTestCase {
    /// Covers both clip boundaries, values beyond them, the only exact rounding ties (±0.5: 32767 is odd)
    /// and ordinary values.
    private let probe: [Float] = [0, 1, -1, 1.5, -2, 0.5, -0.5, 0.25, 1e-6, -0.999_999, 0.123_456_7, 0.75, -0.3]

    private func temporaryURL() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("audio-tests-\(UUID().uuidString).wav")
    }

    func testFloat32RoundTripIsExact() throws {
        let samples = probe + (0..<1000).map { sin(Float($0) * 0.01) * 0.8 }
        let wav = try WAVReader.read(data: try WAVWriter.encode(samples: samples, sampleRate: 24000, format: .f32))
        XCTAssertEqual(wav.format, .float32)
        XCTAssertEqual(wav.sampleRate, 24000)
        XCTAssertEqual(wav.channels, 1)
        XCTAssertEqual(wav.interleavedSamples, samples)
    }

    func testFloat32UsesPlainFmtChunkWithTag3() throws {
        let data = try WAVWriter.encode(samples: [0.25], sampleRate: 8000, format: .f32)
        XCTAssertEqual(data.count, 48)
        XCTAssertEqual(Array(data[16..<22]), [16, 0, 0, 0, 3, 0])  // fmt size 16, tag 3
    }

    func testInt16RoundTripQuantisesLikeLibsndfile() throws {
        let data = try WAVWriter.encode(samples: probe, sampleRate: 16000, format: .s16)
        XCTAssertEqual(Array(data[20..<22]), [1, 0])  // PCM tag
        let stored: [Int16] = data[44...].withUnsafeBytes { raw in
            (0..<probe.count).map { Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self)) }
        }
        // Clipped, ×32767 in Float, rounded to nearest (16383.5 → 16384).
        XCTAssertEqual(stored, [0, 32767, -32767, 32767, -32767, 16384, -16384, 8192, 0, -32767, 4045, 24575, -9830])
        let decoded = try WAVReader.read(data: data).interleavedSamples
        XCTAssertEqual(decoded, stored.map { Float($0) / 32768 })
        for (original, back) in zip(probe, decoded) {
            let clipped = min(max(original, -1), 1)
            XCTAssertLessThanOrEqual(abs(back * 32768 / 32767 - clipped), 0.5 / 32767 + 1e-7)
        }
    }

    func testWriteToFileAndReadBack() throws {
        let url = temporaryURL()
        defer { try? FileManager.default.removeItem(at: url) }
        try WAVWriter.write(samples: probe, sampleRate: 22050, format: .f32, to: url)
        let audio = try WAVReader.readMono(contentsOf: url)
        XCTAssertEqual(audio, PCMAudio(samples: probe, sampleRate: 22050))
    }

    func testStreamWriterProducesTheSameFileAsEncode() throws {
        for format in [WAVWriter.SampleFormat.s16, .f32] {
            let url = temporaryURL()
            defer { try? FileManager.default.removeItem(at: url) }
            let writer = try WAVStreamWriter(url: url, sampleRate: 24000, format: format)
            try writer.append(Array(probe[0..<5]))
            try writer.append([])
            try writer.append(Array(probe[5...]))
            // Before finalize the placeholder sizes mean "until end of file", so it already reads.
            XCTAssertEqual(try WAVReader.read(contentsOf: url).frameCount, probe.count)
            try writer.finalize()
            XCTAssertEqual(writer.samplesWritten, probe.count)
            XCTAssertEqual(
                try Data(contentsOf: url), try WAVWriter.encode(samples: probe, sampleRate: 24000, format: format))
            XCTAssertThrowsError(try writer.append([0])) { XCTAssertEqual($0 as? WAVError, .streamAlreadyFinalized) }
        }
    }

    func testWriterRejectsNaNAndBadRates() {
        XCTAssertThrowsError(try WAVWriter.encode(samples: [0, .nan], sampleRate: 16000, format: .s16)) {
            XCTAssertEqual($0 as? WAVError, .nonFiniteSample(index: 1))
        }
        XCTAssertThrowsError(try WAVWriter.encode(samples: [.infinity], sampleRate: 16000, format: .f32)) {
            XCTAssertEqual($0 as? WAVError, .nonFiniteSample(index: 0))
        }
        XCTAssertThrowsError(try WAVWriter.encode(samples: [0], sampleRate: 0, format: .s16)) {
            XCTAssertEqual($0 as? WAVError, .invalidSampleRate(0))
        }
    }

    func testUnsigned8Bit() throws {
        let wav = try WAVReader.read(data: WAVBytes.simple(tag: 1, channels: 1, bits: 8, data: [0, 128, 255, 1, 192]))
        XCTAssertEqual(wav.format, .unsigned8)
        XCTAssertEqual(wav.interleavedSamples, [-1, 0, 127 / 128, -127 / 128, 0.5])
    }

    func testSigned24Bit() throws {
        let data: [UInt8] = [0x00, 0x00, 0x80, 0xFF, 0xFF, 0x7F, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x40]
        let wav = try WAVReader.read(data: WAVBytes.simple(tag: 1, channels: 1, bits: 24, data: data))
        XCTAssertEqual(wav.format, .signed24)
        XCTAssertEqual(wav.interleavedSamples, [-1, 8_388_607 / 8_388_608, 1 / 8_388_608, -1 / 8_388_608, 0.5])
    }

    func testSigned32Bit() throws {
        let values: [Int32] = [.min, .max, 1, -2, 1 << 30]
        let bytes = values.flatMap { WAVBytes.u32(UInt32(bitPattern: $0)) }
        let wav = try WAVReader.read(data: WAVBytes.simple(tag: 1, channels: 1, bits: 32, data: bytes))
        XCTAssertEqual(wav.format, .signed32)
        // Int32.max rounds to 2^31 in Float, as libsndfile's int → float conversion does.
        XCTAssertEqual(wav.interleavedSamples, [-1, 1, 0x1p-31, -0x1p-30, 0.5])
    }

    func testFloat64IsRoundedToFloat() throws {
        let values: [Double] = [0.1, -0.75, 1e-40, 3.0]
        let wav = try WAVReader.read(
            data: WAVBytes.simple(tag: 3, channels: 1, bits: 64, data: WAVBytes.float64LE(values)))
        XCTAssertEqual(wav.format, .float64)
        XCTAssertEqual(wav.interleavedSamples, values.map { Float($0) })
    }

    func testExtensibleFormatUsesSubFormatTag() throws {
        let pcm = WAVBytes.riff(
            WAVBytes.chunk("fmt ", WAVBytes.extensibleFmtBody(subTag: 1, channels: 2, sampleRate: 48000, bits: 16)),
            WAVBytes.chunk("data", WAVBytes.int16LE([16384, -16384, 32767, -32768]))
        )
        let pcmWAV = try WAVReader.read(data: pcm)
        XCTAssertEqual(pcmWAV.format, .signed16)
        XCTAssertEqual(pcmWAV.channels, 2)
        XCTAssertEqual(pcmWAV.sampleRate, 48000)
        XCTAssertEqual(pcmWAV.channelSamples(1), [-0.5, -1])
        XCTAssertEqual(pcmWAV.monoSamples(), [0, -1 / 65536])

        let float = WAVBytes.riff(
            WAVBytes.chunk("fmt ", WAVBytes.extensibleFmtBody(subTag: 3, channels: 1, sampleRate: 16000, bits: 32)),
            WAVBytes.chunk("data", WAVBytes.float32LE([0.3, -0.7]))
        )
        XCTAssertEqual(try WAVReader.read(data: float).interleavedSamples, [0.3, -0.7])
    }

    func testThreeChannelsDownmixInChannelOrder() throws {
        let frames: [[Int16]] = [[3, 5, 7], [-32768, 32767, 1], [100, -100, 9]]
        let wav = try WAVReader.read(
            data: WAVBytes.simple(tag: 1, channels: 3, bits: 16, data: WAVBytes.int16LE(frames.flatMap { $0 })))
        XCTAssertEqual(wav.channels, 3)
        XCTAssertEqual(wav.frameCount, 3)
        XCTAssertEqual(wav.channelSamples(2), [7, 1, 9].map { Float($0) / 32768 })
        XCTAssertEqual(wav.channelSamples(3), [])
        let expected = frames.map { frame -> Float in
            let v = frame.map { Float($0) / 32768 }
            return (v[0] + v[1] + v[2]) / 3
        }
        XCTAssertEqual(wav.monoSamples(), expected)
    }

    func testSkipsUnknownChunksIncludingPadByte() throws {
        let data = WAVBytes.riff(
            WAVBytes.chunk("LIST", Array("INFOabc".utf8)),  // odd size: followed by a pad byte
            WAVBytes.chunk("fmt ", WAVBytes.fmtBody(tag: 1, channels: 1, sampleRate: 8000, bits: 16)),
            WAVBytes.chunk("junk", [1, 2, 3]),
            WAVBytes.chunk("data", WAVBytes.int16LE([8192, -8192])),
            WAVBytes.chunk("id3 ", [9])
        )
        XCTAssertEqual(try WAVReader.read(data: data).interleavedSamples, [0.25, -0.25])
    }

    func testStreamingPlaceholderSizesReadToEndOfFile() throws {
        let fmt = WAVBytes.chunk("fmt ", WAVBytes.fmtBody(tag: 1, channels: 1, sampleRate: 8000, bits: 16))
        // A partial trailing frame (the lone 0x7F) is ignored, as libsndfile does.
        let samples = WAVBytes.int16LE([100, 200, 300]) + [0x7F]
        let ffmpegStyle = WAVBytes.riff(
            fmt, Array("data".utf8) + WAVBytes.u32(0xFFFF_FFFF) + samples, riffSize: 0xFFFF_FFFF)
        XCTAssertEqual(
            try WAVReader.read(data: ffmpegStyle).interleavedSamples, [100, 200, 300].map { Float($0) / 32768 })
        let zeroSized = WAVBytes.riff(fmt, Array("data".utf8) + WAVBytes.u32(0) + samples, riffSize: 0)
        XCTAssertEqual(try WAVReader.read(data: zeroSized).frameCount, 3)
    }

    func testDataSliceWithNonZeroStartIndex() throws {
        let file = WAVBytes.simple(tag: 1, channels: 1, bits: 16, data: WAVBytes.int16LE([16384]))
        let padded = Data([0xAA, 0xBB]) + file
        XCTAssertEqual(try WAVReader.read(data: padded[2...]).interleavedSamples, [0.5])
    }
}
