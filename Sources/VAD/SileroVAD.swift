import CEmbedded
import Foundation
import Weights

/// The Silero VAD network (v6.2.3, its 16 kHz branch; MIT licensed, weights in
/// `Models/silero-vad/`, compiled into the program): one speech probability per 512-sample chunk
/// of 16 kHz audio, carrying 64 samples of context and an LSTM state from chunk to chunk.
///
/// Per chunk, as the ONNX graph computes it: the context and the chunk (576 samples), reflected
/// 64 samples on the right; an STFT as a convolution (258 channels = 129 cosine and 129 sine rows
/// of a Hann-windowed DFT, kernel 256, stride 128: 4 frames) and its magnitude; four 3-tap
/// convolutions with ReLU (129→128, 128→64 stride 2, 64→64 stride 2, 64→128) down to one frame;
/// one LSTM step (128, gates i, f, g, o); sigmoid(w · ReLU(h) + b).
public final class SileroVAD {
    public static let sampleRate = 16000
    public static let chunkSamples = 512
    static let contextSamples = 64

    struct Conv {
        let weight: [Float]  // [out][in][3]
        let bias: [Float]
        let inputs: Int
        let outputs: Int
        let stride: Int
    }

    struct Network {
        let basis: [Float]  // [258][256]
        let encoder: [Conv]
        let weightIH: [Float]  // [512][128]
        let weightHH: [Float]
        let bias: [Float]  // bias_ih + bias_hh
        let decoderWeight: [Float]  // [128]
        let decoderBias: Float
    }

    /// The weights, bound once by name and shape from the embedded file.
    static let network: Result<Network, Error> = Result { try load() }

    private let net: Network
    private var h = [Float](repeating: 0, count: 128)
    private var c = [Float](repeating: 0, count: 128)
    private var context = [Float](repeating: 0, count: contextSamples)

    public init() throws { net = try Self.network.get() }

    /// Back to the start of a stream.
    public func reset() {
        h = .init(repeating: 0, count: 128)
        c = .init(repeating: 0, count: 128)
        context = .init(repeating: 0, count: Self.contextSamples)
    }

    /// The speech probability of the next 512 samples (16 kHz, in [-1, 1]).
    public func probability(_ chunk: [Float]) -> Float {
        precondition(chunk.count == Self.chunkSamples, "a chunk is 512 samples")
        let x = context + chunk
        context = Array(x.suffix(Self.contextSamples))
        // Reflect 64 samples on the right: p[576 + j] = x[574 - j].
        var padded = x
        for j in 0..<Self.contextSamples { padded.append(x[x.count - 2 - j]) }
        // STFT magnitude: [129][4].
        let frames = 4
        var features = [Float](repeating: 0, count: 129 * frames)
        net.basis.withUnsafeBufferPointer { basis in
            padded.withUnsafeBufferPointer { p in
                for t in 0..<frames {
                    let start = t * 128
                    for k in 0..<129 {
                        var re: Float = 0
                        var im: Float = 0
                        for n in 0..<256 {
                            re += basis[k * 256 + n] * p[start + n]
                            im += basis[(129 + k) * 256 + n] * p[start + n]
                        }
                        features[k * frames + t] = (re * re + im * im).squareRoot()
                    }
                }
            }
        }
        var length = frames
        for conv in net.encoder {
            (features, length) = Self.apply(conv, features, length: length)
        }
        // One LSTM step on the single remaining frame.
        var z = net.bias
        for row in 0..<512 {
            var sum: Float = 0
            for i in 0..<128 {
                sum += net.weightIH[row * 128 + i] * features[i] + net.weightHH[row * 128 + i] * h[i]
            }
            z[row] += sum
        }
        var out: Float = net.decoderBias
        for j in 0..<128 {
            let input = Self.sigmoid(z[j])
            let forget = Self.sigmoid(z[128 + j])
            let cell = tanhf(z[256 + j])
            let output = Self.sigmoid(z[384 + j])
            c[j] = forget * c[j] + input * cell
            h[j] = output * tanhf(c[j])
            out += net.decoderWeight[j] * max(0, h[j])
        }
        return Self.sigmoid(out)
    }

    /// A 3-tap convolution with zero padding 1 and ReLU over `[inputs][length]`.
    static func apply(_ conv: Conv, _ x: [Float], length: Int) -> ([Float], Int) {
        let outLength = (length + 2 - 3) / conv.stride + 1
        var y = [Float](repeating: 0, count: conv.outputs * outLength)
        for o in 0..<conv.outputs {
            for t in 0..<outLength {
                var sum = conv.bias[o]
                for i in 0..<conv.inputs {
                    for k in 0..<3 {
                        let s = t * conv.stride + k - 1
                        guard s >= 0 && s < length else { continue }
                        sum += conv.weight[(o * conv.inputs + i) * 3 + k] * x[i * length + s]
                    }
                }
                y[o * outLength + t] = max(0, sum)
            }
        }
        return (y, outLength)
    }

    static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

    static func load() throws -> Network {
        let embedded = mk_silero_vad_safetensors()
        let file = try SafeTensorsFile(
            programBytes: UnsafeRawBufferPointer(start: embedded.bytes, count: embedded.count),
            name: "silero_vad_16k.safetensors (compiled in)")
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            _ = try file.require(name, shape: shape)
            return try file.floats(name)
        }
        let layers = [(129, 128, 1), (128, 64, 2), (64, 64, 2), (64, 128, 1)]
        let encoder = try layers.enumerated().map { index, layer in
            Conv(
                weight: try tensor("encoder.\(index).weight", [layer.1, layer.0, 3]),
                bias: try tensor("encoder.\(index).bias", [layer.1]), inputs: layer.0, outputs: layer.1,
                stride: layer.2)
        }
        let biasIH = try tensor("lstm.bias_ih", [512])
        let biasHH = try tensor("lstm.bias_hh", [512])
        return Network(
            basis: try tensor("stft.basis", [258, 1, 256]), encoder: encoder,
            weightIH: try tensor("lstm.weight_ih", [512, 128]), weightHH: try tensor("lstm.weight_hh", [512, 128]),
            bias: zip(biasIH, biasHH).map { $0 + $1 }, decoderWeight: try tensor("decoder.weight", [1, 128, 1]),
            decoderBias: try tensor("decoder.bias", [1])[0])
    }
}
