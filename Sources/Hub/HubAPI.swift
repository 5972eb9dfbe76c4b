import AsyncHTTPClient
import Foundation
import JSON
import NIOCore
import NIOHTTP1

/// The hub's HTTP API as `huggingface_hub` uses it: a revision's file list, each file's metadata
/// from a HEAD of its resolve URL (without following the redirect to the CDN), and the download.
/// The token goes to the hub's own host only, never across a redirect to another host.
struct HubAPI {
    let settings: HubSettings
    let client: HTTPClient
    let retry: RetryPolicy

    /// A file as the hub describes it.
    struct FileMetadata: Equatable {
        let commit: String
        /// sha256 of an LFS file, else the git blob sha1.
        let etag: String
        let size: Int64
        /// Where its content is (the CDN for LFS files), else the resolve URL itself.
        let location: URL
    }

    /// The commit `revision` is at and the repository's files.
    func revisionInfo(_ repo: RepoID, revision: String) async throws -> (commit: String, files: [String]) {
        let url = try endpointURL("api/models/\(repo)/revision/\(Self.escape(revision))")
        let (response, body) = try await withRetries(url) { try await send(.GET, url, collect: true) }
        try check(response, url: url, repo: repo, revision: revision, path: nil)
        guard case .object(let info)? = try? JSONParser.parse(body.readableBytesView),
            case .string(let commit)? = info["sha"], isCommitHash(commit),
            case .array(let siblings)? = info["siblings"]
        else {
            throw HubError.unexpectedResponse(
                url: url.absoluteString, status: Int(response.status.code),
                detail: "not a model info object with 'sha' and 'siblings'")
        }
        let files = siblings.compactMap { sibling -> String? in
            guard case .object(let entry) = sibling, case .string(let name)? = entry["rfilename"] else { return nil }
            return name
        }
        return (commit, files)
    }

    /// HEAD of the file's resolve URL: relative redirects (a renamed repository) are followed on
    /// the hub; an absolute one to another host is where an LFS file's content is.
    func metadata(_ repo: RepoID, commit: String, path: String) async throws -> FileMetadata {
        var url = try endpointURL("\(repo)/resolve/\(commit)/\(Self.escapePath(path))")
        for _ in 0..<5 {
            let current = url
            let (response, _) = try await withRetries(current) {
                try await send(.HEAD, current, headers: [("Accept-Encoding", "identity")], collect: false)
            }
            let headers = response.headers
            let location = headers.first(name: "Location").flatMap { URL(string: $0, relativeTo: current)?.absoluteURL }
            if (300..<400).contains(Int(response.status.code)), let location, isHub(location),
                headers.first(name: "X-Linked-Etag") == nil
            {
                url = location
                continue
            }
            try check(response, url: current, repo: repo, revision: commit, path: path)
            let etag = Self.normalizeETag(headers.first(name: "X-Linked-Etag") ?? headers.first(name: "ETag") ?? "")
            let size = (headers.first(name: "X-Linked-Size") ?? headers.first(name: "Content-Length")).flatMap {
                Int64($0)
            }
            guard !etag.isEmpty, let size, size >= 0 else {
                throw HubError.unexpectedResponse(
                    url: current.absoluteString, status: Int(response.status.code),
                    detail: "no ETag or size for \(path)")
            }
            let fileCommit = headers.first(name: "X-Repo-Commit") ?? commit
            let redirected = (300..<400).contains(Int(response.status.code))
            return FileMetadata(
                commit: isCommitHash(fileCommit) ? fileCommit : commit, etag: etag, size: size,
                location: redirected ? (location ?? current) : current)
        }
        throw HubError.unexpectedResponse(url: url.absoluteString, status: 310, detail: "too many redirects")
    }

