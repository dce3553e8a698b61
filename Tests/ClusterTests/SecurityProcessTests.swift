import CLibZMQ
import Foundation
import Logging
import XCTest
import WinCLIP
@testable import Protocol
@testable import Transport

/// The product with `security.mode: curve`, as users run it: `winclip-coord keygen`, `serve`,
/// `winclip-worker` and `submit` processes on 127.0.0.1, and hostile peers written with the
/// project's own ZeroMQ wrapper.
final class SecurityProcessTests: XCTestCase {
    let modelJSON = clusterFixtures.appendingPathComponent("tiny-vit-48.json").path
    let weights = clusterFixtures.appendingPathComponent("tiny-vit-48.safetensors").path
    let dataset = clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path

    /// A folder with keys made by `winclip-coord keygen` and a curve cluster.yaml.
    struct Rack {
        let dir: URL
        let port: Int
        let config: String
        var endpoint: String { "tcp://127.0.0.1:\(port)" }
        func secret(_ name: String) -> String { dir.appendingPathComponent("keys/\(name).key_secret").path }
        func keys(_ name: String) throws -> CurveKeyPair { try CurveCertificate.read(URL(fileURLWithPath: secret(name))).keyPair(source: name) }
        var coordinatorKey: CurveKey { get throws { try CurveCertificate.read(dir.appendingPathComponent("keys/coordinator.key")).publicKey } }
    }

