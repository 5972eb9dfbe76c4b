import Foundation

@testable import TextTokenizer

/// Builds small `tokenizer.json` objects with the supported pipeline, for tests that need a
/// particular vocabulary, merge list or model option.
enum SyntheticTokenizerFile {
    static func object(
        vocab: [String: Int],
        merges: [Any],
        modelOptions: [String: Any] = [:],
        addedTokens: [[String: Any]] = []
    ) -> [String: Any] {
        var model: [String: Any] = [
            "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": "",
            "end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": vocab, "merges": merges,
        ]
        model.merge(modelOptions) { _, new in new }
        return [
            "version": "1.0",
            "added_tokens": addedTokens,
            "normalizer": ["type": "NFC"],
            "pre_tokenizer": [
                "type": "Sequence",
                "pretokenizers": [
                    [
                        "type": "Split", "pattern": ["Regex": TokenizerDefinitionParser.qwen2Pattern],
                        "behavior": "Isolated", "invert": false,
                    ],
                    ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false],
                ],
            ],
            "post_processor": [
                "type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false,
            ],
            "decoder": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false],
            "model": model,
        ]
    }

    static func tokenizer(_ object: [String: Any], source: String = "synthetic.json") throws -> TextTokenizer {
        try TextTokenizer(json: JSONSerialization.data(withJSONObject: object), source: source)
    }
}
