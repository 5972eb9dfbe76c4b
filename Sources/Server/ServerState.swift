import Foundation
import MiMoAudio

/// Where the server is in its life: loading (requests get 503 while /health says so), serving,
/// or draining after SIGTERM (new requests get 503, running ones finish), and how many requests
/// are in flight, so a drain knows when it is over.
final class ServerState: @unchecked Sendable {
    enum Phase {
        case loading
        case failed(String)
        case serving(Engine)
        case draining
    }

    private let lock = NSLock()
    private var phase = Phase.loading
    private var inFlight = 0
    private var drained: (@Sendable () -> Void)?

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

    /// Counts a generating request in; a 503 while draining. Each success is paired with `leave`.
    func enter() throws(APIError) {
        lock.lock()
        defer { lock.unlock() }
        if case .draining = phase { throw .unavailable("The server is shutting down.") }
        inFlight += 1
    }

    func leave() {
        lock.lock()
        inFlight -= 1
        let done = inFlight == 0 ? drained : nil
        if done != nil { drained = nil }
        lock.unlock()
        done?()
    }

    /// Stops admitting requests; `then` runs once none is in flight (at once if none is). A
    /// second call (a second signal) runs it without waiting.
    func drain(then: @escaping @Sendable () -> Void) {
        lock.lock()
        let already: Bool
        if case .draining = phase { already = true } else { already = false }
        phase = .draining
        let now = already || inFlight == 0
        drained = now ? nil : then
        lock.unlock()
        if now { then() }
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
