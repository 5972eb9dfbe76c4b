import Tensor
import Weights

/// The patch encoder (docs/model.md §3.3): each speech group's 4 frames of 8 codes become one backbone
/// embedding. The channel embeddings are summed per frame, a 6-layer Qwen2 stack attends within
/// the group, and the group's frames, concatenated, are projected to the backbone width.
struct PatchEncoder: Sendable {
    let config: LMConfig
    /// One table per channel, `[speech vocab, local width]`; the patch decoder reads them too.
    let speechEmbeddings: [Matrix]
    let stack: Qwen2Stack
    let groupDowncast: Linear

    init(_ w: WeightSource, config c: LMConfig) throws {
        config = c
        speechEmbeddings = try (0..<c.audioChannels).map {
            try w.weight("speech_embeddings.\($0).weight", shape: [c.speechVocabSizes[$0], c.patchEncoder.hidden])
                .toMatrix()
        }
        stack = try Qwen2Stack(w, prefix: "input_local_transformer", shape: c.patchEncoder)
        groupDowncast = try w.linear(
            "speech_group_downcast", out: c.backbone.hidden, in: c.patchEncoder.hidden * c.groupSize, bias: false)
    }

    /// Embeddings `[groups.count, backbone width]` of the grid's speech `groups`.
    func callAsFunction(_ grid: TokenGrid, groups: [Int], compute: Compute, tap: ActivationTap?) -> Matrix {
        let c = config
        let d = c.patchEncoder.hidden
        // Island A: the reference sums the 8 channel embeddings into a bf16 buffer, rounding
        // after every add (empty ids contribute 0).
        var patches = Matrix(rows: groups.count * c.groupSize, cols: d)
        for (n, group) in groups.enumerated() {
            for f in 0..<c.groupSize {
                let column = group * c.groupSize + f
                let out = (n * c.groupSize + f) * d
                for ch in 0..<c.audioChannels {
                    let code = grid.rows[ch + 1][column]
                    guard code != c.speechEmptyIDs[ch] else { continue }
                    let table = speechEmbeddings[ch]
                    for i in 0..<d { patches.data[out + i] = BFloat16.round(patches.data[out + i] + table[code, i]) }
                }
            }
        }
        let positions = (0..<groups.count).flatMap { _ in Array(0..<c.groupSize) }
        let encoded = stack(
            patches, positions: positions, layout: .groups(size: c.groupSize, causal: !c.patchEncoderBidirectional),
            bf16Input: true, compute: compute)
        tap?("patch_encoder_out", encoded)
        // Concatenate each patch's frames: [patches, groupSize·d].
        let flat = Matrix(rows: groups.count, cols: c.groupSize * d, data: encoded.data)
        return groupDowncast(flat, compute)
    }
}
