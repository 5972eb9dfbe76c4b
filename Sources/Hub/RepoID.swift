/// A Hugging Face model repository, `ORG/NAME`, as the hub names it.
public struct RepoID: Hashable, Sendable, CustomStringConvertible {
    public let organization: String
    public let name: String

    public var description: String { "\(organization)/\(name)" }

    /// The cache folder name `huggingface_hub` gives the repository: `models--ORG--NAME`.
    public var cacheFolderName: String { "models--\(organization)--\(name)" }

    public init(organization: String, name: String) throws(HubError) {
        for part in [organization, name] where !Self.isValidPart(part) {
            throw .invalidRepoID("\(organization)/\(name)")
        }
        (self.organization, self.name) = (organization, name)
    }

    /// `ORG/NAME` or `ORG/NAME@REVISION`: the repository and the revision, if one is given.
    public static func parse(_ text: String) throws(HubError) -> (repo: RepoID, revision: String?) {
        var id = Substring(text)
        var revision: String?
        if let at = text.firstIndex(of: "@") {
            id = text[..<at]
            revision = String(text[text.index(after: at)...])
            guard let revision, isValidRevision(revision) else { throw .invalidRepoID(text) }
        }
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw .invalidRepoID(text) }
        return (try RepoID(organization: String(parts[0]), name: String(parts[1])), revision)
    }

    /// Whether `text` names a repository rather than a local path: `ORG/NAME[@REV]` in the hub's
    /// alphabet, not starting with `/`, `.` or `~`.
    public static func looksLikeRepoID(_ text: String) -> Bool { (try? parse(text)) != nil }

    // The hub's rule for names: letters, digits, `-`, `_` and `.`, at most 96 characters, not
    // starting or ending with `-` or `.`, and no `--` or `..` (which would make cache folder names
    // ambiguous).
    static func isValidPart(_ part: String) -> Bool {
        guard !part.isEmpty, part.utf8.count <= 96, !part.contains("--"), !part.contains("..") else { return false }
        guard let first = part.first, let last = part.last, !"-.".contains(first), !"-.".contains(last) else {
            return false
        }
        return part.unicodeScalars.allSatisfy {
            $0.isASCII && (isAlphanumeric($0) || "-_.".unicodeScalars.contains($0))
        }
    }

    /// A branch, tag or commit: printable ASCII without spaces, `..` or a leading `/`, since it
    /// becomes a file name under `refs/` and part of a URL.
    static func isValidRevision(_ revision: String) -> Bool {
        guard !revision.isEmpty, revision.utf8.count <= 256, !revision.contains(".."), !revision.hasPrefix("/") else {
            return false
        }
        return revision.unicodeScalars.allSatisfy {
            $0.isASCII && (isAlphanumeric($0) || "-_./".unicodeScalars.contains($0))
        }
    }

    private static func isAlphanumeric(_ s: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s)
    }
}

/// Whether `revision` is a full commit hash (40 lowercase hex digits).
func isCommitHash(_ revision: String) -> Bool {
    revision.utf8.count == 40 && revision.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
}
