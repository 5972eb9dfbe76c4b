/// The model ids `serve` answers to: the loaded model's own id and the OpenAI names clients send
/// by default, which all mean the loaded model (`GET /v1/models` lists both).
public struct ModelCatalog: Sendable {
    /// The loaded LM's id (its repo id, or its directory's name).
    public let id: String

    /// OpenAI's speech, transcription and audio-chat model names, accepted as aliases.
    public static let aliases = [
        "tts-1", "tts-1-hd", "gpt-4o-mini-tts", "whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe",
        "gpt-4o-audio-preview", "gpt-4o-mini-audio-preview",
    ]

    public init(id: String) { self.id = id }

    public var ids: [String] { [id] + Self.aliases }

    /// Checks the request's `model`; any other name is a 404, as OpenAI answers an unknown model.
    public func check(_ model: String) throws(APIError) {
        guard ids.contains(model) else {
            throw .notFound(
                "The model '\(model)' does not exist; this server serves \(ids.joined(separator: ", ")).",
                param: "model", code: "model_not_found")
        }
    }
}
