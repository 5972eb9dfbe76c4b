import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reading whole files with the reason for a failure in plain words (never "error 256"): every
/// module that opens a user's file goes through here.
public enum FileAccess {
    public struct ReadError: Error {
        public let path: String
        public let reason: String
    }

    /// Whether `path` names an existing directory (refused wherever a file is read or written).
    public static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// The file's bytes. A directory, a missing file or one without permission is a `ReadError`
    /// with the system's sentence for it.
    public static func read(_ url: URL, options: Data.ReadingOptions = []) throws -> Data {
        if isDirectory(url.path) { throw ReadError(path: url.path, reason: "it is a directory") }
        do {
            return try Data(contentsOf: url, options: options)
        } catch {
            throw ReadError(path: url.path, reason: describe(error))
        }
    }

    /// The system's sentence for an error number ("File too large").
    public static func systemMessage(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// A plain sentence for an error from Foundation's file APIs.
    public static func describe(_ error: Error) -> String {
        if let read = error as? ReadError { return read.reason }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return systemMessage(Int32(ns.code)) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return systemMessage(Int32(underlying.code))
        }
        if ns.domain == NSCocoaErrorDomain {
            switch ns.code {
            case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return systemMessage(ENOENT)
            case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return systemMessage(EACCES)
            case NSFileWriteOutOfSpaceError: return systemMessage(ENOSPC)
            case NSFileWriteVolumeReadOnlyError: return systemMessage(EROFS)
            default: break
            }
        }
        return ns.localizedDescription
    }
}
