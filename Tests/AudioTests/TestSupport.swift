import Foundation
import TestSupport

func fixture(_ name: String) -> URL { Fixtures.url(name) }

/// Builds WAV files byte by byte so tests can state exactly what is on disk.
struct WAVBytes {
    private(set) var bytes: [UInt8] = []

    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func u32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * UInt32($0))) & 0xFF) } }

    /// A chunk with its declared size (defaults to the body length) and the RIFF pad byte when odd.
    static func chunk(_ id: String, _ body: [UInt8], declaredSize: UInt32? = nil) -> [UInt8] {
        var out = Array(id.utf8) + u32(declaredSize ?? UInt32(body.count)) + body
        if body.count % 2 == 1 { out.append(0) }
        return out
    }

    static func fmtBody(tag: UInt16, channels: UInt16, sampleRate: UInt32, bits: UInt16, blockAlign: UInt16? = nil)
        -> [UInt8]
    {
        let align = blockAlign ?? channels * (bits / 8)
        return u16(tag) + u16(channels) + u32(sampleRate) + u32(sampleRate * UInt32(align)) + u16(align) + u16(bits)
    }

    /// WAVE_FORMAT_EXTENSIBLE with the KSDATAFORMAT_SUBTYPE GUID for `subTag`.
    static func extensibleFmtBody(subTag: UInt16, channels: UInt16, sampleRate: UInt32, bits: UInt16) -> [UInt8] {
        let guidTail: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
        return fmtBody(tag: 0xFFFE, channels: channels, sampleRate: sampleRate, bits: bits)
            + u16(22) + u16(bits) + u32(0) + u16(subTag) + guidTail
    }

    /// RIFF/WAVE container around `chunks`, with the correct RIFF size unless overridden.
    static func riff(_ chunks: [UInt8]..., riffSize: UInt32? = nil) -> Data {
        let body = Array("WAVE".utf8) + chunks.flatMap { $0 }
        return Data(Array("RIFF".utf8) + u32(riffSize ?? UInt32(body.count)) + body)
    }

    static func simple(tag: UInt16, channels: UInt16, sampleRate: UInt32 = 16000, bits: UInt16, data: [UInt8]) -> Data {
        riff(
            chunk("fmt ", fmtBody(tag: tag, channels: channels, sampleRate: sampleRate, bits: bits)),
            chunk("data", data))
    }

    static func int16LE(_ values: [Int16]) -> [UInt8] { values.flatMap { u16(UInt16(bitPattern: $0)) } }
    static func float32LE(_ values: [Float]) -> [UInt8] { values.flatMap { u32($0.bitPattern) } }
    static func float64LE(_ values: [Double]) -> [UInt8] {
        values.flatMap { v in (0..<8).map { UInt8((v.bitPattern >> (8 * UInt64($0))) & 0xFF) } }
    }
}
