import Foundation
import XCTest
@testable import Protocol
@testable import Transport

/// `winclip-coord status` under `security.mode: curve`, with real processes: an operator key
/// (authorized_operators) sees the whole rack, a client key its own jobs and no workers, a
/// worker key is refused, an unknown key fails its handshake with a message saying so.
final class OperatorKeyProcessTests: XCTestCase {
    func testWhatEachKeySees() throws {
        let dir = try temporaryOutputFolder(self)
        let keys = dir.appendingPathComponent("keys")
        for name in ["coordinator", "w1", "alice", "ops", "stranger"] { _ = try CurveCertificate.generate(name: name, directory: keys) }
        for (name, folder) in [("w1", "workers"), ("alice", "clients"), ("ops", "operators")] {
            let to = dir.appendingPathComponent("authorized/\(folder)")
            try FileManager.default.createDirectory(at: to, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: keys.appendingPathComponent("\(name).key"), to: to.appendingPathComponent("\(name).key"))
        }
        let yaml = """
        coordinator:
          endpoint: tcp://127.0.0.1:\(try freeLoopbackPort())
          heartbeat_seconds: 0.25
        model:
          config: \(clusterFixtures.appendingPathComponent("tiny-vit-48.json").path)
          weights: \(clusterFixtures.appendingPathComponent("tiny-vit-48.safetensors").path)
        security:
          mode: curve
          coordinator_public_key: keys/coordinator.key
          coordinator_secret_key: keys/coordinator.key_secret
          authorized_workers: authorized/workers
          authorized_clients: authorized/clients
          authorized_operators: authorized/operators
        """
        let config = dir.appendingPathComponent("cluster.yaml").path
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        var processes: [ManagedProcess] = []
        defer { processes.reversed().forEach { $0.stop() } }
        let coordinator = try ManagedProcess("winclip-coord", ["serve", "--config", config], logDirectory: dir, name: "coordinator")
        processes.append(coordinator)
        XCTAssert(coordinator.waitForOutput("coordinator listening", seconds: 30), coordinator.output)
        processes.append(try ManagedProcess("winclip-worker", ["--config", config, "--secret-key", keys.appendingPathComponent("w1.key_secret").path],
                                            logDirectory: dir, name: "worker"))
        XCTAssert(coordinator.waitForOutput("1 worker(s)", seconds: 60), coordinator.output)

        func status(_ key: String) throws -> (status: Int32, stdout: String, stderr: String) {
            try runProgram("winclip-coord", ["status", "--config", config, "--json", "--timeout", "5",
                                             "--secret-key", keys.appendingPathComponent("\(key).key_secret").path], timeout: 60)
        }
        let ops = try status("ops")
        XCTAssertEqual(ops.status, 0, ops.stderr)
        XCTAssertEqual(try JSONDecoder().decode(RackStatus.self, from: Data(ops.stdout.utf8)).workers.map(\.name), ["w1"])
        let alice = try status("alice")
        XCTAssertEqual(alice.status, 0, alice.stderr)
        XCTAssertEqual(try JSONDecoder().decode(RackStatus.self, from: Data(alice.stdout.utf8)).workers, [], "a client sees its own jobs only")
        let worker = try status("w1")
        XCTAssertEqual(worker.status, 1)
        XCTAssert(worker.stderr.contains("refused") && worker.stderr.contains("operator key"), worker.stderr)
        let stranger = try status("stranger")
        XCTAssertEqual(stranger.status, 1)
        XCTAssert(stranger.stderr.contains("authorized_operators"), "the handshake failure names the folder: \(stranger.stderr)")
    }
}
