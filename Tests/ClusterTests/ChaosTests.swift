import Foundation
import XCTest
import WinCLIP
@testable import Outputs
import ImageInput

/// A job of a few hundred small images on real processes on loopback, disturbed in every way
/// issue 10 lists: a worker killed, the coordinator killed (SIGKILL) and restarted mid-job,
/// a worker stopped (SIGSTOP) past the unit deadline and continued, the client interrupted
/// (SIGINT) and resumed. Afterwards every image has exactly one row and every score equals an
/// undisturbed embedded run.
final class ChaosTests: XCTestCase {
    let modelJSON = clusterFixtures.appendingPathComponent("tiny-vit-48.json").path
    let weights = clusterFixtures.appendingPathComponent("tiny-vit-48.safetensors").path
    let imageCount = 400

    /// `count` small real PNGs (random RGB, 32 px) in a plain folder.
    func writeImages(_ dir: URL, count: Int) throws {
        var rng = SystemRandomNumberGenerator()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for i in 0..<count {
            let pixels = (0..<(32 * 32 * 3)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            try PNGEncoder.write(RGBImage(width: 32, height: 32, pixels: pixels), to: dir.appendingPathComponent(String(format: "%04d.png", i)))
        }
    }

    /// Seconds until the row count grows past `rows` after a disturbance (how long it stalled).
    func stall(_ out: URL, after rows: Int, _ submit: ManagedProcess) -> Double {
        waitForRows(out, rows + 5, submit, seconds: 60)
    }

    func testEveryDisturbanceLosesNothing() throws {
        let dir = try temporaryOutputFolder(self)
        let images = dir.appendingPathComponent("images")
        try writeImages(images, count: imageCount)

        // The undisturbed reference, in process.
        let reference = try runSubmit(tinySubmitOptions(dataset: images.path, output: dir.appendingPathComponent("reference")))
        let expected = try readResults(reference)
        XCTAssertEqual(expected.count, imageCount)

        let port = try freeLoopbackPort()
        let config = dir.appendingPathComponent("cluster.yaml")
        try """
        coordinator:
          endpoint: tcp://127.0.0.1:\(port)
          heartbeat_seconds: 0.25
          worker_expiry_seconds: 6
          unit_deadline_factor: 4
          unit_deadline_floor_seconds: 1
        model:
          config: \(modelJSON)
          weights: \(weights)
        submit:
          silence_seconds: 2
          reconnect_grace_seconds: 60
        """.write(to: config, atomically: true, encoding: .utf8)
        var processes: [ManagedProcess] = []
        defer { processes.reversed().forEach { kill($0.process.processIdentifier, SIGCONT); $0.stop() } }
        func start(_ executable: String, _ args: [String], _ name: String) throws -> ManagedProcess {
            let p = try ManagedProcess(executable, args, logDirectory: dir, name: name)
            processes.append(p)
            return p
        }
        var coordinator = try start("winclip-coord", ["serve", "--config", config.path, "--verbose"], "coordinator")
        XCTAssert(coordinator.waitForOutput("coordinator listening", seconds: 30), coordinator.output)
        let w1 = try start("winclip-worker", ["--config", config.path], "worker1")
        let w2 = try start("winclip-worker", ["--config", config.path], "worker2")
        XCTAssert(coordinator.waitForOutput("2 worker(s)", seconds: 30), coordinator.output)

        let out = dir.appendingPathComponent("disturbed")
        let args = ["submit", images.path, "--config", config.path, "--output", out.path, "--quiet"]
        let submit = try start("winclip-coord", args, "submit")
        var report: [String] = []

        // 1. A worker killed; another joins.
        waitForRows(out, 30, submit)
        var rows = rowCount(out)
        kill(w1.process.processIdentifier, SIGKILL)
        _ = try start("winclip-worker", ["--config", config.path], "worker3")
        report.append(String(format: "worker killed at %d rows: %.2f s until 5 more", rows, stall(out, after: rows, submit)))

        // 2. The coordinator killed and restarted on the same endpoint.
        waitForRows(out, 80, submit)
        rows = rowCount(out)
        kill(coordinator.process.processIdentifier, SIGKILL)
        coordinator.wait(seconds: 10)
        Thread.sleep(forTimeInterval: 0.5)
        coordinator = try start("winclip-coord", ["serve", "--config", config.path, "--verbose"], "coordinator-restarted")
        report.append(String(format: "coordinator killed at %d rows: %.2f s until 5 more", rows, stall(out, after: rows, submit)))

        // 3. A worker stopped past the unit deadline (1 s floor), then continued.
        waitForRows(out, 140, submit)
        rows = rowCount(out)
        kill(w2.process.processIdentifier, SIGSTOP)
        let stalledStop = stall(out, after: rows, submit)
        report.append(String(format: "worker stopped at %d rows: %.2f s until 5 more", rows, stalledStop))

        // 4. The client interrupted (at once: well before the end), then resumed. Paused first,
        // so that it cannot finish before the interrupt lands; interrupted while the worker is
        // still stopped (its units are copied after one deadline, so the job no longer waits
        // for it and could end within the stop).
        kill(submit.process.processIdentifier, SIGSTOP)
        kill(submit.process.processIdentifier, SIGINT)
        kill(submit.process.processIdentifier, SIGCONT)
        Thread.sleep(forTimeInterval: max(0, 3 - stalledStop))
        kill(w2.process.processIdentifier, SIGCONT)
        XCTAssert(submit.wait(seconds: 30), submit.output)
        XCTAssertEqual(submit.process.terminationStatus, 1, "interrupted: \(submit.output)")
        rows = rowCount(out)
        XCTAssertLessThan(rows, imageCount, "interrupted before the end")
        let resumed = try start("winclip-coord", args + ["--resume"], "submit-resumed")
        XCTAssert(resumed.wait(seconds: 120), resumed.output)
        XCTAssertEqual(resumed.process.terminationStatus, 0, resumed.output)
        report.append("client interrupted at \(rows) rows, resumed")

        // Exactly one row per image, every score as undisturbed.
        let lines = try String(contentsOf: out.appendingPathComponent("results.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, imageCount)
        let got = try readResults(out)
        XCTAssertEqual(got.count, imageCount)
        for (image, row) in expected {
            XCTAssertEqual(got[image]?.score, row.score, image)
        }
        // No ghosts: two worker processes live after the restart, never counted as three (the
        // count in the coordinator's log lines, CoordinatorDiagnostic.workerJoined, operators read).
        XCTAssertFalse(coordinator.output.contains("3 worker(s)"), coordinator.output)
        let logs = [coordinator.output, processes.first { $0.name == "coordinator" }!.output].joined()
        let requeued = logs.components(separatedBy: "re-queued").count - 1
        let late = logs.components(separatedBy: "another worker computes it too").count - 1
        report.append("units re-queued: \(requeued), late units copied: \(late)")
        print("chaos: " + report.joined(separator: "; "))
    }
}
