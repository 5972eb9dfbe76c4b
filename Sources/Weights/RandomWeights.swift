import Dispatch
import Tensor

/// Synthesised weights for benchmarks at the real scale without a download: every tensor a
/// model asks for is created on the spot in the requested dtype, with a deterministic
/// generator. Norm weights are 1 and their biases 0, other values uniform in ±1/√fan-in, so
/// activations stay in a realistic range through deep stacks.
public struct RandomWeights: WeightSource, Sendable {
    public let dtype: DType
    public let seed: UInt64

    public init(dtype: DType = .bf16, seed: UInt64 = 0x5EED) {
        precondition(dtype == .f32 || dtype == .bf16, "RandomWeights synthesises f32 or bf16")
        self.dtype = dtype
        self.seed = seed
    }

    public func weight(_ name: String, shape: [Int]) throws -> WeightMatrix {
        let rows = shape.first ?? 1
        let count = shape.reduce(1, *)
        let cols = shape.count > 1 ? count / max(rows, 1) : count
        let constant: Float? = name.contains("norm") && shape.count == 1 ? (name.hasSuffix(".weight") ? 1 : 0) : nil
        let scale = 1 / Float(max(cols, 1)).squareRoot()
        // FNV-1a of the name: Swift's hashValue is randomised per process.
        let nameSeed = name.utf8.reduce(seed ^ 0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
        let buffer = OwnedBuffer(byteCount: count * dtype.byteSize)
        let f32 = dtype == .f32
        let base = buffer.pointer
        // Chunks are filled in parallel, each from its own stream: 16 GB of LM weights in seconds.
        let chunk = 1 << 20
        let chunks = (count + chunk - 1) / chunk
        DispatchQueue.concurrentPerform(iterations: max(chunks, 1)) { c in
            var state = nameSeed &+ UInt64(c) &* 0x9E37_79B9_7F4A_7C15
            for i in (c * chunk)..<min(count, (c + 1) * chunk) {
                let v: Float
                if let constant {
                    v = constant
                } else {
                    // splitmix64: fast, and good enough for benchmark weights.
                    state &+= 0x9E37_79B9_7F4A_7C15
                    var z = state
                    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                    z ^= z >> 31
                    v = (Float(z >> 40) / Float(1 << 24) * 2 - 1) * scale
                }
                if f32 {
                    base.storeBytes(of: v, toByteOffset: i * 4, as: Float.self)
                } else {
                    base.storeBytes(
                        of: UInt16(truncatingIfNeeded: v.bitPattern >> 16), toByteOffset: i * 2, as: UInt16.self)
                }
            }
        }
        let matrixRows = shape.count > 1 ? rows : 1
        return WeightMatrix(
            rows: matrixRows, cols: count / max(matrixRows, 1), dtype: dtype,
            base: UnsafeRawPointer(buffer.pointer), owner: buffer)
    }
}
