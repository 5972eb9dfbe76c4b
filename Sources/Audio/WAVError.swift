import Foundation

/// Everything that can go wrong reading or writing a WAV file. Each case names the defect precisely so a
/// CLI user can tell a truncated download from an unsupported codec.
public enum WAVError: Error, CustomStringConvertible, Equatable, Sendable {
    case unreadableFile(path: String, reason: String)
    case emptyInput
    case notRIFF
    /// RIFX (big-endian) and RF64 (64-bit sizes) containers are valid audio but not supported here.
    case unsupportedContainer(String)
    case notWAVE
    /// The input ends inside the fixed-size header structure that starts at `offset`.
    case truncatedHeader(offset: Int)
    /// A non-audio chunk declares more bytes than the input holds.
    case truncatedChunk(id: String, offset: Int, declaredSize: Int, available: Int)
    case duplicateChunk(id: String)
    case invalidFmtChunk(size: Int)
    case missingFmtChunk
    case missingDataChunk
    /// The data chunk declares `expected` bytes but only `got` remain in the input.
    case truncatedData(expected: Int, got: Int)
    case unsupportedFormat(tag: Int, bitsPerSample: Int)
    case unsupportedExtensibleSubFormat(guid: String)
    case zeroChannels
    case zeroSampleRate
    case blockAlignMismatch(declared: Int, expected: Int)
    case noSamples
    /// Index into the interleaved sample stream (frame * channels + channel).
    case nonFiniteSample(index: Int)
    case invalidSampleRate(Int)
    case tooLargeForWAV(byteCount: Int)
    case writeFailed(path: String, reason: String)
    case streamAlreadyFinalized

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            return "cannot read '\(path)': \(reason)"
        case .emptyInput:
            return "the WAV input is empty (0 bytes)"
        case .notRIFF:
            return "not a WAV file: it does not start with a 'RIFF' header"
        case .unsupportedContainer(let magic):
            return "unsupported WAV container '\(magic)' (only little-endian RIFF/WAVE is supported)"
        case .notWAVE:
            return "not a WAV file: the RIFF container is not of type 'WAVE'"
        case .truncatedHeader(let offset):
            return "the WAV file is truncated: it ends inside the header at byte \(offset)"
        case .truncatedChunk(let id, let offset, let declaredSize, let available):
            return
                "the WAV file is truncated: chunk '\(id)' at byte \(offset) declares \(declaredSize) bytes but only \(available) remain"
        case .duplicateChunk(let id):
            return "malformed WAV file: more than one '\(id)' chunk"
        case .invalidFmtChunk(let size):
            return "malformed WAV file: the 'fmt ' chunk has an invalid size (\(size) bytes)"
        case .missingFmtChunk:
            return "malformed WAV file: no 'fmt ' chunk describing the audio format"
        case .missingDataChunk:
            return "malformed WAV file: no 'data' chunk with audio samples"
        case .truncatedData(let expected, let got):
            return "the WAV file is truncated: the data chunk declares \(expected) bytes but only \(got) are present"
        case .unsupportedFormat(let tag, let bits):
            return
                "unsupported WAV encoding: format tag \(tag) (\(Self.formatName(tag))) with \(bits) bits per sample; supported are 8/16/24/32-bit integer PCM and 32/64-bit float"
        case .unsupportedExtensibleSubFormat(let guid):
            return "unsupported WAVE_FORMAT_EXTENSIBLE sub-format \(guid)"
        case .zeroChannels:
            return "malformed WAV file: the channel count is 0"
        case .zeroSampleRate:
            return "malformed WAV file: the sample rate is 0 Hz"
        case .blockAlignMismatch(let declared, let expected):
            return "malformed WAV file: block align is \(declared) bytes but channels × bytes per sample is \(expected)"
        case .noSamples:
            return "the WAV file contains no audio samples"
        case .nonFiniteSample(let index):
            return "the float WAV data contains a NaN or infinite value at sample index \(index)"
        case .invalidSampleRate(let rate):
            return "cannot write a WAV file with sample rate \(rate) Hz"
        case .tooLargeForWAV(let byteCount):
            return "audio too long for a WAV file: \(byteCount) bytes of samples exceed the 4 GiB RIFF limit"
        case .writeFailed(let path, let reason):
            return "cannot write '\(path)': \(reason)"
        case .streamAlreadyFinalized:
            return "the WAV stream writer was already finalized"
        }
    }

    private static func formatName(_ tag: Int) -> String {
        switch tag {
        case 1: return "PCM"
        case 2: return "Microsoft ADPCM"
        case 3: return "IEEE float"
        case 6: return "A-law"
        case 7: return "mu-law"
        case 0x11: return "IMA ADPCM"
        case 0x55: return "MP3"
        default: return "unknown"
        }
    }
}
