import FileAccess
import Foundation

/// The JSON form of audio codes the CLI reads and writes:
/// `{"sample_rate":24000,"frame_rate":25,"codebooks":N,"frames":T,"codes":[[...N lists of T ints...]]}`.
public struct CodesFile: Codable, Equatable, Sendable {
    public var sampleRate: Int
    public var frameRate: Double
    public var codebooks: Int
    public var frames: Int
    public var codes: [[Int]]

    enum CodingKeys: String, CodingKey {
        case sampleRate = "sample_rate"
        case frameRate = "frame_rate"
        case codebooks, frames, codes
    }

    public init(codes: [[Int]], sampleRate: Int, frameRate: Double) {
        self.sampleRate = sampleRate
        self.frameRate = frameRate
        self.codebooks = codes.count
        self.frames = codes.first?.count ?? 0
        self.codes = codes
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sampleRate, forKey: .sampleRate)
        // 25 Hz is written as the integer 25, as the format shows it.
        if frameRate == frameRate.rounded() && abs(frameRate) < 1e15 {
            try c.encode(Int(frameRate), forKey: .frameRate)
        } else {
            try c.encode(frameRate, forKey: .frameRate)
        }
        try c.encode(codebooks, forKey: .codebooks)
        try c.encode(frames, forKey: .frames)
        try c.encode(codes, forKey: .codes)
    }

    public enum FileError: Error, CustomStringConvertible, Equatable {
        case unreadable(path: String, reason: String)
        case invalid(path: String, reason: String)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason): return "cannot read codes file \(path): \(reason)"
            case .invalid(let path, let reason): return "codes file \(path) is not valid: \(reason)"
            }
        }
    }

    /// Reads and checks a codes file: the counts must agree with the lists.
    public static func read(_ url: URL) throws -> CodesFile {
        let data: Data
        do { data = try FileAccess.read(url) } catch {
            throw FileError.unreadable(path: url.path, reason: FileAccess.describe(error))
        }
        let file: CodesFile
        do { file = try JSONValueDecoder().decode(CodesFile.self, from: data) } catch {
            throw FileError.invalid(path: url.path, reason: JSONValueDecoder.describe(error))
        }
        guard file.codebooks == file.codes.count else {
            throw FileError.invalid(
                path: url.path, reason: "'codebooks' is \(file.codebooks) but 'codes' has \(file.codes.count) lists")
        }
        if let i = file.codes.firstIndex(where: { $0.count != file.frames }) {
            throw FileError.invalid(
                path: url.path, reason: "'frames' is \(file.frames) but codebook \(i) has \(file.codes[i].count) codes")
        }
        return file
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try FileOutput.write(try encoder.encode(self), to: url.path)
    }
}
