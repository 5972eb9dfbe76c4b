import ArgumentParser
import Dispatch
import Foundation
import Hub
import JSON
import MiMoAudio

/// The hub options of the commands that load models by repo id.
struct HubOptions: ParsableArguments {
    @Option(help: "Revision (branch, tag or commit) of a --model given as a repo id (or write ID@REVISION).")
    var revision: String?
    @Option(
        name: .customLong("cache-dir"),
        help: "Hub cache (default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub).")
    var cacheDir: String?

    func settings() throws -> HubSettings { try HubSettings.fromEnvironment(cacheDirectory: cacheDir) }
}

/// The default repositories, so the common case needs no options.
enum DefaultModels {
    static let instruct = "XiaomiMiMo/MiMo-Audio-7B-Instruct"
    static let base = "XiaomiMiMo/MiMo-Audio-7B-Base"
    static let audioTokenizer = "XiaomiMiMo/MiMo-Audio-Tokenizer"
}

/// A `--model` or `--audio-tokenizer` value as a local directory: the directory itself, or the
/// snapshot of a hub repository in the shared cache (downloaded on first use).
struct ModelLocator {
    enum Role {
        case lm, audioTokenizer

        var expected: String { self == .lm ? "a MiMo-Audio LM" : "the MiMo-Audio-Tokenizer" }
    }

    let hub: HubOptions
    let reporter: Reporter

    /// The directory to load, and the quantization left to do while loading: `--quantize` on a
    /// repo id converts once into `$HF_HOME/mimo-audio/converted/…` and loads that instead.
    func locate(_ value: String, role: Role, quantize: WeightFormat? = nil, compute: Compute? = nil) throws -> (
        URL, WeightFormat?
    ) {
        if FileAccess.isDirectory(value) { return (URL(fileURLWithPath: value), quantize) }
        guard RepoID.looksLikeRepoID(value) else {
            throw RuntimeFailure("'\(value)' is neither a directory nor a Hugging Face repo id (ORG/NAME)")
        }
        let (repo, pinned) = try RepoID.parse(value)
        if pinned != nil && hub.revision != nil && role == .lm {
            throw ValidationError("give the revision once: \(value) or --revision, not both")
        }
        let revision = pinned ?? (role == .lm ? hub.revision : nil) ?? "main"
        let settings = try hub.settings()
        let snapshot: Hub.Snapshot
        do {
            snapshot = try runBlocking { [reporter] in
                try await Hub(settings: settings).snapshot(
                    repo, revision: revision, progress: DownloadProgressPrinter(reporter: reporter).callback)
            }
        } catch HubError.repoNotFound(let name) {
            throw RuntimeFailure("\(HubError.repoNotFound(repo: name)) (and there is no directory '\(value)')")
        }
        if snapshot.downloaded { reporter.line("downloaded \(repo)@\(snapshot.commit.prefix(10)) to the hub cache") }
        try Self.checkArchitecture(snapshot.directory, repo: repo, role: role)
        guard let quantize, role == .lm else { return (snapshot.directory, quantize) }
        let converted = ConvertedVariants(settings: settings, repo: repo).directory(
            commit: snapshot.commit, format: quantize.rawValue)
        if !FileAccess.isDirectory(converted.path) {
            try convert(snapshot.directory, into: converted, format: quantize, compute: compute)
        }
        return (converted, nil)
    }

