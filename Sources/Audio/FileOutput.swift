import FileAccess
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes whole files with checked POSIX calls, so a failure (a full disk, a file-size limit, a
/// directory in the way, no permission) is reported as the system says it, with the path.
public enum FileOutput {
    /// Writes `data` to a temporary file beside `path`, then renames it into place: the
    /// destination is either complete or untouched.
    public static func write(_ data: Data, to path: String) throws {
        if FileAccess.isDirectory(path) {
            throw WAVError.writeFailed(path: path, reason: "it is a directory")
        }
        let temporary = path + ".partial-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WAVError.writeFailed(path: path, reason: FileAccess.systemMessage(errno)) }
        do {
            try data.withUnsafeBytes { try writeAll(fd, $0, path: path) }
            guard close(fd) == 0 else {
                throw WAVError.writeFailed(path: path, reason: FileAccess.systemMessage(errno))
            }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw WAVError.writeFailed(path: path, reason: FileAccess.systemMessage(code))
        }
    }

    /// Appends `data` to the file at `path` (which must exist).
    public static func append(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw WAVError.writeFailed(path: path, reason: FileAccess.systemMessage(errno)) }
        defer { close(fd) }
        try data.withUnsafeBytes { try writeAll(fd, $0, path: path) }
    }

    /// Writes every byte of `bytes` to `fd`, retrying interrupted and partial writes.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw WAVError.writeFailed(path: path, reason: FileAccess.systemMessage(errno))
            }
            offset += n
        }
    }
}
