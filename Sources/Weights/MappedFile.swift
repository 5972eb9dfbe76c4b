#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A whole file mapped read-only.
///
/// Mapping instead of reading keeps multi-gigabyte checkpoints out of the heap: pages are
/// loaded on first touch and shared with the page cache. `MAP_PRIVATE` means nobody else's
/// later writes through this mapping can reach us. A file truncated by another process while
/// mapped can still raise SIGBUS on access; that is inherent to mmap and not guarded here.
final class MappedFile: @unchecked Sendable {
    let path: String
    /// The file's bytes; valid for the lifetime of this object.
    let bytes: UnsafeRawBufferPointer

    init(path: String) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT { throw WeightsError.fileNotFound(path: path) }
            throw WeightsError.cannotOpen(path: path, reason: MappedFile.describe(errno: code))
        }
        // The mapping keeps its own reference to the file, so the descriptor is not needed
        // once mmap has returned.
        defer { close(descriptor) }

        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw WeightsError.cannotOpen(path: path, reason: MappedFile.describe(errno: errno))
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw WeightsError.cannotOpen(path: path, reason: "not a regular file")
        }
        guard let size = Int(exactly: status.st_size), size >= 0 else {
            throw WeightsError.cannotOpen(path: path, reason: "unrepresentable file size")
        }
        guard size > 0 else {
            // mmap rejects zero-length mappings; an empty buffer serves the same purpose.
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let address, address != MAP_FAILED else {
            throw WeightsError.cannotOpen(path: path, reason: "mmap failed: " + MappedFile.describe(errno: errno))
        }
        #if os(Linux)
            // A hint: where the kernel can back file pages with huge folios, decode's weight stream
            // is not cut by a TLB miss every 4 KB. Failure changes nothing, so it is ignored.
            _ = madvise(address, size, MADV_HUGEPAGE)
        #endif
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }

    private static func describe(errno code: Int32) -> String {
        guard let message = strerror(code) else { return "errno \(code)" }
        return String(cString: message)
    }
}
