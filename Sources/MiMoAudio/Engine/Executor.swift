import Foundation

/// The one place compute happens: jobs run one at a time, in the order they were submitted, on
/// the executor's own thread, so requests never compete for the cores or the worker pool. At
/// most `capacity` jobs wait behind the running one; more are refused (a server answers 429). A
/// job that finds the executor idle always runs, whatever the capacity.
///
/// Batching concurrent streams (one backbone step for several requests) belongs here: the
/// executor would take every waiting job that is between steps and run their steps together.
final class Executor: @unchecked Sendable {
    let capacity: Int
    private let queue = DispatchQueue(label: "mimo-audio.engine.executor")
    private let lock = NSLock()
    private var waiting = 0
    private var running = false

    init(capacity: Int) { self.capacity = capacity }

    /// Jobs submitted and not started.
    var waitingCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return waiting
    }

    /// Queues `job`; `queued` runs first, in queue order (under the queue's lock: keep it short).
    func submit(_ job: @escaping @Sendable () -> Void, queued: () -> Void = {}) throws {
        lock.lock()
        guard waiting < capacity || (!running && waiting == 0) else {
            lock.unlock()
            throw EngineError.queueFull(capacity: capacity)
        }
        waiting += 1
        queued()
        // Enqueued under the lock, so the run order is the order `queued` recorded.
        defer { lock.unlock() }
        queue.async { [self] in
            lock.lock()
            waiting -= 1
            running = true
            lock.unlock()
            job()
            lock.lock()
            running = false
            lock.unlock()
        }
    }
}
