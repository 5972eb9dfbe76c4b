import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The process's standard output and error, written with checked writes: a closed, broken or
/// full stream ends the program with a message and a non-zero exit instead of a trap or a
/// silent success. Process-wide by nature (there is one stdout), so one shared instance.
final class Console: @unchecked Sendable {
    static let shared = Console()

    enum Stream: Int32, CustomStringConvertible {
        case output = 1
        case error = 2
        var description: String { self == .output ? "standard output" : "standard error" }
    }

    struct WriteError: Error, CustomStringConvertible {
        let stream: Stream
        let reason: String
        var description: String { "cannot write to \(stream): \(reason)" }
    }

    private let lock = NSLock()
    private var closedAtStart: Set<Int32> = []
    /// The first failed write to standard error (it cannot report itself; the exit code does).
    private(set) var errorStreamFailure: WriteError?

    /// Call first thing: a write to a closed pipe then fails with EPIPE instead of killing the
    /// process, and a standard stream the caller closed is reserved on /dev/null so no file the
    /// program opens lands on its number — writes to it still fail, as "closed".
    func setUp() {
        signal(SIGPIPE, SIG_IGN)
        for fd in [Stream.output.rawValue, Stream.error.rawValue] where fcntl(fd, F_GETFD) < 0 && errno == EBADF {
            closedAtStart.insert(fd)
            let null = open("/dev/null", O_WRONLY)
            if null >= 0 && null != fd {
                dup2(null, fd)
                close(null)
            }
        }
    }

    func write(_ data: Data, to stream: Stream) throws {
        lock.lock()
        defer { lock.unlock() }
        guard !closedAtStart.contains(stream.rawValue) else { throw WriteError(stream: stream, reason: "it is closed") }
        try data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(stream.rawValue, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw WriteError(stream: stream, reason: String(cString: strerror(errno)))
                }
                offset += n
            }
        }
    }

    /// Data for the user: a failure is thrown.
    func out(_ text: String) throws { try write(Data(text.utf8), to: .output) }

    /// Progress and warnings: a failure is remembered and makes the exit code non-zero.
    func err(_ text: String) {
        do { try write(Data(text.utf8), to: .error) } catch let error as WriteError {
            lock.lock()
            if errorStreamFailure == nil { errorStreamFailure = error }
            lock.unlock()
        } catch {}
    }
}

/// A failure at run time (exit code 1); usage errors are `ValidationError`s (exit code 64).
struct RuntimeFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