    func makeRack(extra: String = "") throws -> Rack {
        let dir = try temporaryOutputFolder(self)
        // Keys: made where they are used, public halves copied into the coordinator's folders.
        for name in ["coordinator", "w1", "w2", "alice", "stranger"] {
            let keygen = try ManagedProcess("winclip-coord", ["keygen", name, "--dir", dir.appendingPathComponent("keys").path], logDirectory: dir, name: "keygen-\(name)")
            XCTAssert(keygen.wait(seconds: 30))
            XCTAssertEqual(keygen.process.terminationStatus, 0, keygen.output)
        }
        for (name, folder) in [("w1", "workers"), ("w2", "workers"), ("alice", "clients")] {
            let to = dir.appendingPathComponent("authorized/\(folder)")
            try FileManager.default.createDirectory(at: to, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: dir.appendingPathComponent("keys/\(name).key"), to: to.appendingPathComponent("\(name).key"))
        }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("authorized/clients"), withIntermediateDirectories: true)
        let port = try freeLoopbackPort()
        let yaml = """
        coordinator:
          endpoint: tcp://127.0.0.1:\(port)
          heartbeat_seconds: 0.25
          worker_expiry_seconds: 3
        model:
          config: \(modelJSON)
          weights: \(weights)
        security:
          mode: curve
          coordinator_public_key: keys/coordinator.key
          coordinator_secret_key: keys/coordinator.key_secret
          authorized_workers: authorized/workers
          authorized_clients: authorized/clients
        \(extra)
        """
        let config = dir.appendingPathComponent("cluster.yaml").path
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        return Rack(dir: dir, port: port, config: config)
    }

    func startCoordinator(_ rack: Rack, _ processes: inout [ManagedProcess]) throws -> ManagedProcess {
        let coordinator = try ManagedProcess("winclip-coord", ["serve", "--config", rack.config, "--verbose"], logDirectory: rack.dir, name: "coordinator")
        processes.append(coordinator)
        XCTAssert(coordinator.waitForOutput("coordinator listening", seconds: 30), coordinator.output)
        return coordinator
    }

    func startWorker(_ rack: Rack, key: String, name: String, _ processes: inout [ManagedProcess]) throws -> ManagedProcess {
        let w = try ManagedProcess("winclip-worker", ["--config", rack.config, "--secret-key", rack.secret(key)], logDirectory: rack.dir, name: name)
        processes.append(w)
        XCTAssert(w.waitForOutput("serving", seconds: 30), w.output)
        return w
    }

    func submit(_ rack: Rack, key: String, output: URL, _ extra: [String] = [], seconds: Double = 120) throws -> ManagedProcess {
        let s = try ManagedProcess("winclip-coord", ["submit", dataset, "--config", rack.config, "--secret-key", rack.secret(key),
                                                     "--output", output.path, "--quiet"] + extra,
                                   logDirectory: rack.dir, name: "submit-\(output.lastPathComponent)")
        XCTAssert(s.wait(seconds: seconds), "submit did not finish: \(s.output)")
        return s
    }

    func testOnlyAuthorisedKeysServeAndSubmitEachInItsRole() throws {
        let rack = try makeRack()
        var processes: [ManagedProcess] = []
        defer { processes.reversed().forEach { $0.stop() } }
        let coordinator = try startCoordinator(rack, &processes)
        let w1 = try startWorker(rack, key: "w1", name: "worker-w1", &processes)
        let w2 = try startWorker(rack, key: "w2", name: "worker-w2", &processes)
        let stranger = try startWorker(rack, key: "stranger", name: "worker-stranger", &processes)
        let clientAsWorker = try startWorker(rack, key: "alice", name: "worker-alice", &processes)
        XCTAssert(coordinator.waitForOutput("2 worker(s)", seconds: 30), coordinator.output)
        XCTAssert(stranger.waitForOutput("the coordinator refused this worker's key", seconds: 30), stranger.output)
        XCTAssert(coordinator.waitForOutput("refused READY from client key 'alice'", seconds: 30), coordinator.output)

        // The authorised client: a 2-shot job, equal to the embedded run.
        let clusterOut = rack.dir.appendingPathComponent("cluster")
        let job = try submit(rack, key: "alice", output: clusterOut, ["--k-shot", "2", "--save-maps"])
        XCTAssertEqual(job.process.terminationStatus, 2, "exit 2: the truncated PNG of the fixture is an error row; " + job.output)
        XCTAssert(job.output.contains("on 2 worker(s)"), "the two authorised workers served it: \(job.output)")
        // Verified setup (two worker keys): computed by w1 and w2, cached as verified. The
        // coordinator's log line (CoordinatorDiagnostic.setupReady) is what operators read.
        XCTAssert(coordinator.output.contains("text and reference embeddings ready"), coordinator.output)

        // A worker key cannot submit; an unknown key cannot even connect.
        let asWorker = try submit(rack, key: "w1", output: rack.dir.appendingPathComponent("as-worker"), seconds: 60)
        XCTAssertNotEqual(asWorker.process.terminationStatus, 0)
        XCTAssert(asWorker.output.contains("refused the job: this connection uses a worker key 'w1'"), asWorker.output)
        let unknown = try submit(rack, key: "stranger", output: rack.dir.appendingPathComponent("unknown"), seconds: 60)
        XCTAssertNotEqual(unknown.process.terminationStatus, 0)
        XCTAssert(unknown.output.contains("the coordinator refused this client's key"), unknown.output)

        // The unknown key is logged once, with its fingerprint, however often it knocks.
        let strangerKey = try rack.keys("stranger").publicKey
        XCTAssertEqual(coordinator.output.components(separatedBy: "refused unknown key \(strangerKey.fingerprint)").count - 1, 1, coordinator.output)
        XCTAssertEqual(coordinator.output.components(separatedBy: "refused READY from client key 'alice'").count - 1, 1)

        // Revoking w2 without a restart: its key file goes, SIGHUP, and it is dropped.
        try FileManager.default.removeItem(at: rack.dir.appendingPathComponent("authorized/workers/w2.key"))
        kill(coordinator.process.processIdentifier, SIGHUP)
        XCTAssert(coordinator.waitForOutput("revoked worker key 'w2'", seconds: 10), coordinator.output)
        let afterRevoke = try submit(rack, key: "alice", output: rack.dir.appendingPathComponent("after-revoke"))
        XCTAssertEqual(afterRevoke.process.terminationStatus, 2, "exit 2: the truncated PNG of the fixture is an error row; " + afterRevoke.output)
        XCTAssert(afterRevoke.output.contains("on 1 worker(s)"), "only w1 is left: \(afterRevoke.output)")

        for w in [w1, w2, stranger, clientAsWorker] {
            kill(w.process.processIdentifier, SIGTERM)
            XCTAssert(w.wait(seconds: 15), w.output)
        }
        // The processes' logs are what they show: WorkerDiagnostic.leaving's line counts their units.
        XCTAssert(stranger.output.contains("leaving after 0 unit(s)"), stranger.output)
        XCTAssert(clientAsWorker.output.contains("leaving after 0 unit(s)"), clientAsWorker.output)
        XCTAssertFalse(w1.output.contains("leaving after 0 unit(s)"), w1.output)
        XCTAssert(coordinator.process.isRunning)

        // The same job on the embedded cluster: the same scores and maps, to the bit.
        let embeddedOut = rack.dir.appendingPathComponent("embedded")
        _ = try runTinySubmit(self) { $0.kShot = 2; $0.saveMaps = true; $0.output = embeddedOut.path }
        let a = try readResults(clusterOut), b = try readResults(embeddedOut)
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        XCTAssertEqual(a.values.filter { $0.score != nil }.count, 4)
        for (image, row) in a {
            XCTAssertEqual(row.score?.bitPattern, b[image]?.score?.bitPattern, image)
            if let map = row.map, let other = b[image]?.map {
                XCTAssertEqual(try readNPY(clusterOut.appendingPathComponent(map)), try readNPY(embeddedOut.appendingPathComponent(other)), image)
            }
        }
    }

    /// A DEALER with the given keys (nil: none) and routing id.
    func hostilePeer(_ context: ZMQContext, _ rack: Rack?, endpoint: String, keys: CurveKeyPair?, routingID: Data? = nil) throws -> ZMQSocket {
        let s = try ZMQSocket(context, .dealer)
        if let keys, let rack { try PeerSecurity.curve(serverKey: try rack.coordinatorKey, keys: keys).apply(to: s) }
        if let routingID { try s.setBytes(ZMQ_ROUTING_ID, routingID) }
        try s.connect(endpoint)
        return s
    }

    /// libzmq's first automatic routing id in an unseeded process, and those after it.
    static func predictedRoutingID(_ i: UInt32) -> Data {
        Data([0] + withUnsafeBytes(of: (0x6b8b_4567 &+ i).bigEndian) { Array($0) })
    }

    func testPredictedRoutingIDsLeaveTheCoordinatorServing() throws {
        for curve in [true, false] {
            let rack = try makeRack()
            var config = try String(contentsOfFile: rack.config, encoding: .utf8)
            if !curve { config = config.replacingOccurrences(of: "mode: curve", with: "mode: none") }
            try config.write(toFile: rack.config, atomically: true, encoding: .utf8)
            var processes: [ManagedProcess] = []
            defer { processes.reversed().forEach { $0.stop() } }
            let coordinator = try startCoordinator(rack, &processes)
            // Hostile peers claim the ids libzmq would hand out next (with an authorised
            // client key under CURVE: the worst case, an insider).
            let context = ZMQContext()
            var hostile: [ZMQSocket] = []
            defer { hostile.forEach { $0.close() } }
            for i in 0..<64 {
                let peer = try hostilePeer(context, rack, endpoint: rack.endpoint, keys: curve ? try rack.keys("alice") : nil,
                                           routingID: Self.predictedRoutingID(UInt32(i)))
                try peer.send(WireMessage(type: .heartbeat).frames)
                hostile.append(peer)
            }
            Thread.sleep(forTimeInterval: 1)
            // A second connection claiming the first one's id is served as well, under CURVE and
            // NULL alike: ids are the coordinator's to give (its ZAP handler assigns them under
            // both mechanisms; libzmq would otherwise ignore the duplicate).
            do {
                let twin = try hostilePeer(context, rack, endpoint: rack.endpoint, keys: curve ? try rack.keys("alice") : nil, routingID: Self.predictedRoutingID(0))
                hostile.append(twin)
                for peer in [hostile[0], twin] {
                    try peer.send(WireMessage(.submit, SubmitRequest(options: .init(className: "x"), referenceCount: 99, imageCount: 1, wantMaps: false)).frames)
                    var answer: MessageType?
                    let deadline = Date().addingTimeInterval(10)
                    while answer != .refused && Date() < deadline {
                        answer = try peer.receive(timeoutMs: 200).flatMap { try? WireMessage(frames: $0).type }
                    }
                    XCTAssertEqual(answer, .refused, "each connection gets its own answer (curve \(curve))")
                }
            }
            // Then ordinary peers, whose automatic ids the attack aimed at, are served.
            _ = try startWorker(rack, key: "w1", name: "worker", &processes)
            let out = rack.dir.appendingPathComponent("out")
            let job = try submit(rack, key: "alice", output: out)
            XCTAssertEqual(job.process.terminationStatus, 2, "exit 2: the truncated PNG of the fixture is an error row; " + "curve \(curve): \(job.output)")
            XCTAssert(coordinator.process.isRunning, "curve \(curve): \(coordinator.output)")
            XCTAssertFalse(coordinator.output.contains("Assertion failed"), coordinator.output)
        }
    }

    /// Today's abort, reproduced: a plain ROUTER (what the coordinator was) in a child process
    /// (this test binary again, running `testChildBareRouterAbort`) dies when a peer claims the
    /// routing id libzmq hands out next.
    func testBareRouterAbortsWhenAPeerClaimsTheNextRoutingID() throws {
        let dir = try temporaryOutputFolder(self)
        let log = dir.appendingPathComponent("child.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["ClusterTests.SecurityProcessTests/testChildBareRouterAbort"]
        child.environment = ProcessInfo.processInfo.environment.merging(["WINCLIP_BARE_ROUTER_CHILD": "1"]) { $1 }
        let handle = try FileHandle(forWritingTo: log)
        child.standardOutput = handle
        child.standardError = handle
        try child.run()
        let deadline = Date().addingTimeInterval(60)
        while child.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if child.isRunning { child.terminate() }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        XCTAssertEqual(child.terminationReason, .uncaughtSignal, output)
        XCTAssertEqual(child.terminationStatus, SIGABRT, output)
        XCTAssert(output.contains("Assertion failed: ok (src/socket_base.cpp"), output)
    }

    func testChildBareRouterAbort() throws {
        guard ProcessInfo.processInfo.environment["WINCLIP_BARE_ROUTER_CHILD"] == "1" else {
            throw XCTSkip("runs only as the child of testBareRouterAbortsWhenAPeerClaimsTheNextRoutingID")
        }
        let context = ZMQContext()
        let router = try ZMQSocket(context, .router)
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = router.lastEndpoint
        // An ordinary peer shows which id libzmq generated; the attacker claims the next one.
        let first = try hostilePeer(context, nil, endpoint: endpoint, keys: nil)
        try first.send([Data("hello".utf8)])
        let id = try XCTUnwrap(router.receive(timeoutMs: 5000)?.first)
        XCTAssertEqual(id.count, 5)
        let next = Data([0] + withUnsafeBytes(of: (UInt32(bigEndian: id.dropFirst().withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }) &+ 1).bigEndian) { Array($0) })
        let attacker = try hostilePeer(context, nil, endpoint: endpoint, keys: nil, routingID: next)
        try attacker.send([Data("claim".utf8)])
        _ = try router.receive(timeoutMs: 5000)
        let victim = try hostilePeer(context, nil, endpoint: endpoint, keys: nil)
        try victim.send([Data("hello".utf8)])
        _ = try router.receive(timeoutMs: 5000)  // libzmq aborts before this returns
        XCTFail("the ROUTER survived a peer that claimed its next routing id")
    }

    func testOversizedFrameDropsOnlyThatPeer() throws {
        let rack = try makeRack(extra: "  max_messages_per_second: 300\n")
        var processes: [ManagedProcess] = []
        defer { processes.reversed().forEach { $0.stop() } }
        let coordinator = try startCoordinator(rack, &processes)
        XCTAssert(coordinator.output.contains("frames over 222208 bytes are refused"), "the tiny model's limit: \(coordinator.output)")
        _ = try startWorker(rack, key: "w1", name: "worker", &processes)

        let context = ZMQContext()
        let big = try hostilePeer(context, rack, endpoint: rack.endpoint, keys: try rack.keys("alice"))
        defer { big.close() }
        try big.monitor("inproc://big-monitor", events: ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        let events = try ZMQSocket(context, .pair)
        defer { events.close() }
        try events.connect("inproc://big-monitor")
        func waitFor(_ event: Int32) -> Bool {
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline {
                if let frames = try? events.receive(timeoutMs: 200), ZMQSocket.readMonitorEvent(frames)?.event == UInt16(event) { return true }
            }
            return false
        }
        XCTAssert(waitFor(ZMQ_EVENT_HANDSHAKE_SUCCEEDED))
        try big.send([WireMessage(type: .heartbeat).frames[0], Data(count: 4 << 20)])
        XCTAssert(waitFor(ZMQ_EVENT_DISCONNECTED), "the coordinator dropped the connection that sent 4 MiB in one frame")

        // A flood over max_messages_per_second is cut off, and says nothing more to the log.
        let flood = try hostilePeer(context, rack, endpoint: rack.endpoint, keys: try rack.keys("alice"))
        defer { flood.close() }
        for _ in 0..<5000 { _ = try flood.send(WireMessage(type: .heartbeat).frames, dontWait: true) }
        XCTAssert(coordinator.waitForOutput("sent more than 300 messages a second: cut off", seconds: 15), coordinator.output)

        // Everyone else is served.
        let job = try submit(rack, key: "alice", output: rack.dir.appendingPathComponent("out"))
        XCTAssertEqual(job.process.terminationStatus, 2, "exit 2: the truncated PNG of the fixture is an error row; " + job.output)
        XCTAssert(coordinator.process.isRunning)
    }

    func testModeNoneOnANetworkAddressRefusesToStart() throws {
        let dir = try temporaryOutputFolder(self)
        let port = try freeLoopbackPort()
        let path = dir.appendingPathComponent("open.yaml").path
        try "coordinator:\n  endpoint: tcp://0.0.0.0:\(port)\nmodel:\n  config: \(modelJSON)\n".write(toFile: path, atomically: true, encoding: .utf8)
        let refused = try ManagedProcess("winclip-coord", ["serve", "--config", path], logDirectory: dir, name: "open")
        XCTAssert(refused.wait(seconds: 30))
        XCTAssertNotEqual(refused.process.terminationStatus, 0)
        XCTAssert(refused.output.contains("coordinator.endpoint (line 2) tcp://0.0.0.0:\(port) is reachable from other machines while security.mode is none"), refused.output)
        XCTAssertFalse(refused.output.contains("listening"))
        // The same through --endpoint on a loopback config.
        let loopback = dir.appendingPathComponent("loopback.yaml").path
        try "model:\n  config: \(modelJSON)\n".write(toFile: loopback, atomically: true, encoding: .utf8)
        let overridden = try ManagedProcess("winclip-coord", ["serve", "--config", loopback, "--endpoint", "tcp://0.0.0.0:\(port)"], logDirectory: dir, name: "override")
        XCTAssert(overridden.wait(seconds: 30))
        XCTAssertNotEqual(overridden.process.terminationStatus, 0)
        XCTAssert(overridden.output.contains("is reachable from other machines while security.mode is none"), overridden.output)
        // A worker refuses to talk to a network address without keys too.
        let worker = try ManagedProcess("winclip-worker", ["--config", loopback, "--endpoint", "tcp://0.0.0.0:\(port)", "--weights", weights],
                                        logDirectory: dir, name: "worker")
        XCTAssert(worker.wait(seconds: 30))
        XCTAssertNotEqual(worker.process.terminationStatus, 0)
        XCTAssert(worker.output.contains("is reachable from other machines"), worker.output)
    }
}
