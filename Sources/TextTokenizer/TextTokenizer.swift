import FileAccess
import Foundation

/// A Hugging Face `tokenizer.json` byte-level BPE tokenizer (Qwen2 family), reproducing
/// `tokenizers` 0.21: `encode` is `tokenizer(text, add_special_tokens=False)` and `decode` is
/// `tokenizer.decode(ids, skip_special_tokens=...)`.
///
/// Encoding runs: added tokens cut out of the raw text → NFC → added tokens marked
/// `normalized` cut out → Qwen2 regex split → byte-level BPE per piece.
///
/// Immutable after loading apart from an internal, lock-protected word cache, so one instance
/// can be shared across threads.
public final class TextTokenizer: Sendable {
    /// Every added token (special or not) by content, with the ids Hugging Face assigns.
    public let specialTokens: SpecialTokens
    /// Largest id of any token plus one.
    public let vocabularySize: Int

    private let vocabulary: [String: Int]
    private let addedIDsByContent: [String: Int]
    private let tokenTable: TokenTable
    private let merger: BytePairMerger
    private let rawTextSplitter: AddedTokenSplitter
    private let normalizedTextSplitter: AddedTokenSplitter
    private let preTokenizer = Qwen2PreTokenizer()
    private let appliesNFC: Bool
    private let ignoresMerges: Bool
    private let cache = WordCache(capacity: 100_000)

    /// Reads `directory/tokenizer.json`.
    public convenience init(directory: URL) throws {
        let url = directory.appendingPathComponent("tokenizer.json")
        let data: Data
        do { data = try FileAccess.read(url) } catch {
            throw TextTokenizerError.unreadable(path: url.path, reason: FileAccess.describe(error))
        }
        try self.init(json: data, source: url.path)
    }

    /// Parses the contents of a `tokenizer.json`; `source` names it in error messages.
    public init(json: Data, source: String) throws {
        let definition = try TokenizerDefinitionParser(source: source).parse(json)
        let vocabulary = definition.vocabulary
        let added = AddedToken.registering(definition.addedTokens, vocabulary: vocabulary)

        tokenTable = try TokenTable(vocabulary: vocabulary, addedTokens: added, source: source)
        vocabularySize = tokenTable.count
        merger = try Self.makeMerger(definition, source: source)

        let nfc = definition.appliesNFC
        rawTextSplitter = AddedTokenSplitter(tokens: added.filter { !$0.normalized }, contentFor: \.content)
        normalizedTextSplitter = AddedTokenSplitter(tokens: added.filter(\.normalized)) { token in
            nfc ? NFCNormalizer.normalize(token.content) : token.content
        }

        var addedIDs: [String: Int] = [:]
        for token in added { addedIDs[token.content] = token.id }
        addedIDsByContent = addedIDs
        specialTokens = SpecialTokens(tokens: addedIDs)

        self.vocabulary = vocabulary
        appliesNFC = nfc
        ignoresMerges = definition.ignoreMerges
    }

    private static func makeMerger(_ definition: TokenizerDefinition, source: String) throws -> BytePairMerger {
        let vocabulary = definition.vocabulary
        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(definition.merges.count)
        for (rank, pair) in definition.merges.enumerated() {
            func missing(_ token: String) -> TextTokenizerError {
                .badMerge(
                    source: source, rank: rank, entry: "\(pair.left) \(pair.right)",
                    reason: "'\(token)' is not in the vocabulary")
            }
            guard let left = vocabulary[pair.left] else { throw missing(pair.left) }
            guard let right = vocabulary[pair.right] else { throw missing(pair.right) }
            let joined = pair.left + pair.right
            guard let merged = vocabulary[joined] else { throw missing(joined) }
            guard rank <= Int(UInt32.max) else {
                throw TextTokenizerError.invalidField(source: source, field: "model.merges", reason: "too many merges")
            }
            // Ids were checked to fit in UInt32 by the parser. A repeated pair keeps its last
            // rank, as Hugging Face's merge map does.
            let key = BytePairMerger.pairKey(Int32(truncatingIfNeeded: left), Int32(truncatingIfNeeded: right))
            merges[key] = UInt64(rank) << 32 | UInt64(UInt32(truncatingIfNeeded: merged))
        }

        let byteTokenIDs = ByteLevelAlphabet.scalarForByte.map { scalar -> Int32 in
            vocabulary[String(scalar)].map { Int32(truncatingIfNeeded: $0) } ?? -1
        }
        let unknownID = definition.unknownToken.flatMap { vocabulary[$0] }.map { Int32(truncatingIfNeeded: $0) }
        return BytePairMerger(
            byteTokenIDs: byteTokenIDs, merges: merges, unknownID: unknownID, fusesUnknown: definition.fusesUnknown)
    }

