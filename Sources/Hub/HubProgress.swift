/// Where a download is, reported as it goes.
public struct HubProgress: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        /// Bytes of `file` arriving.
        case downloading
        /// The file is complete and its checksum is being checked.
        case verifying
        /// The file is in the cache.
        case done
        /// The connection failed; retrying after `delaySeconds` (resuming where it stopped).
        case retrying(attempt: Int, delaySeconds: Double, reason: String)
    }

    public var phase: Phase
    public var file: String
    public var fileBytes: Int64
    public var fileTotal: Int64
    /// Over every file this run downloads.
    public var bytes: Int64
    public var total: Int64
}
