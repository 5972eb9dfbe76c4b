import Foundation
import TestSupport
import XCTest

/// Two `serve` replicas behind Debian's nginx with `deploy/nginx.conf`, driven by the `openai`
/// client (`Tests/ServerClient/replica_check.py`): both serve; a conversation's second turn on the
/// other replica works; with one replica killed requests still succeed; the other's SIGTERM drain
/// finishes the request in flight.
extension ServeTests {
    static let nginx = "/usr/sbin/nginx"

    func testTwoReplicasBehindNginx() throws {
        XCTAssertTrue(
            FileManager.default.isExecutableFile(atPath: Self.nginx), "nginx is missing: .ci/run installs Debian's")
        let a = try startBusy(steps: 2000)
        let b = try startBusy(steps: 2000)
        defer {
            _ = a.stop()
            _ = b.stop()
        }
        let (nginx, base) = try startNginx(replicas: [a.base.port!, b.base.port!])
        defer {
            nginx.terminate()
            nginx.waitUntilExit()
        }
        let script = Self.fixtures.deletingLastPathComponent().appendingPathComponent("ServerClient/replica_check.py")
        let audio = Self.fixtures.appendingPathComponent("test_audio.wav").path
        let spread = try runTool([
            "python3", script.path, "spread", base, a.base.absoluteString, b.base.absoluteString, audio,
        ])
        XCTAssertEqual(spread.status, 0, spread.output)

        // A replica dies: nginx marks it failed on the refused connection and passes the request on.
        kill(a.process.processIdentifier, SIGKILL)
        a.process.waitUntilExit()
        let survive = try runTool(["python3", script.path, "survive", base])
        XCTAssertEqual(survive.status, 0, survive.output)

        // The other drains: a long request through nginx is running when SIGTERM arrives.
        let long = Process()
        long.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        long.arguments = ["python3", script.path, "long", base]
        let output = Pipe()
        long.standardOutput = output
        long.standardError = output
        try long.run()
        var running = false
        for _ in 0..<200 where !running {
            running = (try? scrape(b)["mimo_audio_requests_running"]) == 1
            if !running { Thread.sleep(forTimeInterval: 0.05) }
        }
        XCTAssertTrue(running, "the long request never started on the remaining replica")
        kill(b.process.processIdentifier, SIGTERM)
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        long.waitUntilExit()
        XCTAssertEqual(long.terminationStatus, 0, said)
        XCTAssertTrue(said.contains("all checks passed"), said)
        b.process.waitUntilExit()
        XCTAssertEqual(b.process.terminationStatus, 0, "the drained replica exits 0")
    }

    /// nginx on a free loopback port with `deploy/nginx.conf` for these replica ports.
    func startNginx(replicas: [Int]) throws -> (Process, String) {
        let port = try freePort()
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("mimo-nginx-\(UUID().uuidString)")
        // nginx's workers run as an unprivileged user when it starts as root: they must reach
        // the request-body spool under the prefix.
        for sub in ["", "body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            try FileManager.default.createDirectory(
                at: prefix.appendingPathComponent(sub), withIntermediateDirectories: true,
                attributes: [.posixPermissions: sub.isEmpty ? 0o755 : 0o777])
        }
        addTeardownBlock { try? FileManager.default.removeItem(at: prefix) }
        let template = try String(
            contentsOf: Self.fixtures.deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("deploy/nginx.conf"), encoding: .utf8)
        let config = template.replacingOccurrences(of: "@PREFIX@", with: prefix.path)
            .replacingOccurrences(of: "@PORT_A@", with: String(replicas[0]))
            .replacingOccurrences(of: "@PORT_B@", with: String(replicas[1]))
            .replacingOccurrences(of: "@PORT@", with: String(port))
        let file = prefix.appendingPathComponent("nginx.conf")
        try config.write(to: file, atomically: true, encoding: .utf8)
        let nginx = Process()
        nginx.executableURL = URL(fileURLWithPath: Self.nginx)
        nginx.arguments = ["-p", prefix.path, "-c", file.path, "-g", "daemon off;"]
        nginx.standardOutput = FileHandle.nullDevice
        nginx.standardError = FileHandle.nullDevice
        try nginx.run()
        let base = "http://127.0.0.1:\(port)"
        for _ in 0..<100 {
            if let data = try? Data(contentsOf: URL(string: base + "/health")!),
                String(decoding: data, as: UTF8.self).contains("ok")
            {
                return (nginx, base)
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let log = (try? String(contentsOf: prefix.appendingPathComponent("error.log"), encoding: .utf8)) ?? ""
        nginx.terminate()
        throw StandInFailure("nginx did not start: \(log)")
    }

    /// A loopback port nothing listens on now.
    func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw StandInFailure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
