import Foundation

/// The hub cache as `huggingface_hub` lays it out, shared with Python tools:
///
///     <cache>/models--ORG--NAME/blobs/<etag>                 file contents, named by their etag
///     <cache>/models--ORG--NAME/snapshots/<commit>/<path>    relative symlinks to the blobs
///     <cache>/models--ORG--NAME/refs/<revision>              the commit a branch or tag was at
///     <cache>/.locks/models--ORG--NAME/<etag>.lock           held while a blob is written
public struct HubCache: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    public func repoDirectory(_ repo: RepoID) -> URL { root.appendingPathComponent(repo.cacheFolderName) }
    func blob(_ repo: RepoID, etag: String) -> URL {
        repoDirectory(repo).appendingPathComponent("blobs").appendingPathComponent(etag)
    }
    func snapshotDirectory(_ repo: RepoID, commit: String) -> URL {
        repoDirectory(repo).appendingPathComponent("snapshots").appendingPathComponent(commit)
    }
    func ref(_ repo: RepoID, revision: String) -> URL {
        repoDirectory(repo).appendingPathComponent("refs").appendingPathComponent(revision)
    }
    func lock(_ repo: RepoID, etag: String) -> URL {
        root.appendingPathComponent(".locks").appendingPathComponent(repo.cacheFolderName)
            .appendingPathComponent("\(etag).lock")
    }

    /// The commit the cache holds for `revision` (a commit hash itself, or a branch or tag recorded
    /// under refs/), if its snapshot exists.
    public func cachedCommit(_ repo: RepoID, revision: String) -> String? {
        let commit =
            isCommitHash(revision)
            ? revision
            : (try? String(contentsOf: ref(repo, revision: revision), encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        guard let commit, isCommitHash(commit) else { return nil }
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(
            atPath: snapshotDirectory(repo, commit: commit).path, isDirectory: &isDirectory)
        return exists && isDirectory.boolValue ? commit : nil
    }

    func writeRef(_ repo: RepoID, revision: String, commit: String) throws {
        guard revision != commit else { return }
        let url = ref(repo, revision: revision)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(commit.utf8).write(to: url, options: .atomic)
    }

    /// Points snapshots/<commit>/<path> at the blob with a relative symlink, as `huggingface_hub`
    /// does (so the cache can be moved), replacing what was there.
    func link(_ repo: RepoID, commit: String, path: String, etag: String) throws {
        let pointer = snapshotDirectory(repo, commit: commit).appendingPathComponent(path)
        let fm = FileManager.default
        try fm.createDirectory(at: pointer.deletingLastPathComponent(), withIntermediateDirectories: true)
        let depth = path.split(separator: "/").count - 1
        let target = String(repeating: "../", count: depth + 2) + "blobs/" + etag
        if (try? fm.destinationOfSymbolicLink(atPath: pointer.path)) == target { return }
        try? fm.removeItem(at: pointer)
        try fm.createSymbolicLink(atPath: pointer.path, withDestinationPath: target)
    }

    /// Whether snapshots/<commit>/<path> resolves to a file.
    func has(_ repo: RepoID, commit: String, path: String) -> Bool {
        FileManager.default.fileExists(
            atPath: snapshotDirectory(repo, commit: commit).appendingPathComponent(path).path)
    }

    /// The models in the cache, with their revisions and size on disk.
    public func models() -> [CachedModel] {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: root.path) else { return [] }
        return entries.sorted().compactMap { entry -> CachedModel? in
            guard entry.hasPrefix("models--") else { return nil }
            let parts = entry.dropFirst("models--".count).components(separatedBy: "--")
            guard parts.count == 2, let repo = try? RepoID(organization: parts[0], name: parts[1]) else { return nil }
            let directory = repoDirectory(repo)
            let commits =
                (try? fm.contentsOfDirectory(atPath: directory.appendingPathComponent("snapshots").path)) ?? []
            var refs: [String: String] = [:]
            let refsRoot = directory.appendingPathComponent("refs")
            if let walker = fm.enumerator(atPath: refsRoot.path) {
                for case let name as String in walker {
                    let url = refsRoot.appendingPathComponent(name)
                    if let commit = try? String(contentsOf: url, encoding: .utf8) {
                        refs[name] = commit.trimmingCharacters(in: .whitespacesAndNewlines)
                    }
                }
            }
            let blobs = directory.appendingPathComponent("blobs")
            let size = ((try? fm.contentsOfDirectory(atPath: blobs.path)) ?? []).reduce(Int64(0)) { total, name in
                let attributes = try? fm.attributesOfItem(atPath: blobs.appendingPathComponent(name).path)
                return total + ((attributes?[.size] as? NSNumber)?.int64Value ?? 0)
            }
            return CachedModel(repo: repo, commits: commits.sorted(), refs: refs, bytes: size)
        }
    }

    /// Deletes a model's folder and its locks; false when it was not cached.
    @discardableResult
    public func remove(_ repo: RepoID) throws -> Bool {
        let fm = FileManager.default
        let directory = repoDirectory(repo)
        guard fm.fileExists(atPath: directory.path) else { return false }
        try fm.removeItem(at: directory)
        try? fm.removeItem(at: root.appendingPathComponent(".locks").appendingPathComponent(repo.cacheFolderName))
        return true
    }
}

/// One model of the cache.
public struct CachedModel: Sendable, Equatable {
    public let repo: RepoID
    /// The snapshots' commits.
    public let commits: [String]
    /// Branches and tags, to the commit each was at when last fetched.
    public let refs: [String: String]
    /// Size of its blobs.
    public let bytes: Int64
}
