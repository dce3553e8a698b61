import Foundation
import XCTest
import WinCLIP
@testable import Outputs
import ImageInput

/// Issue 17, item 7: a small rack of network namespaces (as root): the coordinator's host, three
/// worker hosts and a client host, each joined by a veth pair to a bridge in a switch namespace,
/// on private addresses that exist only inside those namespaces (all deleted afterwards). One job
/// per fault, each fault mid-job:
///
/// 1. a worker host's link down (no FIN: its connections are half-open), then up again;
/// 2. the client host's link down, then up;
/// 3. a worker host's processes SIGSTOPped, then continued;
/// 4. the coordinator host's link flapping.
///
/// Every job ends with one row per image and every score equal to an undisturbed run; the stall
/// of each fault (seconds from the fault until 5 more rows) is printed for the note. The link
/// faults last as long as the issue's (30 s and 20 s), far past the timeouts they exercise
/// (worker expiry 3 s, the client's silence 2 s, the unit deadline 1 s): a half-open connection
/// must be noticed by ZeroMQ's heartbeats, not by the link coming back.
final class RackNamespaceTests: XCTestCase {
    let imageCount = 160
    static let ip = "/usr/sbin/ip"

    /// The rack's namespaces and addresses; `tag` keeps parallel runs apart.
    struct Rack {
        let tag = String(format: "%04x", UInt16.random(in: 0...UInt16.max))
        let hosts = ["coord", "w1", "w2", "w3", "client"]
        var switchNS: String { "rsw\(tag)" }
        func ns(_ host: String) -> String { "r\(tag)\(host)" }
        func address(_ host: String) -> String { "10.99.0.\(hosts.firstIndex(of: host)! + 1)" }
        var launcher: (String) -> [String] { { [RackNamespaceTests.ip, "netns", "exec", self.ns($0)] } }
    }

    @discardableResult
    static func run(_ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ip)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    static func must(_ args: [String]) throws {
        let status = try run(args)
        guard status == 0 else { throw NSError(domain: "ip \(args.joined(separator: " ")) exited \(status)", code: Int(status)) }
    }

