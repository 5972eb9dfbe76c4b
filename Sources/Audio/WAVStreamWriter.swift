import FileAccess
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a mono WAV file incrementally, for audio generated chunk by chunk.
///
/// The header is written up front with 0xFFFFFFFF sizes, the convention of streaming writers, so a file
/// left unfinalised (e.g. the process was killed) is still readable by `WAVReader` and ffmpeg/libsndfile.
/// `finalize()` seeks back and patches the real sizes; the destination must therefore be seekable.
public final class WAVStreamWriter {
    public let url: URL
    public let sampleRate: Int
    public let format: WAVWriter.SampleFormat
    public private(set) var samplesWritten = 0

    private let headerSampleRate: UInt32
    private var handle: FileHandle?

    public init(url: URL, sampleRate: Int, format: WAVWriter.SampleFormat) throws {
        self.url = url
        self.sampleRate = sampleRate
        self.format = format
        headerSampleRate = try WAVWriter.checkedSampleRate(sampleRate, format: format)

        if FileAccess.isDirectory(url.path) {
            throw WAVError.writeFailed(path: url.path, reason: "it is a directory")
        }
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WAVError.writeFailed(path: url.path, reason: FileAccess.systemMessage(errno)) }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        self.handle = handle
        let header = WAVWriter.streamingHeader(sampleRate: headerSampleRate, format: format)
        try perform { try handle.write(contentsOf: header) }
    }

    deinit {
        try? handle?.close()
    }

    public func append(_ samples: [Float]) throws {
        guard let handle else { throw WAVError.streamAlreadyFinalized }
        let (total, overflow) = samplesWritten.addingReportingOverflow(samples.count)
        guard !overflow else { throw WAVError.tooLargeForWAV(byteCount: Int.max) }
        _ = try WAVWriter.checkedDataSize(sampleCount: total, format: format)
        var encoded = Data()
        try WAVWriter.appendSamples(samples, firstIndex: samplesWritten, format: format, to: &encoded)
        try perform { try handle.write(contentsOf: encoded) }
        samplesWritten = total
    }

    /// Patches the RIFF and data sizes and closes the file. Later appends throw.
    public func finalize() throws {
        guard let handle else { throw WAVError.streamAlreadyFinalized }
        self.handle = nil
        let dataSize = try WAVWriter.checkedDataSize(sampleCount: samplesWritten, format: format)
        let header = WAVWriter.header(sampleRate: headerSampleRate, format: format, dataSize: UInt32(dataSize))
        try perform {
            try handle.seek(toOffset: 4)
            try handle.write(contentsOf: header[4..<8])
            try handle.seek(toOffset: 40)
            try handle.write(contentsOf: header[40..<44])
            try handle.synchronize()
            try handle.close()
        }
    }

    private func perform<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw WAVError.writeFailed(path: url.path, reason: FileAccess.describe(error))
        }
    }
}
