import ArgumentParser
import Foundation
import Hub

/// `mimo-audio download ORG/NAME`: fetches (or updates) a repository into the shared hub cache.
struct DownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a model repository from the Hugging Face hub into the shared cache (resumable).")

    @Argument(help: "Repo id, ORG/NAME or ORG/NAME@REVISION.") var repo: String
    @OptionGroup var hub: HubOptions

    func run() throws {
        let (id, pinned) = try RepoID.parse(repo)
        if pinned != nil && hub.revision != nil {
            throw ValidationError("give the revision once: \(repo) or --revision")
        }
        let settings = try hub.settings()
        let revision = pinned ?? hub.revision ?? "main"
        let printer = DownloadProgressPrinter(reporter: .always)
        let snapshot = try runBlocking {
            try await Hub(settings: settings).snapshot(id, revision: revision, update: true, progress: printer.callback)
        }
        Reporter.always.line(
            "\(id)@\(revision) is at \(snapshot.commit)\(snapshot.downloaded ? "" : " (already in the cache)")")
        try Console.shared.out(snapshot.directory.path + "\n")
    }
}

/// `mimo-audio models`: what the cache holds, and `models rm ID` to delete one.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "List or remove the models in the hub cache.",
        subcommands: [List.self, Remove.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List cached models: id, revisions, size, converted variants.")
        @OptionGroup var hub: HubOptions

        func run() throws {
            let settings = try hub.settings()
            let models = Hub(settings: settings).cache.models()
            if models.isEmpty {
                try Console.shared.out("no models in \(settings.cache.path)\n")
                return
            }
            for model in models {
                let refs = model.refs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.prefix(10))" }
                let variants = ConvertedVariants(settings: settings, repo: model.repo).list()
                try Console.shared.out(
                    String(format: "%@  %.2f GB  ", model.repo.description, Double(model.bytes) / 1e9)
                        + (refs.isEmpty ? model.commits.map { String($0.prefix(10)) } : refs).joined(separator: " ")
                        + (variants.isEmpty ? "" : "  converted: " + variants.joined(separator: " ")) + "\n")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove a model from the cache, with its converted variants.")
        @Argument(help: "Repo id, ORG/NAME.") var repo: String
        @OptionGroup var hub: HubOptions

        func run() throws {
            let (id, revision) = try RepoID.parse(repo)
            if revision != nil { throw ValidationError("models rm removes every revision: give ORG/NAME") }
            let settings = try hub.settings()
            let removed = try Hub(settings: settings).cache.remove(id)
            let variants = try ConvertedVariants(settings: settings, repo: id).remove()
            guard removed || variants else {
                throw RuntimeFailure("\(id) is not in the cache at \(settings.cache.path)")
            }
            Reporter.always.line("removed \(id)")
        }
    }
}

/// Quantized conversions of a repository, kept outside the hub cache (so `huggingface_hub`'s
/// cache scan and deletion are not disturbed): `$HF_HOME/mimo-audio/converted/ORG--NAME/<commit>/<format>/`.
struct ConvertedVariants {
    let settings: HubSettings
    let repo: RepoID

    var root: URL {
        settings.home.appendingPathComponent("mimo-audio/converted")
            .appendingPathComponent("\(repo.organization)--\(repo.name)")
    }

    func directory(commit: String, format: String) -> URL {
        root.appendingPathComponent(commit).appendingPathComponent(format)
    }

    /// `<commit prefix>/<format>` for each conversion.
    func list() -> [String] {
        let fm = FileManager.default
        let commits = (try? fm.contentsOfDirectory(atPath: root.path)) ?? []
        return commits.sorted().flatMap { commit in
            ((try? fm.contentsOfDirectory(atPath: root.appendingPathComponent(commit).path)) ?? [])
                .filter { !$0.hasPrefix(".") }.sorted().map { "\(commit.prefix(10))/\($0)" }
        }
    }

    func remove() throws -> Bool {
        guard FileManager.default.fileExists(atPath: root.path) else { return false }
        try FileManager.default.removeItem(at: root)
        return true
    }
}