    // MARK: - Lookup

    /// `convert_ids_to_tokens`: byte-level token strings (`Ġworld`), added tokens as their
    /// content. An id no token has gives "" (Hugging Face gives None).
    public func tokens(_ ids: [Int]) -> [String] {
        ids.map { tokenTable.string(for: $0) ?? "" }
    }

    /// The id of a byte-level token string or an added token's content.
    public func id(of token: String) -> Int? {
        addedIDsByContent[token] ?? vocabulary[token]
    }

    // MARK: - Encoding

    /// `tokenizer(text, add_special_tokens=False)["input_ids"]`.
    public func encode(_ text: String) -> [Int] {
        var ids: [Int] = []
        var text = text
        text.withUTF8 { raw in
            ids.reserveCapacity(raw.count / 3)
            if rawTextSplitter.isEmpty {
                encodeRawText(raw, into: &ids)
                return
            }
            for segment in rawTextSplitter.split(raw) {
                switch segment {
                case .addedToken(let id): ids.append(id)
                case .text(let range): encodeRawText(UnsafeBufferPointer(rebasing: raw[range]), into: &ids)
                }
            }
        }
        return ids
    }

    private func encodeRawText(_ bytes: UnsafeBufferPointer<UInt8>, into ids: inout [Int]) {
        guard appliesNFC, NFCNormalizer.mayChange(bytes) else {
            encodeNormalizedText(bytes, into: &ids)
            return
        }
        NFCNormalizer.normalize(bytes).withUnsafeBufferPointer { encodeNormalizedText($0, into: &ids) }
    }

    private func encodeNormalizedText(_ bytes: UnsafeBufferPointer<UInt8>, into ids: inout [Int]) {
        if normalizedTextSplitter.isEmpty {
            encodeOrdinaryText(bytes, into: &ids)
            return
        }
        for segment in normalizedTextSplitter.split(bytes) {
            switch segment {
            case .addedToken(let id): ids.append(id)
            case .text(let range): encodeOrdinaryText(UnsafeBufferPointer(rebasing: bytes[range]), into: &ids)
            }
        }
    }

    private func encodeOrdinaryText(_ bytes: UnsafeBufferPointer<UInt8>, into ids: inout [Int]) {
        var pieces: [Range<Int>] = []
        preTokenizer.split(bytes, into: &pieces)
        for piece in pieces {
            encodeWord(UnsafeBufferPointer(rebasing: bytes[piece]), into: &ids)
        }
    }

    private func encodeWord(_ word: UnsafeBufferPointer<UInt8>, into ids: inout [Int]) {
        if ignoresMerges, let id = vocabulary[ByteLevelAlphabet.encode(word)] {
            ids.append(id)
            return
        }
        // Single bytes (digits, lone punctuation) are common and need no merging.
        if word.count == 1 {
            let id = merger.byteTokenIDs[Int(word[0])]
            if id >= 0 {
                ids.append(Int(id))
                return
            }
        }
        guard word.count <= WordCache.maximumWordLength else {
            for id in merger.encode(word) { ids.append(Int(id)) }
            return
        }
        let key = Array(word)
        if let cached = cache.value(for: key) {
            for id in cached { ids.append(Int(id)) }
            return
        }
        let merged = merger.encode(word)
        cache.store(merged, for: key)
        for id in merged { ids.append(Int(id)) }
    }

    // MARK: - Decoding

    /// `tokenizer.decode(ids, skip_special_tokens=...)`. Ids no token has are skipped, as
    /// Hugging Face does; bytes that are not valid UTF-8 become U+FFFD.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids { appendBytes(of: id, skippingSpecial: skipSpecialTokens, to: &bytes) }
        return LossyUTF8.decode(bytes)
    }

    func appendBytes(of id: Int, skippingSpecial: Bool, to bytes: inout [UInt8]) {
        tokenTable.appendBytes(of: id, skippingSpecial: skippingSpecial, to: &bytes)
    }
}
