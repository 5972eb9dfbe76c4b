import Foundation

/// Where the hub is, who we are to it and where its files are cached, from the environment
/// variables `huggingface_hub` reads (so both tools share one cache and one login).
public struct HubSettings: Sendable {
    /// The hub's base URL (`HF_ENDPOINT`, default https://huggingface.co).
    public var endpoint: URL
    /// Sent as a Bearer token to the hub's own host only (`HF_TOKEN`, else the file at
    /// `HF_TOKEN_PATH`, else `$HF_HOME/token`).
    public var token: String?
    /// Use the cache only (`HF_HUB_OFFLINE=1`).
    public var offline: Bool
    /// `HF_HOME` (default `$XDG_CACHE_HOME/huggingface`, `~/.cache/huggingface`).
    public var home: URL
    /// The hub cache (`HF_HUB_CACHE`, default `$HF_HOME/hub`).
    public var cache: URL

    public init(endpoint: URL, token: String?, offline: Bool, home: URL, cache: URL) {
        (self.endpoint, self.token, self.offline, self.home, self.cache) = (endpoint, token, offline, home, cache)
    }

    /// The settings `environment` describes; `cacheDirectory` (a `--cache-dir`) overrides the cache.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment, cacheDirectory: String? = nil
    ) throws(HubError) -> HubSettings {
        func value(_ name: String) -> String? {
            guard let v = environment[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        let userHome = value("HOME").map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        func path(_ text: String) -> URL {
            URL(fileURLWithPath: text.hasPrefix("~/") ? userHome.path + text.dropFirst() : text)
        }
        let xdgCache = value("XDG_CACHE_HOME").map(path) ?? userHome.appendingPathComponent(".cache")
        let home = value("HF_HOME").map(path) ?? xdgCache.appendingPathComponent("huggingface")
        let cache =
            (cacheDirectory ?? value("HF_HUB_CACHE") ?? value("HUGGINGFACE_HUB_CACHE")).map(path)
            ?? home.appendingPathComponent("hub")
        let endpointText = value("HF_ENDPOINT") ?? "https://huggingface.co"
        guard let endpoint = URL(string: endpointText.hasSuffix("/") ? String(endpointText.dropLast()) : endpointText),
            ["http", "https"].contains(endpoint.scheme?.lowercased() ?? ""), endpoint.host != nil
        else { throw .invalidSetting(name: "HF_ENDPOINT", value: endpointText, expected: "an http(s) URL") }
        var token = value("HF_TOKEN") ?? value("HUGGING_FACE_HUB_TOKEN")
        if token == nil {
            let file = value("HF_TOKEN_PATH").map(path) ?? home.appendingPathComponent("token")
            token = (try? String(contentsOf: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            if token?.isEmpty == true { token = nil }
        }
        let offline = ["1", "on", "yes", "true"].contains(value("HF_HUB_OFFLINE")?.lowercased() ?? "")
        return HubSettings(endpoint: endpoint, token: token, offline: offline, home: home, cache: cache)
    }
}
