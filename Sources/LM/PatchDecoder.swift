import Tensor
import Weights

/// The patch decoder (docs/model.md §3.5): from one backbone hidden state, a 16-layer Qwen2 stack with
/// its own short KV cache produces a patch of `groupSize` frames × 8 channels in
/// `groupSize + max(delay)` causal steps; code (frame f, channel c) is chosen at step
/// f + delay[c] with the channel's empty id excluded, and the next step's input is the sum of
/// the embeddings of the codes just chosen.
struct PatchDecoder: Sendable {
    let config: LMConfig
    let hiddenDowncast: Linear
    let stack: Qwen2Stack
    let heads: [Linear]
    /// The patch encoder's channel embeddings (the reference shares them).
    let speechEmbeddings: [Matrix]

    init(_ w: WeightSource, config c: LMConfig, speechEmbeddings: [Matrix]) throws {
        config = c
        self.speechEmbeddings = speechEmbeddings
        hiddenDowncast = try w.linear(
            "hidden_states_downcast", out: c.patchDecoder.hidden, in: c.backbone.hidden, bias: false)
        stack = try Qwen2Stack(w, prefix: "local_transformer", shape: c.patchDecoder)
        heads = try (0..<c.audioChannels).map {
            try w.linear(
                "local_transformer_lm_heads.\($0)", out: c.speechVocabSizes[$0], in: c.patchDecoder.hidden, bias: false)
        }
    }

    /// The decoder's input for one backbone hidden state.
    func input(_ hidden: Matrix, compute: Compute) -> Matrix { hiddenDowncast(hidden, compute) }

    /// One patch of codes `[groupSize][channels]`.
    func callAsFunction<G: RandomNumberGenerator>(
        _ input: Matrix, sampler: Sampler, using rng: inout G, compute: Compute,
        tap: ActivationTap?
    ) -> [[Int]] {
        let c = config
        let cache = stack.makeCache(precision: .f32)
        var tokens = Array(repeating: Array(repeating: 0, count: c.audioChannels), count: c.groupSize)
        var x = input
        var stepHidden: [Matrix] = []
        var channelLogits = Array(repeating: [Matrix](), count: c.audioChannels)
        for t in 0..<c.localSteps {
            let h = stack(x, positions: [t], layout: .cached(cache), compute: compute)
            if tap != nil { stepHidden.append(h) }
            var next = Matrix(rows: 1, cols: c.patchDecoder.hidden)
            // The channels whose delayed frame falls in this step; their heads share `h`, so
            // one parallel pass computes them all.
            let active = (0..<c.audioChannels).filter { (0..<c.groupSize).contains(t - c.delayPattern[$0]) }
            let allLogits = Linear.apply(active.map { heads[$0] }, to: h, compute)
            for (ch, logits) in zip(active, allLogits) {
                let frame = t - c.delayPattern[ch]
                if tap != nil { channelLogits[ch].append(logits) }
                let code = sampler.sample(logits.data, removing: [c.speechEmptyIDs[ch]], using: &rng)
                tokens[frame][ch] = code
                let table = speechEmbeddings[ch]
                for i in 0..<next.cols { next.data[i] += table[code, i] }
            }
            x = next
        }
        if let tap {
            tap("local_step_hidden", Matrix.stack(stepHidden))
            for ch in 0..<c.audioChannels { tap("local_logits_ch\(ch)", Matrix.stack(channelLogits[ch])) }
        }
        return tokens
    }
}
