import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging

extension MiMoServer {
    /// `GET /v1/realtime` upgraded to a WebSocket speaking the OpenAI Realtime events. The key is
    /// taken from `Authorization: Bearer` or, for browsers (which cannot set headers), from the
    /// `openai-insecure-api-key.KEY` subprotocol, as OpenAI's API takes it. A refused upgrade can
    /// only be an empty 400 (hummingbird-websocket writes it), so a wrong key is told as an
    /// `error` event (`invalid_api_key`) on the upgraded socket, which is then closed (1008).
    static func makeRealtimeRouter(
        _ configuration: ServerConfiguration, state: ServerState, logger: Logger
    ) -> Router<BasicWebSocketRequestContext> {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.ws(
            "/v1/realtime",
            shouldUpgrade: { request, _ in
                // A browser fails the handshake unless one offered subprotocol is chosen.
                var headers: HTTPFields = [:]
                if subprotocols(request).contains("realtime") { headers[.secWebSocketProtocol] = "realtime" }
                return .upgrade(headers)
            },
            onUpgrade: { inbound, outbound, context in
                if let key = configuration.apiKey, !authorized(context.request, key: key) {
                    let error = APIError.unauthorized()
                    let event: [String: Any] = [
                        "type": "error", "event_id": "event_auth",
                        "error": [
                            "type": error.type, "code": error.code ?? "", "message": error.message, "param": NSNull(),
                            "event_id": NSNull(),
                        ],
                    ]
                    try? await outbound.write(.text(jsonText(event)))
                    try? await outbound.close(.policyViolation, reason: "invalid API key")
                    return
                }
                let session = RealtimeSession(
                    engine: { try state.engine() }, configuration: configuration, logger: context.logger,
                    send: { event in try? await outbound.write(.text(jsonText(event))) })
                await session.start()
                do {
                    for try await message in inbound.messages(maxSize: configuration.maxBodyBytes) {
                        switch message {
                        case .text(let text): await session.receive(text)
                        case .binary:
                            await session.fail(
                                RealtimeError("Events are JSON text frames, not binary ones.", code: "invalid_frame"))
                        }
                    }
                } catch {
                    context.logger.debug("realtime socket closed: \(error)")
                }
                await session.close()
            })
        return router
    }

    static func subprotocols(_ request: Request) -> [String] {
        (request.headers[.secWebSocketProtocol] ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
    }

    /// The key from `Authorization: Bearer` or the `openai-insecure-api-key.` subprotocol.
    static func authorized(_ request: Request, key: String) -> Bool {
        let prefix = "openai-insecure-api-key."
        let bearer = request.headers[.authorization].flatMap { header -> String? in
            header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : nil
        }
        let offered = subprotocols(request).first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        guard let given = bearer ?? offered else { return false }
        return BearerAuthMiddlewareCheck.equal(given, key)
    }
}
