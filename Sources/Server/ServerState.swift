import Foundation
import MiMoAudio

/// Where the server is in its life: loading (requests get 503 while /health says so), serving,
/// or draining after SIGTERM (new requests get 503, running ones finish).
final class ServerState: @unchecked Sendable {
    enum Phase {
        case loading
        case failed(String)
        case serving(Engine)
        case draining
    }

    private let lock = NSLock()
    private var phase = Phase.loading

    func set(_ next: Phase) {
        lock.lock()
        phase = next
        lock.unlock()
    }

    /// The models are ready: serve, unless a shutdown began while they loaded.
    func loaded(_ engine: Engine) {
        lock.lock()
        if case .loading = phase { phase = .serving(engine) }
        lock.unlock()
    }

    var current: Phase {
        lock.lock()
        defer { lock.unlock() }
        return phase
    }

    /// The engine, or the 503 that explains why there is none.
    func engine() throws(APIError) -> Engine {
        switch current {
        case .serving(let engine): return engine
        case .loading: throw .unavailable("The models are still loading; retry shortly.")
        case .failed(let reason): throw .unavailable("The models failed to load: \(reason)")
        case .draining: throw .unavailable("The server is shutting down.")
        }
    }
}
