import Foundation
import XCTest
@testable import CLI
@testable import Configuration
@testable import Transport

/// cluster.yaml values that YAML or ZeroMQ would take silently: a key given twice, a port that
/// is no port, and `localhost`, which ZeroMQ connects to but cannot bind.
final class ConfigChecksTests: XCTestCase {
    func parse(_ yaml: String) throws -> ClusterConfig { try ClusterConfig.parse(yaml, baseDirectory: URL(fileURLWithPath: "/etc/winclip")) }

    func testAKeyGivenTwiceIsAnErrorNamingItAndBothLines() {
        XCTAssertThrowsError(try parse("coordinator:\n  endpoint: tcp://127.0.0.1:5555\n  heartbeat_seconds: 1\n  endpoint: tcp://127.0.0.1:6000\n")) {
            XCTAssertEqual($0 as? DuplicateKey, DuplicateKey(path: ["coordinator", "endpoint"], lines: [2, 4], source: "cluster.yaml"))
        }
        XCTAssertThrowsError(try parse("model:\n  config: ViT-B-16\nworker:\n  threads: 1\nmodel:\n  config: ViT-B-32\n")) {
            XCTAssertEqual(($0 as? DuplicateKey)?.path, ["model"])
        }
        // The same key in different sections is no repetition.
        XCTAssertNoThrow(try parse("coordinator:\n  endpoint: tcp://127.0.0.1:5555\nmodel:\n  config: ViT-B-16\n"))
    }

    func testAPromptFileKeyGivenTwiceIsAnError() throws {
        let url = try temporaryOutputFolder(self).appendingPathComponent("prompts.yaml")
        try "normal_states: ['{}']\nanomalous_states: ['broken {}']\ntemplates: ['a {}.']\ntemplates: ['the {}.']\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PromptFile.load(path: url.path)) { XCTAssert("\($0)".contains("templates") && "\($0)".contains("lines 3 and 4"), "\($0)") }
    }

    func testPortsOutsideTheRangeAreRefused() throws {
        for bad in ["tcp://127.0.0.1:70000", "tcp://127.0.0.1:0", "tcp://127.0.0.1:http", "tcp://127.0.0.1:", "tcp://127.0.0.1:-1"] {
            XCTAssertNotNil(EndpointAddress.portProblem(bad), bad)
            XCTAssertThrowsError(try parse("coordinator:\n  endpoint: '\(bad)'\n"), bad) {
                XCTAssert("\($0)".contains("coordinator.endpoint (line 2)"), "\($0)")
            }
            XCTAssertThrowsError(try ClusterFlags.parse(["--endpoint", bad]).load(), "--endpoint \(bad)") {
                XCTAssert("\($0)".contains("--endpoint"), "\($0)")
            }
        }
        for good in ["tcp://127.0.0.1:1", "tcp://127.0.0.1:65535", "tcp://localhost:5555", "tcp://127.0.0.1:*", "tcp://[::1]:5555",
                     "ipc:///tmp/winclip.sock", "inproc://x"] {
            XCTAssertNil(EndpointAddress.portProblem(good), good)
        }
    }

    /// A port that was free a moment ago: bound on any port, then released (ending the probe's
    /// context waits until its listener is closed).
    static func freePort() throws -> String {
        let context = ZMQContext()
        return try withExtendedLifetime(context) {
            let probe = try ZMQSocket(context, .router)
            defer { probe.close() }
            try probe.bind("tcp://127.0.0.1:*")
            return try XCTUnwrap(probe.lastEndpoint.split(separator: ":").last.map(String.init))
        }
    }

    /// ZeroMQ cannot bind `tcp://localhost:PORT` ("No such device"); the coordinator binds
    /// 127.0.0.1 for it, which is what a peer connecting to localhost reaches.
    func testLocalhostEndpointsBindAndConnect() throws {
        let port = try Self.freePort()
        let context = ZMQContext()
        let endpoint = "tcp://localhost:\(port)"
        var received: [Data]?
        do {
            let server = try ZMQSocket(context, .router)
            defer { server.close() }
            try server.bind(endpoint)
            let client = try ZMQSocket(context, .dealer)
            defer { client.close() }
            try client.connect(endpoint)
            _ = try client.send([Data("hello".utf8)])
            for _ in 0..<50 where received == nil { received = try server.receive(timeoutMs: 100) }
        }
        withExtendedLifetime(context) {}  // its sockets close first
        XCTAssertEqual(received?.last, Data("hello".utf8), "a message over tcp://localhost:\(port)")
    }
}
