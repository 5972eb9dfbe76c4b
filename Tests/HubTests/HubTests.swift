import Foundation
import TestSupport
import XCTest

@testable import Hub

/// The real download code against the stand-in hub on loopback (Tests/HubStandIn), and the
/// shared cache against the real `huggingface_hub` from PyPI.
final class HubTests: XCTestCase {
    static let lm = Fixtures.url("lm")
    static let repo = "XiaomiMiMo/MiMo-Audio-7B-Instruct"
    var scratch: URL!
    var hub: StandInHub!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mimo-hub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        hub = try StandInHub(
            repos: [Self.repo: Self.lm, "XiaomiMiMo/Gated": Self.lm], gated: ["XiaomiMiMo/Gated"], token: "hf_secret")
    }

    override func tearDownWithError() throws {
        hub.stop()
        try? FileManager.default.removeItem(at: scratch)
    }

    var cacheRoot: URL { scratch.appendingPathComponent("hub") }

    /// A client on the stand-in with a fresh cache; retries wait milliseconds, not seconds.
    func client(token: String? = nil, offline: Bool = false, endpoint: URL? = nil) -> Hub {
        Hub(
            settings: HubSettings(
                endpoint: endpoint ?? hub.endpoint, token: token, offline: offline, home: scratch, cache: cacheRoot),
            retry: RetryPolicy(attempts: 3, baseDelay: 0.05, maxDelay: 0.2))
    }

    func repo(_ id: String = HubTests.repo) throws -> RepoID { try RepoID.parse(id).repo }

    /// sha256 of every file a directory holds (following the snapshot's symlinks).
    func contents(_ directory: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let names = try FileManager.default.subpathsOfDirectory(atPath: directory.path)
        for name in names {
            let url = directory.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: url.resolvingSymlinksInPath().path, isDirectory: &isDirectory)
            guard !isDirectory.boolValue else { continue }
            files[name] = try Data(contentsOf: url)
        }
        return files
    }

    func testACleanDownloadMatchesTheRepoAndASecondRunMakesNoRequest() async throws {
        let snapshot = try await client().snapshot(try repo())
        XCTAssertTrue(snapshot.downloaded)
        XCTAssertEqual(try contents(snapshot.directory), try contents(Self.lm), "every file, byte for byte")
        // The standard layout: relative symlinks into blobs/, refs/main holding the commit.
        let repoDirectory = cacheRoot.appendingPathComponent("models--XiaomiMiMo--MiMo-Audio-7B-Instruct")
        let link = try FileManager.default.destinationOfSymbolicLink(
            atPath: snapshot.directory.appendingPathComponent("model.safetensors").path)
        XCTAssertTrue(link.hasPrefix("../../blobs/"), link)
        XCTAssertEqual(
            try String(contentsOf: repoDirectory.appendingPathComponent("refs/main"), encoding: .utf8), snapshot.commit)
        let blobs = try FileManager.default.contentsOfDirectory(
            atPath: repoDirectory.appendingPathComponent("blobs").path)
        XCTAssertFalse(blobs.contains { $0.hasSuffix(".incomplete") }, "\(blobs)")
        let lfs = try hub.log().filter { $0.server == "cdn" }
        XCTAssertFalse(lfs.isEmpty, "the LFS file came from the CDN")

        try hub.reset()
        let again = try await client().snapshot(try repo())
        XCTAssertEqual(again.directory, snapshot.directory)
        XCTAssertFalse(again.downloaded)
        XCTAssertEqual(try hub.log(), [], "a complete cached snapshot is used without any request")
    }

    func testADroppedConnectionResumesWithRangeAndVerifies() async throws {
        try hub.fault(["drop": ["path": "model.safetensors", "after_bytes": 700_000, "times": 1]])
        let snapshot = try await client().snapshot(try repo())
        XCTAssertEqual(
            try Data(contentsOf: snapshot.directory.appendingPathComponent("model.safetensors")),
            try Data(contentsOf: Self.lm.appendingPathComponent("model.safetensors")))
        let gets = try hub.log().filter { $0.server == "cdn" && $0.method == "GET" }
        XCTAssertEqual(gets.count, 2, "\(gets)")
        XCTAssertNil(gets.first?.range)
        // The resumed request starts where the data on disk ends: at most the 700,000 bytes the
        // stand-in sent before closing (the last ones in flight may be lost with the connection).
        let range = try XCTUnwrap(gets.last?.range)
        let start = try XCTUnwrap(Int(range.dropFirst("bytes=".count).dropLast()), range)
        XCTAssertTrue(range.hasPrefix("bytes=") && range.hasSuffix("-") && (1...700_000).contains(start), range)
    }

    func testACorruptedLFSFileIsRejectedAndNotLeftInTheCache() async throws {
        try hub.fault(["corrupt": ["path": "model.safetensors"]])
        do {
            _ = try await client().snapshot(try repo())
            XCTFail("a corrupted file was accepted")
        } catch let error as HubError {
            guard case .checksumMismatch(_, let path, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "model.safetensors")
            XCTAssertTrue(error.description.contains("deleted"), error.description)
        }
        let blobs = cacheRoot.appendingPathComponent("models--XiaomiMiMo--MiMo-Audio-7B-Instruct/blobs")
        let sha = try sha256(Self.lm.appendingPathComponent("model.safetensors"))
        let left = try FileManager.default.contentsOfDirectory(atPath: blobs.path)
        XCTAssertFalse(left.contains { $0.hasPrefix(sha) }, "neither the blob nor its .incomplete stays: \(left)")
        // Once the hub serves the right bytes, the same cache completes.
        try hub.reset()
        let snapshot = try await client().snapshot(try repo())
        XCTAssertEqual(try contents(snapshot.directory), try contents(Self.lm))
    }

    func testAGatedRepoNeedsTheTokenWhichNeverReachesTheCDN() async throws {
        do {
            _ = try await client().snapshot(try repo("XiaomiMiMo/Gated"))
            XCTFail("a gated repo answered without a token")
        } catch let error as HubError {
            guard case .accessDenied(_, let status, let tokenSent, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(status, 401)
            XCTAssertFalse(tokenSent)
            XCTAssertTrue(error.description.contains("HF_TOKEN"), error.description)
        }
        do {
            _ = try await client(token: "hf_wrong").snapshot(try repo("XiaomiMiMo/Gated"))
            XCTFail("a wrong token was accepted")
        } catch HubError.accessDenied(_, _, let tokenSent, _) {
            XCTAssertTrue(tokenSent)
        }
        try hub.reset()
        let snapshot = try await client(token: "hf_secret").snapshot(try repo("XiaomiMiMo/Gated"))
        XCTAssertEqual(try contents(snapshot.directory), try contents(Self.lm))
        let log = try hub.log()
        XCTAssertTrue(log.filter { $0.server == "hub" }.allSatisfy(\.authorization), "the hub gets the token")
        let cdn = log.filter { $0.server == "cdn" }
        XCTAssertFalse(cdn.isEmpty)
        XCTAssertFalse(cdn.contains(where: \.authorization), "the token never crosses to the CDN")
    }

    func testUnknownRepoAndRevisionAre404sThatSaySo() async throws {
        do {
            _ = try await client().snapshot(try repo("XiaomiMiMo/No-Such-Model"))
            XCTFail("an unknown repo was found")
        } catch HubError.repoNotFound(let name) {
            XCTAssertEqual(name, "XiaomiMiMo/No-Such-Model")
        }
        do {
            _ = try await client().snapshot(try repo(), revision: "v9")
            XCTFail("an unknown revision was found")
        } catch HubError.revisionNotFound(_, let revision) {
            XCTAssertEqual(revision, "v9")
        }
    }

    func testOfflineUsesTheCacheOrNamesTheCommandThatDownloads() async throws {
        do {
            _ = try await client(offline: true).snapshot(try repo())
            XCTFail("offline with an empty cache succeeded")
        } catch let error as HubError {
            guard case .notCached = error else { return XCTFail("\(error)") }
            XCTAssertTrue(error.description.contains("mimo-audio download \(Self.repo)"), error.description)
        }
        XCTAssertEqual(try hub.log(), [], "offline makes no request")
        let online = try await client().snapshot(try repo())
        try hub.reset()
        let offline = try await client(offline: true).snapshot(try repo(), update: true)
        XCTAssertEqual(offline.directory, online.directory)
        XCTAssertEqual(try hub.log(), [])
    }

    func testServerErrorsAreRetriedAndAnUnreachableHubSaysWhetherACopyIsCached() async throws {
        try hub.fault(["status": ["code": 503, "times": 2]])
        let snapshot = try await client().snapshot(try repo())
        XCTAssertEqual(try contents(snapshot.directory), try contents(Self.lm))

        // A port nothing listens on (the stand-in's, once stopped).
        let closed = hub.endpoint
        hub.stop()
        let empty = Hub(
            settings: HubSettings(
                endpoint: closed, token: nil, offline: false, home: scratch, cache: scratch.appendingPathComponent("x")),
            retry: RetryPolicy(attempts: 1, baseDelay: 0.01, maxDelay: 0.01))
        do {
            _ = try await empty.snapshot(try repo())
            XCTFail("an unreachable hub answered")
        } catch HubError.unreachable(_, _, let cached) {
            XCTAssertFalse(cached)
        }
        do {
            _ = try await client(endpoint: closed).snapshot(try repo(), update: true)
            XCTFail("an unreachable hub answered")
        } catch let error as HubError {
            guard case .unreachable(_, _, let cached) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(cached)
            XCTAssertTrue(error.description.contains("HF_HUB_OFFLINE=1"), error.description)
        }
    }

    // MARK: the cache shared with huggingface_hub

    var python: [String: String] { ["HF_HUB_OFFLINE": "0"] }

    func testHuggingFaceHubReadsTheCacheWeWrite() async throws {
        let snapshot = try await client().snapshot(try repo())
        let scan = try HuggingFaceHubClient.run(["scan", "--cache", cacheRoot.path], environment: python)
        let repos = try XCTUnwrap(scan["repos"] as? [[String: Any]])
        XCTAssertEqual(repos.map { $0["repo_id"] as? String }, [Self.repo])
        let revisions = try XCTUnwrap(repos.first?["revisions"] as? [[String: Any]])
        XCTAssertEqual(revisions.first?["commit_hash"] as? String, snapshot.commit)
        XCTAssertEqual(revisions.first?["refs"] as? [String], ["main"])
        XCTAssertEqual((scan["warnings"] as? [String]) ?? [], [])
        let local = try HuggingFaceHubClient.run(
            [
                "snapshot", "--endpoint", hub.endpoint.absoluteString, "--repo", Self.repo, "--cache", cacheRoot.path,
                "--local-only",
            ], environment: python)
        XCTAssertEqual(local["path"] as? String, snapshot.directory.path)
        XCTAssertEqual(local["files"] as? [String: String], try sha256s(Self.lm))
    }

    func testWeUseOfflineACacheHuggingFaceHubWrote() async throws {
        let written = try HuggingFaceHubClient.run(
            ["snapshot", "--endpoint", hub.endpoint.absoluteString, "--repo", Self.repo, "--cache", cacheRoot.path],
            environment: python)
        try hub.reset()
        let snapshot = try await client(offline: true).snapshot(try repo())
        XCTAssertEqual(snapshot.directory.path, written["path"] as? String)
        XCTAssertEqual(try contents(snapshot.directory), try contents(Self.lm))
        XCTAssertEqual(try hub.log(), [])
    }

    func testConcurrentDownloadsOfOneRepoByUsAndHuggingFaceHub() async throws {
        // Both start at once into one empty cache and take turns on each blob's lock.
        let endpoint = hub.endpoint.absoluteString
        let cache = cacheRoot.path
        let theirs = Task.detached { [python] in
            try HuggingFaceHubClient.run(
                ["snapshot", "--endpoint", endpoint, "--repo", HubTests.repo, "--cache", cache], environment: python)
        }
        let ours = try await client().snapshot(try repo())
        let their = try await theirs.value
        XCTAssertEqual(their["path"] as? String, ours.directory.path)
        XCTAssertEqual(try contents(ours.directory), try contents(Self.lm))
        let blobs = try FileManager.default.contentsOfDirectory(
            atPath: cacheRoot.appendingPathComponent("models--XiaomiMiMo--MiMo-Audio-7B-Instruct/blobs").path)
        XCTAssertEqual(blobs.count, try contents(Self.lm).count, "one blob per file, nothing partial: \(blobs)")
    }

    func testTheStandInIsFaithfulToHuggingFaceHub() throws {
        let run = try runTool(["python3", StandInHub.directory.appendingPathComponent("selftest.py").path])
        XCTAssertEqual(run.status, 0, run.output)
    }

    func testADownloadThatCannotFitIsRefusedBeforeItStarts() throws {
        // More than any disk holds: refused with the sizes, naming the directory checked.
        XCTAssertThrowsError(try Hub.checkDiskSpace(in: cacheRoot, needed: 1 << 60)) { error in
            guard case HubError.insufficientDiskSpace(let directory, let needed, let available) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(directory, scratch.path, "the nearest existing parent of the cache")
            XCTAssertEqual(needed, 1 << 60)
            XCTAssertGreaterThan(available, 0)
            XCTAssertTrue("\(error)".contains("not enough disk space"), "\(error)")
        }
        XCTAssertNoThrow(try Hub.checkDiskSpace(in: cacheRoot, needed: 1 << 20))
    }

    func testRepoIDsAndSettings() throws {
        let (id, revision) = try RepoID.parse("XiaomiMiMo/MiMo-Audio-Tokenizer@v1.0")
        XCTAssertEqual(id.cacheFolderName, "models--XiaomiMiMo--MiMo-Audio-Tokenizer")
        XCTAssertEqual(revision, "v1.0")
        for bad in ["", "a", "a/b/c", "/abs/path", "./x", "../x/y", "a/b@", "a/-b", "a/b..c", "a/b@../x", "a/b c"] {
            XCTAssertFalse(RepoID.looksLikeRepoID(bad), bad)
        }
        let settings = try HubSettings.fromEnvironment(["HOME": "/home/u"])
        XCTAssertEqual(settings.cache.path, "/home/u/.cache/huggingface/hub")
        XCTAssertEqual(settings.endpoint.absoluteString, "https://huggingface.co")
        XCTAssertFalse(settings.offline)
        let custom = try HubSettings.fromEnvironment([
            "HOME": "/home/u", "HF_HOME": "/data/hf", "HF_ENDPOINT": "http://mirror:8080/", "HF_HUB_OFFLINE": "1",
            "HF_TOKEN": "hf_x",
        ])
        XCTAssertEqual(custom.cache.path, "/data/hf/hub")
        XCTAssertEqual(custom.endpoint.absoluteString, "http://mirror:8080")
        XCTAssertTrue(custom.offline)
        XCTAssertEqual(custom.token, "hf_x")
        let tokenFile = scratch.appendingPathComponent("token")
        try Data("hf_from_file\n".utf8).write(to: tokenFile)
        XCTAssertEqual(
            try HubSettings.fromEnvironment(["HOME": "/home/u", "HF_TOKEN_PATH": tokenFile.path]).token, "hf_from_file")
        XCTAssertEqual(
            try HubSettings.fromEnvironment(["HOME": "/h", "HF_HUB_CACHE": "/c"], cacheDirectory: "/d").cache.path, "/d"
        )
        XCTAssertThrowsError(try HubSettings.fromEnvironment(["HF_ENDPOINT": "ftp://x"]))
    }

    private func sha256(_ url: URL) throws -> String {
        String(String(decoding: try runTool(["sha256sum", url.path]).stdout, as: UTF8.self).prefix(64))
    }

    private func sha256s(_ directory: URL) throws -> [String: String] {
        var result: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            result[name] = try sha256(directory.appendingPathComponent(name))
        }
        return result
    }
}
