import Foundation
import Logging
import Tensor
import TextTokenizer
import Weights

/// Receives intermediate activations by golden-file name (`mixed.inputs_embeds`, ...).
public typealias LMTap = (String, Matrix) -> Void

/// The MiMo-Audio language model: patch encoder (audio patches → embeddings), Qwen2 backbone
/// (one position per 4-frame group), text head, and patch decoder (one group of audio codes
/// per speech step). Immutable once loaded; per-sequence state lives in `KVCache`s.
public final class MiMoAudioLM: Sendable {
    public let config: LMConfig
    public let compute: Compute
    /// Id of `<|empty|>`, looked up by name in the text tokenizer.
    public let emptyTextID: Int
    public let specialTokens: SpecialTokens
    /// Storage of the backbone's KV caches (the patch decoder's 11-step caches stay f32).
    public let kvPrecision: KVPrecision

    let embedTokens: WeightMatrix
    let backbone: Qwen2Stack
    let lmHead: WeightMatrix
    let patchEncoder: Qwen2Stack
    let speechEmbeddings: [Matrix]
    let speechGroupDowncast: Linear
    let hiddenStatesDowncast: Linear
    let patchDecoder: Qwen2Stack
    let localHeads: [Linear]
    /// Keeps memory-mapped weights alive.
    let weights: any WeightSource & Sendable

    public init(config c: LMConfig, weights w: any WeightSource & Sendable, specialTokens: SpecialTokens, compute: Compute,
                kvPrecision: KVPrecision = .f32) throws {
        config = c
        self.compute = compute
        self.kvPrecision = kvPrecision
        self.weights = w
        self.specialTokens = specialTokens
        emptyTextID = try specialTokens.id("<|empty|>")
        guard emptyTextID < c.vocabSize else {
            throw ConfigError.invalidValue(key: "vocab_size", reason: "is smaller than the id of <|empty|> (\(emptyTextID))", file: "config.json")
        }
        let hidden = c.backbone.hidden
        embedTokens = try w.weight("model.embed_tokens.weight", shape: [c.vocabSize, hidden])
        backbone = try Qwen2Stack(w, prefix: "model", shape: c.backbone)
        lmHead = c.tieWordEmbeddings ? embedTokens : try w.linearWeight("lm_head.weight", shape: [c.vocabSize, hidden])
        patchEncoder = try Qwen2Stack(w, prefix: "input_local_transformer", shape: c.patchEncoder)
        speechEmbeddings = try (0..<c.audioChannels).map {
            try w.weight("speech_embeddings.\($0).weight", shape: [c.speechVocabSizes[$0], c.patchEncoder.hidden]).toMatrix()
        }
        speechGroupDowncast = try w.linear("speech_group_downcast", out: hidden, in: c.patchEncoder.hidden * c.groupSize, bias: false)
        hiddenStatesDowncast = try w.linear("hidden_states_downcast", out: c.patchDecoder.hidden, in: hidden, bias: false)
        patchDecoder = try Qwen2Stack(w, prefix: "local_transformer", shape: c.patchDecoder)
        localHeads = try (0..<c.audioChannels).map {
            try w.linear("local_transformer_lm_heads.\($0)", out: c.speechVocabSizes[$0], in: c.patchDecoder.hidden, bias: false)
        }
        guard c.patchEncoder.hidden == c.patchDecoder.hidden else {
            // The reference then inserts `speech_embeddings_to_local`; no released checkpoint needs it.
            throw ConfigError.invalidValue(key: "input_local_dim", reason: "must equal local_dim", file: "config.json")
        }
    }

    /// Loads `config.json`, the safetensors weights (memory-mapped, in their stored dtype) and
    /// the special tokens of `tokenizer.json` from an LM checkpoint directory.
    /// `quantize` converts the linear layers to a block-quantized format while loading.
    public convenience init(directory: URL, compute: Compute, quantize: WeightFormat? = nil,
                            kvPrecision: KVPrecision = .f32) throws {
        let config = try LMConfig(contentsOf: directory.appendingPathComponent("config.json"))
        try self.init(config: config, directory: directory, specialTokens: try SpecialTokens(directory: directory),
                      compute: compute, quantize: quantize, kvPrecision: kvPrecision)
    }

    /// Loads the weights of `directory` (memory-mapped) for an already decoded config.
    public convenience init(config: LMConfig, directory: URL, specialTokens: SpecialTokens, compute: Compute,
                            quantize: WeightFormat? = nil, kvPrecision: KVPrecision = .f32) throws {
        let tracked = UsageTrackingSource(try Checkpoint(directory: directory))
        let weights: any WeightSource & Sendable = quantize.map { QuantizingSource(tracked, format: $0, compute: compute) } ?? tracked
        try self.init(config: config, weights: weights, specialTokens: specialTokens, compute: compute, kvPrecision: kvPrecision)
        tracked.logUnused(Logger(label: "mimo-audio.lm"), model: "MiMo-Audio LM")
    }

    public func makeBackboneCache() -> KVCache { backbone.makeCache(precision: kvPrecision) }

    // MARK: Input embedding (patch encoder)

