import Audio
import Foundation
import XCTest

/// Every malformed input must produce its specific error, never a crash.
final class WAVMalformedInputTests: XCTestCase {
    private let fmt16 = WAVBytes.chunk("fmt ", WAVBytes.fmtBody(tag: 1, channels: 1, sampleRate: 16000, bits: 16))
    private let someData = WAVBytes.chunk("data", WAVBytes.int16LE([1, 2, 3, 4]))

    private func assertError(_ data: Data, _ expected: WAVError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try WAVReader.read(data: data), file: file, line: line) { error in
            XCTAssertEqual(error as? WAVError, expected, file: file, line: line)
            XCTAssertFalse(String(describing: error).isEmpty, file: file, line: line)
        }
    }

    func testEmptyInput() {
        assertError(Data(), .emptyInput)
    }

    func testNotRIFF() {
        assertError(Data("ID3\u{3}not a wav file at all".utf8), .notRIFF)
        assertError(Data([0x00]), .notRIFF)
        assertError(Data("RIFX".utf8) + Data(count: 40), .unsupportedContainer("RIFX"))
    }

    func testRIFFButNotWAVE() {
        assertError(Data("RIFF".utf8) + Data(WAVBytes.u32(4)) + Data("AVI ".utf8), .notWAVE)
    }

    func testTruncatedHeader() {
        assertError(Data("RI".utf8), .truncatedHeader(offset: 0))
        assertError(Data("RIFF\u{24}\0\0\0WA".utf8), .truncatedHeader(offset: 0))
        // Cut inside the header of the chunk after 'fmt '.
        let full = WAVBytes.riff(fmt16, someData)
        assertError(full.prefix(12 + fmt16.count + 5), .truncatedHeader(offset: 12 + fmt16.count))
        // 'fmt ' body cut short.
        assertError(full.prefix(30), .truncatedChunk(id: "fmt ", offset: 12, declaredSize: 16, available: 10))
    }

    func testTruncatedData() {
        let full = WAVBytes.riff(fmt16, someData)
        assertError(full.dropLast(3), .truncatedData(expected: 8, got: 5))
    }

    func testMissingChunks() {
        assertError(WAVBytes.riff(someData), .missingFmtChunk)
        assertError(WAVBytes.riff(fmt16), .missingDataChunk)
        assertError(WAVBytes.riff(fmt16, fmt16, someData), .duplicateChunk(id: "fmt "))
    }

    func testInvalidFmtChunk() {
        assertError(WAVBytes.riff(WAVBytes.chunk("fmt ", [1, 0, 1, 0]), someData), .invalidFmtChunk(size: 4))
        // Extensible tag without the extension.
        let shortExtensible = WAVBytes.fmtBody(tag: 0xFFFE, channels: 1, sampleRate: 16000, bits: 16)
        assertError(WAVBytes.riff(WAVBytes.chunk("fmt ", shortExtensible), someData), .invalidFmtChunk(size: 16))
    }

    func testZeroChannelsAndSampleRate() {
        let noChannels = WAVBytes.fmtBody(tag: 1, channels: 0, sampleRate: 16000, bits: 16, blockAlign: 2)
        assertError(WAVBytes.riff(WAVBytes.chunk("fmt ", noChannels), someData), .zeroChannels)
        let noRate = WAVBytes.fmtBody(tag: 1, channels: 1, sampleRate: 0, bits: 16)
        assertError(WAVBytes.riff(WAVBytes.chunk("fmt ", noRate), someData), .zeroSampleRate)
    }

    func testUnsupportedFormatTagAndBits() {
        assertError(
            WAVBytes.simple(tag: 2, channels: 1, bits: 4, data: [1, 2]), .unsupportedFormat(tag: 2, bitsPerSample: 4))
        assertError(
            WAVBytes.simple(tag: 1, channels: 1, bits: 12, data: [1, 2]), .unsupportedFormat(tag: 1, bitsPerSample: 12))
        assertError(
            WAVBytes.simple(tag: 3, channels: 1, bits: 16, data: [1, 2]), .unsupportedFormat(tag: 3, bitsPerSample: 16))
        // The extensible sub-format's tag is what gets reported.
        let adpcm = WAVBytes.extensibleFmtBody(subTag: 2, channels: 1, sampleRate: 16000, bits: 16)
        assertError(
            WAVBytes.riff(WAVBytes.chunk("fmt ", adpcm), someData), .unsupportedFormat(tag: 2, bitsPerSample: 16))
        var foreignGUID = WAVBytes.extensibleFmtBody(subTag: 1, channels: 1, sampleRate: 16000, bits: 16)
        foreignGUID[foreignGUID.count - 1] = 0
        assertError(
            WAVBytes.riff(WAVBytes.chunk("fmt ", foreignGUID), someData),
            .unsupportedExtensibleSubFormat(guid: "0100000000001000800000aa00389b00"))
    }

    func testBlockAlignMismatch() {
        let wrongAlign = WAVBytes.fmtBody(tag: 1, channels: 2, sampleRate: 16000, bits: 16, blockAlign: 2)
        assertError(
            WAVBytes.riff(WAVBytes.chunk("fmt ", wrongAlign), someData), .blockAlignMismatch(declared: 2, expected: 4))
    }

    func testNoSamples() {
        assertError(WAVBytes.riff(fmt16, WAVBytes.chunk("data", [])), .noSamples)
        // One byte of a 16-bit sample is not a frame.
        assertError(WAVBytes.riff(fmt16, WAVBytes.chunk("data", [7])), .noSamples)
    }

    func testNonFiniteFloatSamples() {
        assertError(
            WAVBytes.simple(tag: 3, channels: 1, bits: 32, data: WAVBytes.float32LE([0, 0.5, .nan])),
            .nonFiniteSample(index: 2))
        assertError(
            WAVBytes.simple(tag: 3, channels: 1, bits: 64, data: WAVBytes.float64LE([-.infinity])),
            .nonFiniteSample(index: 0))
        // A finite double beyond Float's range also becomes infinite.
        assertError(
            WAVBytes.simple(tag: 3, channels: 1, bits: 64, data: WAVBytes.float64LE([0, 1e300])),
            .nonFiniteSample(index: 1))
    }

    func testHugeDeclaredSizesAreRejectedWithoutAllocating() {
        let hugeData = Array("data".utf8) + WAVBytes.u32(0xFFFF_FFF0) + WAVBytes.int16LE([1, 2])
        assertError(WAVBytes.riff(fmt16, hugeData), .truncatedData(expected: 0xFFFF_FFF0, got: 4))
        let hugeList = Array("LIST".utf8) + WAVBytes.u32(0x7FFF_FFFF) + [1, 2, 3, 4]
        assertError(
            WAVBytes.riff(hugeList, fmt16, someData),
            .truncatedChunk(
                id: "LIST", offset: 12, declaredSize: 0x7FFF_FFFF, available: 4 + fmt16.count + someData.count))
        let hugeFmt = Array("fmt ".utf8) + WAVBytes.u32(0xFFFF_FFFE) + [1, 0]
        assertError(
            WAVBytes.riff(hugeFmt), .truncatedChunk(id: "fmt ", offset: 12, declaredSize: 0xFFFF_FFFE, available: 2))
    }

    func testUnreadableFile() {
        let url = URL(fileURLWithPath: "/nonexistent/definitely-missing.wav")
        XCTAssertThrowsError(try WAVReader.read(contentsOf: url)) { error in
            guard case .unreadableFile(let path, _)? = error as? WAVError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, url.path)
        }
    }

    /// Every prefix and many single-byte corruptions of a valid file must throw or decode, never trap.
    /// Every truncation and every single-byte corruption either fails with a `WAVError` or
    /// reads as a consistent file — never a trap, never another kind of failure.
    func testCorruptedInputsNeverCrash() {
        let valid = WAVBytes.riff(WAVBytes.chunk("LIST", [1, 2, 3]), fmt16, someData)
        XCTAssertNoThrow(try WAVReader.read(data: valid))
        for length in 0..<valid.count {
            XCTAssertThrowsError(try WAVReader.read(data: valid.prefix(length)), "a \(length)-byte prefix was accepted")
            {
                XCTAssertTrue($0 is WAVError, "prefix \(length): \($0)")
            }
        }
        for position in 0..<valid.count {
            for value: UInt8 in [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF] {
                var corrupted = valid
                corrupted[position] = value
                do {
                    let wav = try WAVReader.read(data: corrupted)
                    XCTAssertGreaterThan(wav.channels, 0, "byte \(position) = \(value)")
                    XCTAssertGreaterThan(wav.sampleRate, 0, "byte \(position) = \(value)")
                    XCTAssertEqual(wav.interleavedSamples.count % wav.channels, 0, "byte \(position) = \(value)")
                    XCTAssertFalse(wav.interleavedSamples.contains { !$0.isFinite }, "byte \(position) = \(value)")
                } catch {
                    XCTAssertTrue(error is WAVError, "byte \(position) = \(value): \(error)")
                }
            }
        }
    }
}