    /// Builds the rack, or throws XCTSkip saying why it cannot.
    func build(_ rack: Rack) throws {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: Self.ip) else {
            throw XCTSkip("the namespace rack needs root and iproute2 (ip): not available here")
        }
        guard (try? Self.run(["netns", "add", rack.switchNS])) == 0 else {
            throw XCTSkip("cannot make network namespaces here (ip netns add failed)")
        }
        try Self.must(["-n", rack.switchNS, "link", "add", "br0", "type", "bridge"])
        try Self.must(["-n", rack.switchNS, "link", "set", "br0", "up"])
        for host in rack.hosts {
            let ns = rack.ns(host)
            try Self.must(["netns", "add", ns])
            try Self.must(["-n", rack.switchNS, "link", "add", "p-\(host)", "type", "veth", "peer", "name", "eth0", "netns", ns])
            try Self.must(["-n", rack.switchNS, "link", "set", "p-\(host)", "master", "br0"])
            try Self.must(["-n", rack.switchNS, "link", "set", "p-\(host)", "up"])
            try Self.must(["-n", ns, "addr", "add", "\(rack.address(host))/24", "dev", "eth0"])
            try Self.must(["-n", ns, "link", "set", "eth0", "up"])
            try Self.must(["-n", ns, "link", "set", "lo", "up"])
        }
    }

    func tearDown(_ rack: Rack) {
        for ns in rack.hosts.map(rack.ns) + [rack.switchNS] { _ = try? Self.run(["netns", "del", ns]) }
    }

    func link(_ rack: Rack, _ host: String, up: Bool) throws {
        try Self.must(["-n", rack.ns(host), "link", "set", "eth0", up ? "up" : "down"])
    }

    func testAPartitionedRackLosesNothing() throws {
        let rack = Rack()
        defer { tearDown(rack) }
        try build(rack)

        let dir = try temporaryOutputFolder(self)
        let images = dir.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        var rng = SystemRandomNumberGenerator()
        for i in 0..<imageCount {
            let pixels = (0..<(32 * 32 * 3)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            try PNGEncoder.write(RGBImage(width: 32, height: 32, pixels: pixels), to: images.appendingPathComponent(String(format: "%04d.png", i)))
        }
        let expected = try readResults(try runSubmit(tinySubmitOptions(dataset: images.path, output: dir.appendingPathComponent("reference"))))
        XCTAssertEqual(expected.count, imageCount)

        let config = dir.appendingPathComponent("cluster.yaml")
        try """
        coordinator:
          endpoint: tcp://\(rack.address("coord")):5555
          heartbeat_seconds: 0.25
          worker_expiry_seconds: 3
          client_expiry_seconds: 5
          unit_deadline_factor: 4
          unit_deadline_floor_seconds: 1
        model:
          config: \(clusterFixtures.appendingPathComponent("tiny-vit-48.json").path)
          weights: \(clusterFixtures.appendingPathComponent("tiny-vit-48.safetensors").path)
        submit:
          silence_seconds: 2
          reconnect_grace_seconds: 60
        security:
          mode: none
          allow_insecure: true   # private addresses inside this test's own namespaces
        """.write(to: config, atomically: true, encoding: .utf8)
        var processes: [ManagedProcess] = []
        defer { processes.reversed().forEach { kill($0.process.processIdentifier, SIGCONT); $0.stop() } }
        func start(_ executable: String, _ args: [String], on host: String, _ name: String) throws -> ManagedProcess {
            let p = try ManagedProcess(executable, args, logDirectory: dir, name: name, launcher: rack.launcher(host))
            processes.append(p)
            return p
        }
        let coordinator = try start("winclip-coord", ["serve", "--config", config.path], on: "coord", "coordinator")
        XCTAssert(coordinator.waitForOutput("coordinator listening", seconds: 30), coordinator.output)
        var workers: [String: ManagedProcess] = [:]
        for host in ["w1", "w2", "w3"] { workers[host] = try start("winclip-worker", ["--config", config.path], on: host, "worker-\(host)") }
        XCTAssert(coordinator.waitForOutput("3 worker(s)", seconds: 30), coordinator.output)

        let faults: [(name: String, run: () throws -> Void)] = [
            ("worker host w1 link down 30 s", { try self.link(rack, "w1", up: false); Thread.sleep(forTimeInterval: 30); try self.link(rack, "w1", up: true) }),
            ("client host link down 20 s", { try self.link(rack, "client", up: false); Thread.sleep(forTimeInterval: 20); try self.link(rack, "client", up: true) }),
            ("worker host w2 SIGSTOPped 4 s", {
                let pid = workers["w2"]!.process.processIdentifier
                kill(pid, SIGSTOP); Thread.sleep(forTimeInterval: 4); kill(pid, SIGCONT)
            }),
            ("coordinator host link flapping 3 x 1 s", {
                for _ in 0..<3 { try self.link(rack, "coord", up: false); Thread.sleep(forTimeInterval: 1); try self.link(rack, "coord", up: true); Thread.sleep(forTimeInterval: 1) }
            }),
        ]
        var report: [String] = []
        for (i, fault) in faults.enumerated() {
            let out = dir.appendingPathComponent("job-\(i)")
            let submit = try start("winclip-coord", ["submit", images.path, "--config", config.path, "--output", out.path, "--quiet"], on: "client", "submit-\(i)")
            waitForRows(out, 40, submit)
            // The fault runs on its own thread; this one measures the stall meanwhile.
            let rows = rowCount(out), started = Date()
            let faultDone = DispatchSemaphore(value: 0)
            let failure = FaultFailure()
            nonisolated(unsafe) let run = fault.run  // joined below before anything else runs
            Thread.detachNewThread {
                do { try run() } catch { failure.set("\(error)") }
                faultDone.signal()
            }
            waitForRows(out, rows + 5, submit)
            let stall = Date().timeIntervalSince(started)
            faultDone.wait()
            XCTAssertNil(failure.value, fault.name)
            XCTAssert(submit.wait(seconds: 120), "\(fault.name): the job did not end: \(submit.output)")
            XCTAssertEqual(submit.process.isRunning ? -1 : submit.process.terminationStatus, 0, "\(fault.name): \(submit.output)")
            let got = try readResults(out)
            let lines = (try? String(contentsOf: out.appendingPathComponent("results.jsonl"), encoding: .utf8).split(separator: "\n").count) ?? 0
            XCTAssertEqual(lines, imageCount, "\(fault.name): one row per image")
            for (image, row) in expected { XCTAssertEqual(got[image]?.score, row.score, "\(fault.name): \(image)") }
            report.append(String(format: "%@ at %d rows: %.1f s until 5 more", fault.name, rows, stall))
        }
        XCTAssert(coordinator.process.isRunning, coordinator.output)
        // No ghosts: workers that reconnected (after a cut link, a stop) replaced their old
        // registrations; three processes are never counted as four (the worker count of the
        // coordinator's log lines, CoordinatorDiagnostic.workerJoined/workerLeft, is what operators read).
        XCTAssertFalse(coordinator.output.contains("4 worker(s)"), coordinator.output)
        print("rack: " + report.joined(separator: "; "))  // the note's figures
    }
}

/// An error of a fault's thread, for the test's thread.
private final class FaultFailure: @unchecked Sendable {
    private let lock = NSLock()
    private var message: String?
    func set(_ text: String) { lock.lock(); message = text; lock.unlock() }
    var value: String? { lock.lock(); defer { lock.unlock() }; return message }
}
