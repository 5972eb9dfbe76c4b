import Foundation

/// What went wrong, in words a user can act on.
public enum HubError: Error, Equatable, CustomStringConvertible {
    case invalidRepoID(String)
    case invalidSetting(name: String, value: String, expected: String)
    /// 401/403: the repository is gated or private and the token (or its absence) does not open it.
    case accessDenied(repo: String, status: Int, tokenSent: Bool, message: String)
    case repoNotFound(repo: String)
    case revisionNotFound(repo: String, revision: String)
    case fileNotFound(repo: String, path: String)
    /// The hub answered something this client cannot use.
    case unexpectedResponse(url: String, status: Int, detail: String)
    /// No connection (after retries); `cached` says whether the cache holds a copy to use offline.
    case unreachable(endpoint: String, reason: String, cached: Bool)
    /// Offline (HF_HUB_OFFLINE) and nothing cached for this revision.
    case notCached(repo: String, revision: String, cache: String)
    case checksumMismatch(repo: String, path: String, expected: String, actual: String)
    case insufficientDiskSpace(directory: String, needed: Int64, available: Int64)
    case notAMiMoAudioCheckpoint(repo: String, reason: String)
    case fileSystem(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidRepoID(let text):
            return "'\(text)' is not a Hugging Face repo id (ORG/NAME or ORG/NAME@REVISION) nor an existing directory"
        case .invalidSetting(let name, let value, let expected):
            return "\(name)='\(value)' is not \(expected)"
        case .accessDenied(let repo, let status, let tokenSent, let message):
            let detail = message.isEmpty ? "" : " (\(message))"
            return tokenSent
                ? "\(repo): the hub refused the token (HTTP \(status))\(detail); check that HF_TOKEN has access to it (accept the model's terms on its page if it is gated)"
                : "\(repo) is gated or private (HTTP \(status))\(detail): set HF_TOKEN to a token with access to it (or log in with `hf auth login`)"
        case .repoNotFound(let repo):
            return "\(repo): no such model repository on the hub (HTTP 404); check the name"
        case .revisionNotFound(let repo, let revision):
            return "\(repo): no revision '\(revision)' (HTTP 404); give a branch, tag or commit that exists"
        case .fileNotFound(let repo, let path):
            return "\(repo): the hub has no file '\(path)' at this revision (HTTP 404)"
        case .unexpectedResponse(let url, let status, let detail):
            return "unexpected answer from \(url): HTTP \(status)\(detail.isEmpty ? "" : ": \(detail)")"
        case .unreachable(let endpoint, let reason, let cached):
            return "cannot reach \(endpoint) (\(reason)); "
                + (cached
                    ? "a cached copy exists: run offline with HF_HUB_OFFLINE=1"
                    : "no cached copy exists: connect to the network (or set HF_ENDPOINT to a mirror) and retry")
        case .notCached(let repo, let revision, let cache):
            return
                "\(repo)@\(revision) is not in the cache at \(cache) and HF_HUB_OFFLINE is set: download it first with `mimo-audio download \(repo)\(revision == "main" ? "" : " --revision \(revision)")` (or `hf download \(repo)`)"
        case .checksumMismatch(let repo, let path, let expected, let actual):
            return
                "\(repo)/\(path): the download does not match its checksum (expected \(expected), got \(actual)); it was deleted, retry the download"
        case .insufficientDiskSpace(let directory, let needed, let available):
            return String(
                format: "not enough disk space in %@: the download needs %.2f GB more, %.2f GB are free", directory,
                Double(needed) / 1e9, Double(available) / 1e9)
        case .notAMiMoAudioCheckpoint(let repo, let reason):
            return "\(repo) is not a MiMo-Audio checkpoint: \(reason)"
        case .fileSystem(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
