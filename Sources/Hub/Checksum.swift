import Crypto
import Foundation

/// The checksums the hub names files by: an LFS file's etag is the sha256 of its contents; any
/// other file's is its git blob id, sha1("blob <size>\0" + contents).
enum Checksum {
    static func isSHA256(_ etag: String) -> Bool { etag.utf8.count == 64 && etag.utf8.allSatisfy(isHex) }
    static func isGitSHA1(_ etag: String) -> Bool { etag.utf8.count == 40 && etag.utf8.allSatisfy(isHex) }

    /// The checksum of `file` in the etag's kind (sha256 or git sha1); nil for an etag of neither
    /// kind, which cannot be verified.
    static func of(_ file: URL, like etag: String) throws -> String? {
        if isSHA256(etag) {
            var hash = SHA256()
            try read(file) { hash.update(data: $0) }
            return hex(hash.finalize())
        }
        if isGitSHA1(etag) {
            let size = try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber
            var hash = Insecure.SHA1()
            hash.update(data: Data("blob \(size?.int64Value ?? 0)\0".utf8))
            try read(file) { hash.update(data: $0) }
            return hex(hash.finalize())
        }
        return nil
    }

    private static func read(_ file: URL, _ body: (Data) -> Void) throws {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty { body(chunk) }
    }

    private static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    private static func isHex(_ c: UInt8) -> Bool { (48...57).contains(c) || (97...102).contains(c) }
}
