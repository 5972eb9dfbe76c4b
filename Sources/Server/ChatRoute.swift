import Audio
import Foundation
import Hummingbird
import Logging
import MiMoAudio
import NIOCore

extension MiMoServer {
    /// `POST /v1/chat/completions`: the whole completion, or `chat.completion.chunk` events.
    static func chatCompletion(
        _ body: ByteBuffer, service: ChatService, configuration: ServerConfiguration, state: ServerState,
        metrics: ServerMetrics, watch: HangUpWatch
    ) async throws -> Response {
        let arrival = metrics.now
        let chat = try ChatRequest.decode(body.readableBytesView)
        try configuration.models.check(chat.model)
        if chat.speaks { _ = try configuration.voices.voice(chat.voice) }
        let engine = try state.engine()
        let task = try service.taskRequest(chat, engine: engine)
        let sampleRate = try engine.pipeline.requireCodec().sampleRate
        let events = try await StartedEvents.start(
            engine.run(task),
            meter: metrics.generation(endpoint: "/v1/chat/completions", arrival: arrival, engine: engine))
        let id = ChatService.completionID()
        let created = Int(Date().timeIntervalSince1970)
        if chat.stream {
            return streamedChat(
                events, chat: chat, service: service, engine: engine, sampleRate: sampleRate, id: id, created: created,
                watch: watch)
        }
        var samples: [Float] = []
        var finished: TaskResult?
        for try await event in events {
            switch event {
            case .audio(let chunk): samples += chunk
            case .finished(let result): finished = result
            default: break
            }
        }
        guard let result = finished else { throw APIError.internalError("the generation ended without a result") }
        var message: [String: Any] = ["role": "assistant", "content": result.answer]
        if chat.thinking { message["reasoning_content"] = result.thinking ?? "" }
        if chat.speaks {
            let (audioID, expires) = service.keep(result, engine: engine)
            let data = try SpeechService.encode(
                samples, format: ChatService.audioFormat(chat.audioFormat), sampleRate: sampleRate)
            message["audio"] = [
                "id": audioID, "data": data.base64EncodedString(), "expires_at": Int(expires.timeIntervalSince1970),
                "transcript": result.answer,
            ]
        }
        return json([
            "id": id, "object": "chat.completion", "created": created, "model": chat.model,
            "choices": [["index": 0, "message": message, "finish_reason": ChatService.finishReason(result)]],
            "usage": ChatService.usage(result.usage),
        ])
    }

    /// The completion as `chat.completion.chunk` events: text as `delta.content` (and, for a
    /// spoken reply, `delta.audio.transcript`), thinking as `delta.reasoning_content`, speech as
    /// `delta.audio.data` (base64 PCM16 as the streaming decoder produces it); the last chunk has
    /// the `finish_reason` and the reply's audio id; then the usage chunk if asked, then `[DONE]`.
    static func streamedChat(
        _ events: StartedEvents, chat: ChatRequest, service: ChatService, engine: Engine, sampleRate: Int, id: String,
        created: Int, watch: HangUpWatch
    ) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: watch.streamed(
                ResponseBody { writer in
                    func send(_ delta: [String: Any], finish: String? = nil) async throws {
                        let chunk: [String: Any] = [
                            "id": id, "object": "chat.completion.chunk", "created": created, "model": chat.model,
                            "choices": [["index": 0, "delta": delta, "finish_reason": finish as Any]],
                        ]
                        try await writer.write(ByteBuffer(string: "data: " + jsonText(chunk) + "\n\n"))
                    }
                    try await send(["role": "assistant", "content": ""])
                    var finished: TaskResult?
                    for try await event in events {
                        switch event {
                        case .text(let text):
                            var delta: [String: Any] = ["content": text]
                            if chat.speaks { delta["audio"] = ["transcript": text] }
                            try await send(delta)
                        case .thinking(let text): try await send(["reasoning_content": text])
                        case .audio(let samples) where !samples.isEmpty:
                            let pcm = try SpeechService.encode(samples, format: .pcm, sampleRate: sampleRate)
                            try await send(["audio": ["data": pcm.base64EncodedString()]])
                        case .finished(let result): finished = result
                        default: break
                        }
                    }
                    guard let result = finished else { throw CancellationError() }
                    var last: [String: Any] = [:]
                    if chat.speaks {
                        let (audioID, expires) = service.keep(result, engine: engine)
                        last["audio"] = ["id": audioID, "expires_at": Int(expires.timeIntervalSince1970)]
                    }
                    try await send(last, finish: ChatService.finishReason(result))
                    if chat.includeUsage {
                        let chunk: [String: Any] = [
                            "id": id, "object": "chat.completion.chunk", "created": created, "model": chat.model,
                            "choices": [Any](), "usage": ChatService.usage(result.usage),
                        ]
                        try await writer.write(ByteBuffer(string: "data: " + jsonText(chunk) + "\n\n"))
                    }
                    try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                    try await writer.finish(nil)
                }))
    }
}
