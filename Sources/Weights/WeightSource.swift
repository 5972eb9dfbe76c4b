import Tensor

/// Where a model's weights come from: a checkpoint on disk, or synthesised random weights for
/// benchmarks. Models bind every tensor by its checkpoint name once, at load time, so a missing
/// or misshaped tensor fails there, with its name.
public protocol WeightSource {
    /// The tensor `name`, which must have exactly `shape`, as a 2-D weight
    /// `[shape[0], product of the rest]` (a 1-D shape gives `[1, n]`).
    func weight(_ name: String, shape: [Int]) throws -> WeightMatrix

    /// The weight of a linear layer (`[out, in]`): the one a quantizing source may convert.
    func linearWeight(_ name: String, shape: [Int]) throws -> WeightMatrix
}

extension WeightSource {
    public func linearWeight(_ name: String, shape: [Int]) throws -> WeightMatrix {
        try weight(name, shape: shape)
    }

    public func vector(_ name: String, count: Int) throws -> [Float] {
        try weight(name, shape: [count]).toMatrix().data
    }

    public func linear(_ prefix: String, out: Int, in: Int, bias: Bool) throws -> Linear {
        Linear(
            weight: try linearWeight(prefix + ".weight", shape: [out, `in`]),
            bias: bias ? try vector(prefix + ".bias", count: out) : nil)
    }

    public func layerNorm(_ prefix: String, dim: Int, eps: Float = 1e-5) throws -> LayerNorm {
        LayerNorm(
            weight: try vector(prefix + ".weight", count: dim),
            bias: try vector(prefix + ".bias", count: dim), eps: eps)
    }
}
