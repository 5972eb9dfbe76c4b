import AsyncHTTPClient
import Foundation
import JSON

/// Repo id → local directory: the snapshot of a model repository in the shared hub cache,
/// downloaded (resumably, verified, under `huggingface_hub`'s locks) when it is not there yet.
public struct Hub: Sendable {
    public let settings: HubSettings
    public let cache: HubCache
    public var retry: RetryPolicy

    public init(settings: HubSettings, retry: RetryPolicy = RetryPolicy()) {
        self.settings = settings
        self.cache = HubCache(root: settings.cache)
        self.retry = retry
    }

    /// A revision of a repository, on disk.
    public struct Snapshot: Sendable, Equatable {
        public let repo: RepoID
        public let commit: String
        public let directory: URL
        /// Whether this call fetched anything.
        public let downloaded: Bool
    }

    /// The files the engine loads: configs, weights and their index, tokenizer files.
    public static func isModelFile(_ path: String) -> Bool {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return name.hasSuffix(".safetensors") || name.hasSuffix(".json") || name == "merges.txt"
            || name == "vocab.txt" || name.hasSuffix(".model") || name.hasSuffix(".tiktoken")
    }

    /// The snapshot of `repo` at `revision`. With `update: false` a complete cached snapshot is
    /// used without any request (as a model `hf download` fetched is); `update: true` (the
    /// `download` command) asks the hub where the revision is now and fetches what is missing.
    public func snapshot(
        _ repo: RepoID, revision: String = "main", update: Bool = false, files: (String) -> Bool = Hub.isModelFile,
        progress: @escaping @Sendable (HubProgress) -> Void = { _ in }
    ) async throws -> Snapshot {
        let cached = cache.cachedCommit(repo, revision: revision)
        if let cached, !update || settings.offline, Self.isComplete(cache.snapshotDirectory(repo, commit: cached)) {
            return Snapshot(
                repo: repo, commit: cached, directory: cache.snapshotDirectory(repo, commit: cached), downloaded: false)
        }
        if settings.offline {
            throw HubError.notCached(repo: repo.description, revision: revision, cache: cache.root.path)
        }
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(15), read: .seconds(60)))
        // A refused or unresolvable connection fails the request at once (our RetryPolicy decides
        // what is retried), instead of the pool retrying until the request's deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let result = try await fetch(repo, revision: revision, files: files, client: client, progress: progress)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            if case HubError.unreachable(let endpoint, let reason, _) = error {
                throw HubError.unreachable(endpoint: endpoint, reason: reason, cached: cached != nil)
            }
            throw error
        }
    }

    private func fetch(
        _ repo: RepoID, revision: String, files filter: (String) -> Bool, client: HTTPClient,
        progress: @escaping @Sendable (HubProgress) -> Void
    ) async throws -> Snapshot {
        let api = HubAPI(settings: settings, client: client, retry: retry)
        let (commit, all) = try await api.revisionInfo(repo, revision: revision)
        let wanted = all.filter(filter).sorted()
        guard wanted.contains("config.json") else {
            throw HubError.notAMiMoAudioCheckpoint(repo: repo.description, reason: "it has no config.json")
        }
        var plan: [(path: String, meta: HubAPI.FileMetadata)] = []
        for path in wanted where !cache.has(repo, commit: commit, path: path) {
            plan.append((path, try await api.metadata(repo, commit: commit, path: path)))
        }
        let fm = FileManager.default
        let missing = plan.filter { !fm.fileExists(atPath: cache.blob(repo, etag: $0.meta.etag).path) }
        let total = missing.reduce(Int64(0)) { $0 + $1.meta.size }
        try Self.checkDiskSpace(
            in: cache.root,
            needed: missing.reduce(Int64(0)) { sum, file in
                let partial = cache.blob(repo, etag: file.meta.etag).appendingPathExtension("incomplete")
                return sum + file.meta.size
                    - ((try? fm.attributesOfItem(atPath: partial.path)[.size] as? NSNumber)?.int64Value ?? 0)
            })
        var done: Int64 = 0
        for (path, meta) in plan {
            let blob = cache.blob(repo, etag: meta.etag)
            if !fm.fileExists(atPath: blob.path) {
                try await downloadBlob(api, repo: repo, path: path, meta: meta, to: blob) { fileBytes, phase in
                    progress(
                        HubProgress(
                            phase: phase, file: path, fileBytes: fileBytes, fileTotal: meta.size,
                            bytes: done + fileBytes,
                            total: total))
                }
                done += meta.size
            }
            try cache.link(repo, commit: commit, path: path, etag: meta.etag)
        }
        try cache.writeRef(repo, revision: revision, commit: commit)
        return Snapshot(
            repo: repo, commit: commit, directory: cache.snapshotDirectory(repo, commit: commit),
            downloaded: !plan.isEmpty)
    }

    /// Downloads one blob under its lock into `<etag>.incomplete`, verifies it and moves it in.
    private func downloadBlob(
        _ api: HubAPI, repo: RepoID, path: String, meta: HubAPI.FileMetadata, to blob: URL,
        report: (Int64, HubProgress.Phase) -> Void
    ) async throws {
        let fm = FileManager.default
        try fm.createDirectory(at: blob.deletingLastPathComponent(), withIntermediateDirectories: true)
        let lock = try await FileLock.acquire(cache.lock(repo, etag: meta.etag))
        defer { withExtendedLifetime(lock) {} }
        if fm.fileExists(atPath: blob.path) { return }  // another process finished it while we waited
        let partial = blob.appendingPathExtension("incomplete")
        try await api.download(
            meta.location, to: partial, size: meta.size, repo: repo, path: path,
            progress: { report($0, .downloading) },
            retrying: { attempt, delay, reason in
                report(0, .retrying(attempt: attempt, delaySeconds: delay, reason: reason))
            })
        report(meta.size, .verifying)
        if let actual = try Checksum.of(partial, like: meta.etag), actual != meta.etag {
            try? fm.removeItem(at: partial)
            throw HubError.checksumMismatch(repo: repo.description, path: path, expected: meta.etag, actual: actual)
        }
        do { try fm.moveItem(at: partial, to: blob) } catch {
            throw HubError.fileSystem(path: blob.path, reason: "cannot move the download into place: \(error)")
        }
        report(meta.size, .done)
    }

    /// Refuses a download that cannot fit, before it starts.
    static func checkDiskSpace(in root: URL, needed: Int64) throws {
        guard needed > 0 else { return }
        var directory = root
        let fm = FileManager.default
        while !fm.fileExists(atPath: directory.path) && directory.path != "/" {
            directory = directory.deletingLastPathComponent()
        }
        guard let free = (try? fm.attributesOfFileSystem(forPath: directory.path))?[.systemFreeSize] as? NSNumber
        else { return }
        // A little headroom for the filesystem's own use.
        if free.int64Value < needed + (64 << 20) {
            throw HubError.insufficientDiskSpace(directory: directory.path, needed: needed, available: free.int64Value)
        }
    }

    /// Whether a snapshot holds a loadable checkpoint: its config, and every weight file its
    /// index names (or, without an index, a safetensors file).
    public static func isComplete(_ directory: URL) -> Bool {
        let fm = FileManager.default
        guard fm.fileExists(atPath: directory.appendingPathComponent("config.json").path) else { return false }
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        if let data = fm.contents(atPath: index.path) {
            guard case .object(let root)? = try? JSONParser.parse(Array(data)),
                case .object(let map)? = root["weight_map"]
            else { return false }
            let shards = Set(
                map.values.compactMap { value -> String? in
                    if case .string(let name) = value { return name }
                    return nil
                })
            return !shards.isEmpty
                && shards.allSatisfy { fm.fileExists(atPath: directory.appendingPathComponent($0).path) }
        }
        let names = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.contains {
            $0.hasSuffix(".safetensors") && fm.fileExists(atPath: directory.appendingPathComponent($0).path)
        }
    }
}
