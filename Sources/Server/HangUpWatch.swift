import Foundation
import Hummingbird
import NIOCore

/// Watches a request's connection for the client leaving, for as long as the request's handler
/// and its streamed response run, and cancels that work when it does (the engine then stops within
/// one decode step). Hummingbird's `consumeWithCancellationOnInboundClose` watches only while the
/// handler runs, so a streamed body, written after the handler returns, would otherwise notice a
/// departed client only when a write fails, which can be many steps later (nothing is written
/// during a think block).
///
/// The watch reads the connection's inbound side to its end, so the connection is not reused:
/// responses say `Connection: close`.
final class HangUpWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var closed = false
    private var ended = false
    private var streaming = false
    private var waiters: [AsyncStream<Void>.Continuation] = []
    /// Reads the inbound side; it must be over before Hummingbird reads the connection again.
    private var reader: Task<Void, Never>?

    /// Runs `handler` with the request body (at most `limit` bytes) under a watch that lasts until
    /// the response is written or the client has left; then `onEnd` runs (whether or not the
    /// response body was ever written).
    static func run(
        _ request: Request, limit: Int, onEnd: @escaping @Sendable () -> Void,
        _ handler: @escaping @Sendable (ByteBuffer, HangUpWatch) async throws -> Response
    ) async throws -> Response {
        let watch = HangUpWatch()
        let (bodies, delivery) = AsyncStream<Result<ByteBuffer, Error>>.makeStream()
        let reader = Task {
            defer { onEnd() }
            _ = try? await request.body.consumeWithInboundCloseHandler { body in
                do { delivery.yield(.success(try await body.collect(upTo: limit))) } catch {
                    delivery.yield(.failure(error))
                }
                delivery.finish()
                await watch.closedOrEnded()
            } onInboundClosed: {
                watch.close()
            }
        }
        watch.lock.withLock { watch.reader = reader }
        do {
            let response = try await watch.cancellingOnClose {
                var iterator = bodies.makeAsyncIterator()
                guard let body = await iterator.next() else { throw CancellationError() }
                return try await handler(try body.get(), watch)
            }
            if !watch.isStreaming { await watch.end() }
            return response
        } catch {
            await watch.end()
            throw error
        }
    }

    /// A streamed response body whose writing stops when the client leaves; the watch ends with it.
    func streamed(_ body: ResponseBody) -> ResponseBody {
        lock.withLock { streaming = true }
        return ResponseBody(contentLength: body.contentLength) { writer in
            let transfer = WriterTransfer(writer: writer)
            do { try await self.cancellingOnClose { try await body.write(transfer.writer) } } catch {
                await self.end()
                throw error
            }
            await self.end()
        }
    }

    /// `operation`, cancelled (with a `CancellationError`) if the client leaves first.
    func cancellingOnClose<Value: Sendable>(_ operation: @escaping @Sendable () async throws -> Value) async throws
        -> Value
    {
        try await withThrowingTaskGroup(of: Value?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                await self.closedOrEnded()
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw CancellationError() }
            return value
        }
    }

    private var isStreaming: Bool { lock.withLock { streaming } }

    private func close() { finish { $0.closed = true } }

    /// The response is written: stops the reader and waits until it has stopped.
    private func end() async {
        finish { $0.ended = true }
        await lock.withLock { reader }?.value
    }

    private func finish(_ mark: (HangUpWatch) -> Void) {
        let woken: [AsyncStream<Void>.Continuation] = lock.withLock {
            mark(self)
            defer { waiters = [] }
            return waiters
        }
        for waiter in woken { waiter.finish() }
    }

    /// Returns when the client has left or the response is written, or the caller is cancelled.
    private func closedOrEnded() async {
        let (signal, continuation) = AsyncStream<Void>.makeStream()
        let done = lock.withLock {
            if !closed && !ended { waiters.append(continuation) }
            return closed || ended
        }
        if done { continuation.finish() }
        for await _ in signal {}
    }
}

/// The response writer, handed to the child task that writes while the watch runs beside it
/// (only that task uses it).
private struct WriterTransfer: @unchecked Sendable {
    var writer: any ResponseBodyWriter
}