    /// Converts into a scratch directory beside the target and renames it into place, so a
    /// directory at the final path is always a whole conversion.
    private func convert(_ source: URL, into target: URL, format: WeightFormat, compute: Compute?) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        let scratch = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(at: scratch)
        reporter.line("converting to \(format.rawValue) once, into \(target.path)")
        do {
            _ = try CheckpointConverter.convert(
                from: source, to: scratch, format: format, compute: compute ?? Compute(), log: reporter.line)
            try fm.moveItem(at: scratch, to: target)
        } catch {
            try? fm.removeItem(at: scratch)
            // Another run converting at the same time finished first: use its result.
            if FileAccess.isDirectory(target.path) { return }
            throw error
        }
    }

    /// A repository that is not the model asked for fails here, with what it is instead.
    static func checkArchitecture(_ directory: URL, repo: RepoID, role: Role) throws {
        let config = directory.appendingPathComponent("config.json")
        var architectures: [String] = []
        if let data = FileManager.default.contents(atPath: config.path),
            case .object(let root)? = try? JSONParser.parse(data), case .array(let names)? = root["architectures"]
        {
            architectures = names.compactMap { if case .string(let name) = $0 { name } else { nil } }
        }
        let isTokenizer = architectures.contains { $0.hasPrefix("MiMoAudioTokenizer") }
        let isMiMo = architectures.contains { $0.hasPrefix("MiMoAudio") }
        let ok = role == .lm ? isMiMo && !isTokenizer : isTokenizer
        guard ok else {
            let found =
                architectures.isEmpty ? "no architectures in its config.json" : architectures.joined(separator: ", ")
            throw HubError.notAMiMoAudioCheckpoint(
                repo: repo.description, reason: "expected \(role.expected), found \(found)")
        }
    }
}

/// Runs async work from the synchronous command code and waits for it.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let semaphore = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<T, Error>?
    Task.detached {
        do { result = .success(try await body()) } catch { result = .failure(error) }
        semaphore.signal()
    }
    semaphore.wait()
    return try result!.get()
}

/// Download progress on stderr: a bar redrawn in place on a terminal, else a line per file.
final class DownloadProgressPrinter: @unchecked Sendable {
    private let reporter: Reporter
    private let lock = NSLock()
    private let start = DispatchTime.now()
    private var lastDraw: UInt64 = 0
    private let terminal = isatty(2) == 1

    init(reporter: Reporter) { self.reporter = reporter }

    var callback: @Sendable (HubProgress) -> Void { { [self] in self.report($0) } }

    private func report(_ p: HubProgress) {
        guard reporter.enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = DispatchTime.now().uptimeNanoseconds
        let elapsed = Double(now - start.uptimeNanoseconds) / 1e9
        switch p.phase {
        case .downloading:
            guard terminal, now - lastDraw > 100_000_000 || p.fileBytes == p.fileTotal else { return }
            lastDraw = now
            let speed = elapsed > 0 ? Double(p.bytes) / elapsed : 0
            let eta = speed > 0 ? Double(p.total - p.bytes) / speed : 0
            let width = 24
            let filled = p.total > 0 ? Int(Double(width) * Double(p.bytes) / Double(p.total)) : 0
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            Console.shared.err(
                "\r\u{1B}[K"
                    + String(
                        format: "%@ %@/%@ [%@] %@/%@ %@/s ETA %@", p.file, bytes(p.fileBytes), bytes(p.fileTotal), bar,
                        bytes(p.bytes), bytes(p.total), bytes(Int64(speed)), duration(eta)))
        case .verifying:
            break
        case .done:
            let speed = elapsed > 0 ? Double(p.bytes) / elapsed : 0
            Console.shared.err(
                (terminal ? "\r\u{1B}[K" : "")
                    + String(
                        format: "downloaded %@ (%@), %@ of %@, %@/s\n", p.file, bytes(p.fileTotal), bytes(p.bytes),
                        bytes(p.total), bytes(Int64(speed))))
        case .retrying(let attempt, let delay, let reason):
            Console.shared.err(
                (terminal ? "\r\u{1B}[K" : "")
                    + String(format: "%@: %@; retry %d in %.1f s, resuming\n", p.file, reason, attempt, delay))
        }
    }

    private func bytes(_ n: Int64) -> String {
        let v = Double(n)
        if v >= 1e9 { return String(format: "%.2f GB", v / 1e9) }
        if v >= 1e6 { return String(format: "%.1f MB", v / 1e6) }
        return String(format: "%.0f kB", v / 1e3)
    }

    private func duration(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "?" }
        return s >= 3600
            ? String(format: "%dh%02dm", Int(s) / 3600, Int(s) % 3600 / 60)
            : String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60)
    }
}
