import MiMoAudio

/// An assistant turn as history for the next one: what the model generated, cut where the
/// listener stopped hearing it, and closed the way a turn the model ends itself is closed.
enum RealtimeHistory {
    /// `generated` (a grid of whole groups: one text id per group, its speech codes below) up to
    /// the speech group that holds the `keepingAudioMs`-th millisecond of audio; text groups after
    /// it, which ran ahead of the kept audio, are dropped.
    static func cut(_ generated: TokenGrid, keepingAudioMs ms: Int, pipeline: Pipeline) -> TokenGrid {
        let gs = pipeline.lm.config.groupSize
        let empty = pipeline.textTokenizer.specialTokens.idsByName["<|empty|>"]
        // 25 frames per second, `gs` frames per speech group.
        let frames = Int((Double(ms) * pipeline.frameRate / 1000).rounded(.up))
        let keptSpeechGroups = (frames + gs - 1) / gs
        var speech = 0
        var end = 0
        for g in 0..<generated.groups(size: gs) {
            guard speech < keptSpeechGroups else { break }
            if generated.text(group: g, size: gs) == empty { speech += 1 }
            end = g + 1
        }
        return generated.slice(0..<(end * gs))
    }

    /// The reply's prompt and generated groups, closed if the model did not close them: a spoken
    /// reply with `<|eot|>` when its text had not ended, then `<|eostm|>` (a turn the model ends
    /// itself stops at `<|eostm|>`, and the next user turn follows it directly); a text reply
    /// with `<|im_end|>` and a newline.
    static func closed(_ reply: RealtimeSession.Reply, pipeline: Pipeline) -> TokenGrid {
        let gs = pipeline.lm.config.groupSize
        let names = pipeline.textTokenizer.specialTokens.idsByName
        let texts = (0..<reply.generated.groups(size: gs)).map { reply.generated.text(group: $0, size: gs) }
        var grid = reply.prompt
        grid.append(reply.generated)
        let stops = ["<|eostm|>", "<|im_end|>", "<|endoftext|>"].compactMap { names[$0] }
        guard let lastText = texts.last, stops.contains(lastText) else {
            var closing: [PromptSegment] = [.text("<|im_end|>\n")]
            if reply.speaks {
                closing = [.text("<|eostm|>")]
                if let eot = names["<|eot|>"], !texts.contains(eot) { closing.insert(.text("<|eot|>"), at: 0) }
            }
            if let tail = try? pipeline.prompts.grid(closing) { grid.append(tail) }
            return grid
        }
        return grid
    }
}
