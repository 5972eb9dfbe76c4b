import Foundation
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The local stand-in for the Hugging Face hub (Tests/HubStandIn/hub_standin.py), started on
/// loopback for a test and stopped with it: a hub port serving fixture repositories with the
/// hub's headers, a CDN port for LFS content that rejects credentials, faults on request and a
/// log of every request both received.
public final class StandInHub {
    public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("HubStandIn")

    public let endpoint: URL
    public let cdn: URL
    private let process: Process

    /// One request as the stand-in saw it.
    public struct Request: Decodable, Equatable {
        public let server: String
        public let method: String
        public let path: String
        public let range: String?
        public let authorization: Bool
    }

    /// Serves each `repos` entry (repo id → directory); `gated` repos need `token`.
    public init(repos: [String: URL], gated: [String] = [], token: String? = nil) throws {
        var arguments = [Self.directory.appendingPathComponent("hub_standin.py").path]
        for (id, directory) in repos.sorted(by: { $0.key < $1.key }) {
            arguments += ["--repo", "\(id)=\(directory.path)"]
        }
        for id in gated { arguments += ["--gated", id] }
        if let token { arguments += ["--token", token] }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        // The one line it prints once both servers listen: "hub=URL cdn=URL".
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            guard !byte.isEmpty else { break }
            line.append(byte)
        }
        let fields = String(decoding: line, as: UTF8.self).split(separator: " ").map {
            $0.split(separator: "=", maxSplits: 1)
        }
        guard let hub = fields.first(where: { $0.first == "hub" })?.last.flatMap({ URL(string: String($0)) }),
            let cdn = fields.first(where: { $0.first == "cdn" })?.last.flatMap({
                URL(string: String($0).trimmingCharacters(in: .whitespacesAndNewlines))
            })
        else {
            process.terminate()
            throw StandInError("the stand-in hub did not start (python3 and Tests/HubStandIn/hub_standin.py)")
        }
        (endpoint, self.cdn) = (hub, cdn)
    }

    deinit { stop() }

    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// Every request since the last reset.
    public func log() throws -> [Request] {
        try JSONDecoder().decode([Request].self, from: control("log", method: "GET"))
    }

    /// Clears the log and every fault.
    public func reset() throws { _ = try control("reset", method: "POST") }

    /// Injects a fault: `["drop": ["path": …, "after_bytes": N, "times": 1]]`, `["corrupt": ["path": …]]`
    /// or `["status": ["code": 500, "times": 2]]`.
    public func fault(_ fault: [String: Any]) throws {
        _ = try control("fault", method: "POST", body: try JSONSerialization.data(withJSONObject: fault))
    }

    private func control(_ name: String, method: String, body: Data? = nil) throws -> Data {
        var request = URLRequest(url: endpoint.appendingPathComponent("_standin").appendingPathComponent(name))
        request.httpMethod = method
        request.httpBody = body
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<Data, Error> = .failure(StandInError("no answer from the stand-in"))
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                result = .failure(error)
            } else if let status = (response as? HTTPURLResponse)?.statusCode, status != 200 {
                result = .failure(StandInError("stand-in control \(name): HTTP \(status)"))
            } else {
                result = .success(data ?? Data())
            }
            done.signal()
        }.resume()
        done.wait()
        return try result.get()
    }
}

public struct StandInError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The real `huggingface_hub` (from PyPI), driven through Tests/HubStandIn/hf_client.py.
public enum HuggingFaceHubClient {
    /// Runs `hf_client.py` with `arguments`; its JSON answer, or the error it printed.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> [String: Any] {
        let script = StandInHub.directory.appendingPathComponent("hf_client.py").path
        let run = try runTool(["python3", script] + arguments, environment: environment)
        guard run.status == 0, let object = try JSONSerialization.jsonObject(with: run.stdout) as? [String: Any] else {
            throw StandInError("hf_client.py \(arguments.first ?? "") failed (\(run.status)): \(run.stderr)")
        }
        return object
    }
}
