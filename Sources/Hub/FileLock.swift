import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive `flock` on a lock file, the lock `huggingface_hub` (through `filelock`) takes on
/// `.locks/models--ORG--NAME/<etag>.lock`, so its downloads and ours of the same blob take turns.
final class FileLock {
    private let descriptor: Int32

    /// Waits (polling, as `filelock` does, so an async task never blocks its thread for long)
    /// until the lock is ours.
    static func acquire(_ url: URL, poll: Duration = .milliseconds(50)) async throws -> FileLock {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let fd = open(url.path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else {
            throw HubError.fileSystem(
                path: url.path, reason: "cannot open lock file: \(String(cString: strerror(errno)))")
        }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw HubError.fileSystem(path: url.path, reason: "cannot lock: \(reason)")
            }
            do { try await Task.sleep(for: poll) } catch {
                close(fd)
                throw error
            }
        }
        return FileLock(descriptor: fd)
    }

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
