/// Errors of the codec's public entry points, each naming what is wrong with the input.
public enum CodecError: Error, CustomStringConvertible, Equatable {
    case tooFewCodebooks(given: Int, required: Int)
    case tooManyCodebooks(given: Int, available: Int)
    case raggedCodes(codebook: Int, frames: Int, expected: Int)
    case codeOutOfRange(codebook: Int, frame: Int, value: Int, bins: Int)
    case noFrames
    case streamFinished
    case unsupportedQuantization(String)

    public var description: String {
        switch self {
        case .tooFewCodebooks(let given, let required):
            return "codes have \(given) codebook(s); at least \(required) are required"
        case .tooManyCodebooks(let given, let available):
            return "codes have \(given) codebooks but the tokenizer has only \(available)"
        case .raggedCodes(let codebook, let frames, let expected):
            return "codebook \(codebook) has \(frames) frames, codebook 0 has \(expected)"
        case .codeOutOfRange(let codebook, let frame, let value, let bins):
            return "code \(value) at codebook \(codebook), frame \(frame) is outside 0..<\(bins)"
        case .noFrames:
            return "codes contain no frames"
        case .streamFinished:
            return "the stream was already finished by its last chunk"
        case .unsupportedQuantization(let format):
            return "the codec's linear layers quantize to q8 only, not \(format)"
        }
    }
}