    /// Appends the rest of the file at `url` to `destination` (resuming with `Range` from what is
    /// already there) until it holds `size` bytes; connection failures and server errors are
    /// retried with backoff, each attempt resuming where the last stopped.
    func download(
        _ url: URL, to destination: URL, size: Int64, repo: RepoID, path: String,
        progress: (_ fileBytes: Int64) -> Void, retrying: (_ attempt: Int, _ delay: Double, _ reason: String) -> Void
    ) async throws {
        let fm = FileManager.default
        if !fm.fileExists(atPath: destination.path) { _ = fm.createFile(atPath: destination.path, contents: nil) }
        var attempt = 0
        while true {
            var have = (try? fm.attributesOfItem(atPath: destination.path)[.size] as? NSNumber)?.int64Value ?? 0
            if have > size {  // not a prefix of this file: start over
                try Data().write(to: destination)
                have = 0
            }
            if have == size { return }
            do {
                try await fetch(
                    url, into: destination, from: have, size: size, repo: repo, path: path, progress: progress)
                continue  // re-check the size on disk
            } catch let error as Transient {
                guard attempt < retry.attempts else { throw failure(error, url) }
                attempt += 1
                let delay = retry.delay(attempt)
                retrying(attempt, delay, Self.reason(error))
                try await Task.sleep(for: .seconds(delay))
            }
        }
    }

    private func fetch(
        _ start: URL, into destination: URL, from offset: Int64, size: Int64, repo: RepoID, path: String,
        progress: (Int64) -> Void
    ) async throws {
        var url = start
        var response: HTTPClientResponse?
        for _ in 0..<5 {
            var headers = [("Accept-Encoding", "identity")]
            if offset > 0 { headers.append(("Range", "bytes=\(offset)-")) }
            let answer = try await execute(.GET, url, headers: headers)
            let status = Int(answer.status.code)
            if (300..<400).contains(status), let next = answer.headers.first(name: "Location") {
                guard let target = URL(string: next, relativeTo: url)?.absoluteURL else { break }
                url = target
                continue
            }
            response = answer
            break
        }
        guard let response else {
            throw HubError.unexpectedResponse(url: url.absoluteString, status: 310, detail: "too many redirects")
        }
        let status = Int(response.status.code)
        if status == 416 {  // the server has nothing past `offset`, though the file should: start over
            try Data().write(to: destination)
            throw Transient.status(416)
        }
        if status != 200 && status != 206 {
            _ = try? await response.body.collect(upTo: 1 << 16)
            try check(
                status: status, headers: response.headers, url: url, repo: repo, revision: nil, path: path)
        }
        let handle = try FileHandle(forWritingTo: destination)
        defer { try? handle.close() }
        // A 200 to a ranged request is the whole file again.
        var written = status == 206 ? offset : 0
        if status == 206 { try handle.seekToEnd() } else { try handle.truncate(atOffset: 0) }
        do {
            for try await buffer in response.body {
                do { try buffer.withUnsafeReadableBytes { try handle.write(contentsOf: $0) } } catch {
                    throw HubError.fileSystem(
                        path: destination.path, reason: "cannot write: \(error.localizedDescription)")
                }
                written += Int64(buffer.readableBytes)
                progress(written)
            }
        } catch let error as HubError {
            throw error
        } catch {
            throw Transient.connection(String(describing: error))
        }
        if written < size { throw Transient.truncated(received: written, expected: size) }
        if written > size {
            try? FileManager.default.removeItem(at: destination)
            throw HubError.unexpectedResponse(
                url: url.absoluteString, status: status, detail: "\(path) is longer than the \(size) bytes announced")
        }
    }

    // MARK: requests

    private func send(_ method: HTTPMethod, _ url: URL, headers: [(String, String)] = [], collect: Bool) async throws
        -> (HTTPClientResponse, ByteBuffer)
    {
        let response = try await execute(method, url, headers: headers)
        if (500..<600).contains(Int(response.status.code)) || response.status.code == 429 {
            _ = try? await response.body.collect(upTo: 1 << 16)
            throw Transient.status(Int(response.status.code))
        }
        let body = collect ? try await response.body.collect(upTo: 64 << 20) : ByteBuffer()
        return (response, body)
    }

    private func execute(_ method: HTTPMethod, _ url: URL, headers: [(String, String)]) async throws
        -> HTTPClientResponse
    {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        request.headers.add(name: "User-Agent", value: "mimo-audio-swift (hub client)")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let token = settings.token, isHub(url) {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        do {
            return try await client.execute(request, timeout: .seconds(60))
        } catch {
            throw Transient.connection(String(describing: error))
        }
    }

    /// Whether `url` is on the hub's own scheme, host and port (the only place the token goes).
    func isHub(_ url: URL) -> Bool {
        let endpoint = settings.endpoint
        func port(_ u: URL) -> Int? { u.port ?? (u.scheme?.lowercased() == "https" ? 443 : 80) }
        return url.scheme?.lowercased() == endpoint.scheme?.lowercased()
            && url.host?.lowercased() == endpoint.host?.lowercased() && port(url) == port(endpoint)
    }

    private func withRetries<T>(_ url: URL, _ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do { return try await body() } catch let error as Transient {
                attempt += 1
                if attempt > retry.attempts { throw failure(error, url) }
                try await Task.sleep(for: .seconds(retry.delay(attempt)))
            }
        }
    }

