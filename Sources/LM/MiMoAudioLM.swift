import Foundation
import Logging
import Tensor
import TextTokenizer
import Weights

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
    let patchEncoder: PatchEncoder
    let backbone: Qwen2Stack
    let lmHead: WeightMatrix
    let patchDecoder: PatchDecoder
    /// Keeps memory-mapped weights alive.
    let weights: any WeightSource & Sendable

    public init(
        config c: LMConfig, weights w: any WeightSource & Sendable, specialTokens: SpecialTokens, compute: Compute,
        kvPrecision: KVPrecision = .f32
    ) throws {
        config = c
        self.compute = compute
        self.kvPrecision = kvPrecision
        self.weights = w
        self.specialTokens = specialTokens
        emptyTextID = try specialTokens.id("<|empty|>")
        guard emptyTextID < c.vocabSize else {
            throw ConfigError.invalidValue(
                key: "vocab_size", reason: "is smaller than the id of <|empty|> (\(emptyTextID))", file: "config.json")
        }
        let hidden = c.backbone.hidden
        embedTokens = try w.weight("model.embed_tokens.weight", shape: [c.vocabSize, hidden])
        backbone = try Qwen2Stack(w, prefix: "model", shape: c.backbone)
        lmHead = c.tieWordEmbeddings ? embedTokens : try w.linearWeight("lm_head.weight", shape: [c.vocabSize, hidden])
        patchEncoder = try PatchEncoder(w, config: c)
        patchDecoder = try PatchDecoder(w, config: c, speechEmbeddings: patchEncoder.speechEmbeddings)
        guard c.patchEncoder.hidden == c.patchDecoder.hidden else {
            // The reference then inserts `speech_embeddings_to_local`; no released checkpoint needs it.
            throw ConfigError.invalidValue(key: "input_local_dim", reason: "must equal local_dim", file: "config.json")
        }
    }

    /// Loads `config.json`, the safetensors weights (memory-mapped, in their stored dtype) and
    /// the special tokens of `tokenizer.json` from an LM checkpoint directory.
    /// `quantize` converts the linear layers to a block-quantized format while loading.
    public convenience init(
        directory: URL, compute: Compute, quantize: WeightFormat? = nil,
        kvPrecision: KVPrecision = .f32
    ) throws {
        let config = try LMConfig(contentsOf: directory.appendingPathComponent("config.json"))
        try self.init(
            config: config, directory: directory, specialTokens: try SpecialTokens(directory: directory),
            compute: compute, quantize: quantize, kvPrecision: kvPrecision)
    }

    /// Loads the weights of `directory` (memory-mapped) for an already decoded config.
    public convenience init(
        config: LMConfig, directory: URL, specialTokens: SpecialTokens, compute: Compute,
        quantize: WeightFormat? = nil, kvPrecision: KVPrecision = .f32
    ) throws {
        let tracked = UsageTrackingSource(try Checkpoint(directory: directory))
        let weights: any WeightSource & Sendable =
            quantize.map { QuantizingSource(tracked, format: $0, compute: compute) } ?? tracked
        try self.init(
            config: config, weights: weights, specialTokens: specialTokens, compute: compute, kvPrecision: kvPrecision)
        tracked.logUnused(Logger(label: "mimo-audio.lm"), model: "MiMo-Audio LM")
    }

    public func makeBackboneCache() -> KVCache { backbone.makeCache(precision: kvPrecision) }

    // MARK: Input embedding (patch encoder)

    /// Embeddings `[groups, hidden]` of the grid's groups: the text embedding for text groups,
    /// the patch encoder's output for audio groups (text = `<|empty|>`).
    public func embed(_ grid: TokenGrid, tap: ActivationTap? = nil) -> Matrix {
        let c = config
        let g = grid.groups(size: c.groupSize)
        let speechGroups = (0..<g).filter { grid.text(group: $0, size: c.groupSize) == emptyTextID }
        var speech = Matrix(rows: g, cols: c.backbone.hidden)
        if !speechGroups.isEmpty {
            let projected = patchEncoder(grid, groups: speechGroups, compute: compute, tap: tap)
            for (n, group) in speechGroups.enumerated() {
                speech.data.replaceSubrange(
                    (group * c.backbone.hidden)..<((group + 1) * c.backbone.hidden),
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
    public func backboneForward(_ embeds: Matrix, cache: KVCache, tap: ActivationTap? = nil) -> Matrix {
        let positions = Array(cache.count..<(cache.count + embeds.rows))
        return backbone(
            embeds, positions: positions, layout: .cached(cache), compute: compute,
            layerTap: tap.map { t in { index, h in if index == 0 { t("backbone_layer_input1", h) } } })
    }

    /// Text logits `[vocab]` of one hidden state.
    public func textLogits(_ hidden: Matrix) -> Matrix { lmHead.project(hidden, compute: compute) }

    /// The patch decoder's input for one hidden state.
    public func localHidden(_ hidden: Matrix) -> Matrix { patchDecoder.input(hidden, compute: compute) }

    /// One patch of audio codes `[groupSize][channels]` from `localHidden` (see `PatchDecoder`).
    public func decodePatch<G: RandomNumberGenerator>(
        _ localHidden: Matrix, sampler: Sampler, using rng: inout G,
        tap: ActivationTap? = nil
    ) -> [[Int]] {
        patchDecoder(localHidden, sampler: sampler, using: &rng, compute: compute, tap: tap)
    }
}