    /// Embeddings `[groups, hidden]` of the grid's groups: the text embedding for text groups,
    /// the patch encoder's output for audio groups (text = `<|empty|>`).
    public func embed(_ grid: TokenGrid, tap: LMTap? = nil) -> Matrix {
        let c = config
        let g = grid.groups(size: c.groupSize)
        let d = c.patchEncoder.hidden
        let speechGroups = (0..<g).filter { grid.text(group: $0, size: c.groupSize) == emptyTextID }

        // Island A: the reference sums the 8 channel embeddings into a bf16 buffer, rounding
        // after every add (empty ids contribute 0).
        var patches = Matrix(rows: speechGroups.count * c.groupSize, cols: d)
        for (n, group) in speechGroups.enumerated() {
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
        var speech = Matrix(rows: g, cols: c.backbone.hidden)
        if !speechGroups.isEmpty {
            let positions = (0..<speechGroups.count).flatMap { _ in Array(0..<c.groupSize) }
            let encoded = patchEncoder(patches, positions: positions,
                                       layout: .groups(size: c.groupSize, causal: !c.patchEncoderBidirectional),
                                       bf16Input: true, compute: compute)
            tap?("patch_encoder_out", encoded)
            // Concatenate each patch's frames: [patches, groupSize·d].
            let flat = Matrix(rows: speechGroups.count, cols: c.groupSize * d, data: encoded.data)
            let projected = speechGroupDowncast(flat, compute)
            for (n, group) in speechGroups.enumerated() {
                speech.data.replaceSubrange((group * c.backbone.hidden)..<((group + 1) * c.backbone.hidden),
                                            with: projected.row(n))
            }
        }
        tap?("speech_group_downcast_out", speech)
        var embeds = speech
        let hidden = c.backbone.hidden
        embeds.data.withUnsafeMutableBufferPointer { e in
            let row = UnsafeMutablePointer<Float>.allocate(capacity: hidden)
            defer { row.deallocate() }
            for group in 0..<g {
                let id = grid.text(group: group, size: c.groupSize)
                guard id != emptyTextID else { continue }
                embedTokens.widenRows(id..<(id + 1), into: row)
                for i in 0..<hidden { e[group * hidden + i] += row[i] }
            }
        }
        tap?("inputs_embeds", embeds)
        return embeds
    }

    // MARK: Backbone

    /// Runs the backbone over new embeddings appended to `cache`; returns the final hidden
    /// states `[n, hidden]` (after the last RMSNorm).
    public func backboneForward(_ embeds: Matrix, cache: KVCache, tap: LMTap? = nil) -> Matrix {
        let positions = Array(cache.count..<(cache.count + embeds.rows))
        return backbone(embeds, positions: positions, layout: .cached(cache), compute: compute,
                        layerTap: tap.map { t in { index, h in if index == 0 { t("backbone_layer_input1", h) } } })
    }

    /// Text logits `[vocab]` of one hidden state.
    public func textLogits(_ hidden: Matrix) -> Matrix { lmHead.project(hidden, compute: compute) }

    /// The patch decoder's input for one hidden state.
    public func localHidden(_ hidden: Matrix) -> Matrix { hiddenStatesDowncast(hidden, compute) }

    // MARK: Patch decoder

    /// One patch of audio codes `[groupSize][channels]` from the backbone's downcast hidden
    /// state: `groupSize + max(delay)` causal steps; code (frame f, channel c) is chosen at step
    /// f + delay[c] with the channel's empty id excluded, and the next step's input is the sum
    /// of the embeddings of the codes just chosen.
    public func decodePatch<G: RandomNumberGenerator>(_ localHidden: Matrix, sampler: Sampler, using rng: inout G,
                                                      tap: LMTap? = nil) -> [[Int]] {
        let c = config
        let cache = patchDecoder.makeCache(precision: .f32)
        var tokens = Array(repeating: Array(repeating: 0, count: c.audioChannels), count: c.groupSize)
        var input = localHidden
        var stepHidden: [Matrix] = []
        var channelLogits = Array(repeating: [Matrix](), count: c.audioChannels)
        for t in 0..<c.localSteps {
            let h = patchDecoder(input, positions: [t], layout: .cached(cache), compute: compute)
            stepHidden.append(h)
            var next = Matrix(rows: 1, cols: c.patchDecoder.hidden)
            // The channels whose delayed frame falls in this step; their heads share `h`, so
            // one parallel pass computes them all.
            let active = (0..<c.audioChannels).filter { (0..<c.groupSize).contains(t - c.delayPattern[$0]) }
            let allLogits = Linear.apply(active.map { localHeads[$0] }, to: h, compute)
            for (ch, logits) in zip(active, allLogits) {
                let frame = t - c.delayPattern[ch]
                if tap != nil { channelLogits[ch].append(logits) }
                let code = sampler.sample(logits.data, removing: [c.speechEmptyIDs[ch]], using: &rng)
                tokens[frame][ch] = code
                let table = speechEmbeddings[ch]
                for i in 0..<next.cols { next.data[i] += table[code, i] }
            }
            input = next
        }
        if let tap {
            tap("local_step_hidden", Matrix.stack(stepHidden))
            for ch in 0..<c.audioChannels { tap("local_logits_ch\(ch)", Matrix.stack(channelLogits[ch])) }
        }
        return tokens
    }
}