    /// A transient failure that outlived its retries, as the error a user sees.
    private func failure(_ error: Transient, _ url: URL) -> HubError {
        if case .status(let code) = error {
            return .unexpectedResponse(url: url.absoluteString, status: code, detail: "after \(retry.attempts) retries")
        }
        return .unreachable(endpoint: settings.endpoint.absoluteString, reason: Self.reason(error), cached: false)
    }

    private func check(_ response: HTTPClientResponse, url: URL, repo: RepoID, revision: String?, path: String?) throws
    {
        let status = Int(response.status.code)
        guard !(200..<400).contains(status) else { return }
        try check(
            status: status, headers: response.headers, url: url, repo: repo, revision: revision, path: path)
    }

    /// The hub's error codes (`X-Error-Code`) as the errors a user can act on.
    private func check(
        status: Int, headers: HTTPHeaders, url: URL, repo: RepoID, revision: String?, path: String?
    ) throws {
        let code = headers.first(name: "X-Error-Code") ?? ""
        let message = headers.first(name: "X-Error-Message") ?? ""
        switch (status, code) {
        case (401, _), (403, _):
            throw HubError.accessDenied(
                repo: repo.description, status: status, tokenSent: settings.token != nil && isHub(url),
                message: message)
        case (404, "RevisionNotFound"):
            throw HubError.revisionNotFound(repo: repo.description, revision: revision ?? "?")
        case (404, "EntryNotFound"):
            throw HubError.fileNotFound(repo: repo.description, path: path ?? "?")
        case (404, _) where path == nil || code == "RepoNotFound":
            throw HubError.repoNotFound(repo: repo.description)
        default:
            throw HubError.unexpectedResponse(url: url.absoluteString, status: status, detail: message)
        }
    }

    private func endpointURL(_ path: String) throws -> URL {
        guard let url = URL(string: settings.endpoint.absoluteString + "/" + path) else {
            throw HubError.invalidSetting(
                name: "HF_ENDPOINT", value: settings.endpoint.absoluteString, expected: "a base URL for \(path)")
        }
        return url
    }

    static func escape(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~")))
            ?? component
    }

    static func escapePath(_ path: String) -> String {
        path.split(separator: "/").map { escape(String($0)) }.joined(separator: "/")
    }

    /// `W/"abc"` and `"abc"` as `abc`.
    static func normalizeETag(_ etag: String) -> String {
        var value = Substring(etag.trimmingCharacters(in: .whitespaces))
        if value.hasPrefix("W/") { value = value.dropFirst(2) }
        return String(value.trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
    }

    static func reason(_ error: Error) -> String {
        switch error {
        case Transient.connection(let detail): return detail
        case Transient.status(let code): return "HTTP \(code)"
        case Transient.truncated(let received, let expected):
            return "connection closed after \(received) of \(expected) bytes"
        default: return String(describing: error)
        }
    }
}

/// Failures worth another try: no connection, a server error or rate limit, a cut-off body.
enum Transient: Error {
    case connection(String)
    case status(Int)
    case truncated(received: Int64, expected: Int64)
}

/// How often and how patiently transient failures are retried.
public struct RetryPolicy: Sendable {
    public var attempts: Int
    public var baseDelay: Double
    public var maxDelay: Double

    public init(attempts: Int = 5, baseDelay: Double = 0.5, maxDelay: Double = 30) {
        (self.attempts, self.baseDelay, self.maxDelay) = (attempts, baseDelay, maxDelay)
    }

    /// Exponential backoff: base, 2·base, 4·base, … up to maxDelay.
    func delay(_ attempt: Int) -> Double { min(maxDelay, baseDelay * Double(1 << min(attempt - 1, 16))) }
}
