import Foundation
import Options
import XCTest
@testable import Configuration

/// cluster.yaml is decoded strictly: typos and wrong types are errors that name the key and
/// its line; values that cannot work are refused by name.
final class ClusterConfigTests: XCTestCase {
    let base = URL(fileURLWithPath: "/etc/winclip")

    func parse(_ yaml: String) throws -> ClusterConfig { try ClusterConfig.parse(yaml, baseDirectory: base) }

    func assertRefused(_ yaml: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(yaml), file: file, line: line) {
            XCTAssert("\($0)".contains(expected), "'\($0)' should say '\(expected)'", file: file, line: line)
        }
    }

    func testTheShippedConfigParses() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("cluster.yaml")
        let c = try ClusterConfig.load(path: url.path)
        XCTAssertEqual(c.coordinator.endpoint, "tcp://127.0.0.1:5555")
        XCTAssertEqual(c.winclip.windowAttention, .window)
        XCTAssertEqual(c.winclip.scales, [2, 3])
        XCTAssertEqual(c.coordinator.settings.unitAttempts, 3)
        XCTAssertEqual(c.coordinator.settings.quarantineAfter, 3)
    }

    func testUnitAttemptsAndQuarantineReachTheCoordinator() throws {
        let c = try parse("coordinator:\n  unit_attempts: 5\n  quarantine_after: 2\n")
        XCTAssertEqual(c.coordinator.settings.unitAttempts, 5)
        XCTAssertEqual(c.coordinator.settings.quarantineAfter, 2)
        assertRefused("coordinator:\n  unit_attempts: 0\n", "coordinator.unit_attempts (line 2) must be at least 1")
        assertRefused("coordinator:\n  quarantine_after: 0\n", "coordinator.quarantine_after (line 2) must be at least 1")
    }

    func testValuesAndRelativePaths() throws {
        let c = try parse("""
        coordinator:
          endpoint: tcp://10.0.0.5:6000
          heartbeat_seconds: 0.5
        model:
          config: models/tiny.json
          weights: w.safetensors
        winclip:
          scales: [2, 4]
          window_attention: cross
          task: classification
        worker:
          threads: 2
        security:
          mode: curve
          coordinator_public_key: keys/coordinator.key
          secret_key: keys/worker.key_secret
          authorized_workers: keys/workers
        """)
        XCTAssertEqual(c.coordinator.endpoint, "tcp://10.0.0.5:6000")
        XCTAssertEqual(c.security.mode, .curve)
        XCTAssertEqual(c.security.coordinatorPublicKey, "/etc/winclip/keys/coordinator.key")
        XCTAssertEqual(c.security.secretKey, "/etc/winclip/keys/worker.key_secret")
        XCTAssertEqual(c.security.authorizedWorkers, "/etc/winclip/keys/workers")
        XCTAssertEqual(c.coordinator.heartbeatSeconds, 0.5)
        XCTAssertEqual(c.model.config, "/etc/winclip/models/tiny.json")
        XCTAssertEqual(c.model.weights, "/etc/winclip/w.safetensors")
        XCTAssertEqual(c.winclip, JobOptions(scales: [2, 4], windowAttention: .cross, task: .classification))
        XCTAssertEqual(c.worker.threads, 2)
        XCTAssertEqual(try parse(""), ClusterConfig(), "an empty file means every default")
    }

    func testUnknownKeysNameTheKeyAndLine() {
        assertRefused("coordinator:\n  endpont: tcp://127.0.0.1:1\n", "unknown key 'endpont'")
        assertRefused("coordinator:\n  endpont: tcp://127.0.0.1:1\n", "(line 2)")
        assertRefused("model:\n  config: ViT-B-16\nwinclp:\n  scales: [2]\n", "unknown key 'winclp'")
        assertRefused("winclip:\n  scales: [2]\n  windows: 3\n", "(line 3)")
    }

    func testWrongTypesNameTheKeyAndLine() {
        assertRefused("coordinator:\n  heartbeat_seconds: often\n", "coordinator.heartbeat_seconds (line 2) must be a number")
        assertRefused("winclip:\n  scales: two\n", "winclip.scales (line 2)")
        assertRefused("winclip:\n  window_attention: anomalib\n", "'anomalib' was renamed")
        assertRefused("worker:\n  threads: 1.5\n", "worker.threads (line 2)")
    }

    func testValuesThatCannotWork() {
        assertRefused("coordinator:\n  heartbeat_seconds: 0\n", "coordinator.heartbeat_seconds (line 2) must be positive")
        assertRefused("coordinator:\n  heartbeat_seconds: 2\n  worker_expiry_seconds: 1\n", "worker_expiry_seconds (line 3) (1.0) must be longer than heartbeat_seconds")
        assertRefused("worker:\n  threads: 0\n", "worker.threads (line 2) must be at least 1")
        assertRefused("winclip:\n  scales: [0]\n", "window scale 0 must be a positive number")
    }
}
