import Foundation
import Logging
import Options
import XCTest
@testable import CLI
@testable import Configuration
@testable import Coordinator
@testable import Protocol
@testable import Transport

/// What operators see, without processes: the machine's status snapshot and who may see it,
/// the events metrics count, the metrics' text, the HTTP routes, the endpoint setting, the
/// throughput chart and the JSON log lines.
final class ObservabilityTests: XCTestCase {
    typealias Harness = CoordinatorMachineTests.Harness
    let w1 = PeerID("worker-1".utf8), w2 = PeerID("worker-2".utf8), c1 = PeerID("client-1".utf8), c2 = PeerID("client-2".utf8)
    let alice = PeerIdentity.key(name: "alice", role: .client), bob = PeerIdentity.key(name: "bob", role: .client)
    let ops = PeerIdentity.key(name: "ops", role: .operator), workerKey = PeerIdentity.key(name: "rack-01", role: .worker)

    func submit(_ h: inout Harness, _ client: PeerID, as identity: PeerIdentity, images: Int) throws -> JobID {
        let request = SubmitRequest(options: JobOptions(className: "tile"), referenceCount: 0, imageCount: images, wantMaps: false)
        h.perform(h.machine.receive(WireMessage(.submit, request).frames, from: client, as: identity, at: h.now))
        return try XCTUnwrap(h.take(client, .accepted).first?.decode(Accepted.self)).job
    }

    func testSnapshotShowsWorkersJobsAndQueues() throws {
        var h = Harness()
        h.addWorker(w1, name: "host-a:1")
        h.addWorker(w2, name: "host-b:2")
        let job = try XCTUnwrap(h.submit(c1, images: 4)).job
        _ = h.answerAll(w1)  // text embeddings
        _ = h.answerAll(w2)
        for i in 0..<2 { h.sendImage(c1, job: job, index: i) }
        h.now = 10
        var status = h.machine.statusSnapshot(at: h.now)
        XCTAssertEqual(status.workers.map(\.host), ["host-a:1", "host-b:2"])
        XCTAssertEqual(Set(status.workers.map(\.state)), [.busy], "both hold units")
        XCTAssertEqual(status.workers.map(\.strikes), [0, 0])
        XCTAssertEqual(status.workers.map(\.unitsDone), [1, 1], "the text unit, on both (two workers verify the setup)")
        let j = try XCTUnwrap(status.jobs.first)
        XCTAssertEqual(j.job, job)
        XCTAssertEqual(j.phase, .scoring)
        XCTAssertEqual(j.client, "anonymous")
        XCTAssertEqual(j.className, "tile")
        XCTAssertEqual([j.done, j.total], [0, 4])
        XCTAssertNil(j.etaSeconds, "no rate before the first image")
        // 2 images x 6 units, 4 handed out (two per worker): 8 wait.
        XCTAssertEqual(status.queues, [QueueStatus(model: "tiny", fingerprint: "fp", units: 8)])

        var rounds = 0
        while h.machine.statusSnapshot(at: h.now).jobs.first?.done ?? 0 < 2 && rounds < 20 { _ = h.answerAll(w1); _ = h.answerAll(w2); rounds += 1 }
        h.now = 20
        status = h.machine.statusSnapshot(at: h.now)
        let half = try XCTUnwrap(status.jobs.first)
        XCTAssertEqual(half.done, 2)
        XCTAssertEqual(half.imagesPerSecond, 2.0 / 20, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(half.etaSeconds), 20, accuracy: 1e-6, "2 images left at 0.1 images/s")
        XCTAssertEqual(Set(status.workers.map(\.state)), [.idle])
        XCTAssertEqual(status.workers.reduce(0) { $0 + $1.unitsDone }, 2 + 2 * 6, "two text units, six per image")
    }

    func testQuarantinedWorkerAndItsStrikes() throws {
        var settings = CoordinatorSettings()
        settings.setDeadlines(factor: 4, floor: 1, initial: 1)
        settings.workerExpiry = 1000
        settings.clientExpiry = 1000
        var h = Harness(settings)
        h.addWorker(w1)
        h.addWorker(w2)
        let job = try XCTUnwrap(h.submit(c1, images: 4)).job
        _ = h.answerAll(w1); _ = h.answerAll(w2)
        for i in 0..<4 { h.sendImage(c1, job: job, index: i) }
        // w1 answers each unit only after its deadline: a strike per unit, three quarantine it.
        var held: [WireMessage] = []
        var rounds = 0
        while h.machine.statusSnapshot(at: h.now).workers.first(where: { $0.name == "worker-1" })?.state != .quarantined && rounds < 50 {
            // w2 answers within 0.6 s (never late against the 1 s floor); w1 after 1.2 s.
            h.tick(after: 0.6)
            _ = h.answerAll(w2)
            h.tick(after: 0.6)
            _ = h.answerAll(w2)
            for message in held { h.receive(Harness.result(for: try message.unitSpec(), score: 0.25), from: w1) }
            held = h.take(w1, .unit)
            rounds += 1
        }
        let w = try XCTUnwrap(h.machine.statusSnapshot(at: h.now).workers.first { $0.name == "worker-1" })
        XCTAssertEqual(w.state, .quarantined)
        XCTAssertGreaterThanOrEqual(w.strikes, settings.quarantineAfter)  // two held units can miss in one tick
        XCTAssert(h.events.contains { if case .unitLate = $0 { return true }; return false })
    }

    /// Missed deadlines never quarantine a model's last worker (a network flap makes every
    /// worker miss at once; quarantining them all would stall the job for good).
    func testTheLastWorkerOfAModelIsNotQuarantinedForLateness() throws {
        var settings = CoordinatorSettings()
        settings.setDeadlines(factor: 4, floor: 1, initial: 1)
        settings.workerExpiry = 1000
        settings.clientExpiry = 1000
        var h = Harness(settings)
        h.addWorker(w1)
        let job = try XCTUnwrap(h.submit(c1, images: 2)).job
        _ = h.answerAll(w1)
        for i in 0..<2 { h.sendImage(c1, job: job, index: i) }
        for _ in 0..<20 { h.tick(after: 2) }  // it holds its units, silent, for 40 s
        let w = try XCTUnwrap(h.machine.statusSnapshot(at: h.now).workers.first)
        XCTAssertGreaterThanOrEqual(w.strikes, settings.quarantineAfter, "it did miss its deadlines")
        XCTAssertNotEqual(w.state, .quarantined)
    }

    func testWhoSeesWhat() throws {
        var h = Harness()
        h.perform(h.machine.receive(WireMessage(.ready, Ready(fingerprint: "fp", model: "tiny", imageSize: 48, gridSize: 6, name: "h:1")).frames,
                                    from: w1, as: workerKey, at: 0))
        let a = try submit(&h, c1, as: alice, images: 2)
        let b = try submit(&h, c2, as: bob, images: 3)
        func ask(_ peer: PeerID, as identity: PeerIdentity) -> WireMessage? {
            h.perform(h.machine.receive(WireMessage(.statusRequest, StatusRequest()).frames, from: peer, as: identity, at: 1))
            return (h.take(peer, .statusReply) + h.take(peer, .refused)).first
        }
        let all = try XCTUnwrap(ask(PeerID("op".utf8), as: ops)).decode(RackStatus.self)
        XCTAssertEqual(all.jobs.map(\.job), [a, b])
        XCTAssertEqual(all.jobs.map(\.client), ["alice", "bob"])
        XCTAssertEqual(all.workers.map(\.name), ["rack-01"])
        let own = try XCTUnwrap(ask(c1, as: alice)).decode(RackStatus.self)
        XCTAssertEqual(own.jobs.map(\.job), [a], "a client key sees its own jobs only")
        XCTAssertEqual(own.workers, [])
        let anyone = try XCTUnwrap(ask(PeerID("x".utf8), as: .anyone)).decode(RackStatus.self)
        XCTAssertEqual(anyone.jobs.count, 2, "without authentication (loopback only) everything")
        let refused = try XCTUnwrap(ask(w1, as: workerKey))
        XCTAssertEqual(refused.type, .refused)
        XCTAssert(try refused.decode(Refused.self).reason.contains("operator key"))
        // An operator key may not act as a client or worker.
        h.perform(h.machine.receive(WireMessage(.submit, SubmitRequest(options: JobOptions(className: "x"), referenceCount: 0, imageCount: 1, wantMaps: false)).frames,
                                    from: PeerID("op".utf8), as: ops, at: 2))
        XCTAssertEqual(h.machine.jobCount, 2)
        XCTAssert(h.events.contains(.peerRefused(.wrongRole)))
    }

    func testOperatorKeysComeFromTheirFolder() throws {
        let dir = try temporaryOutputFolder(self)
        let folders = ["workers", "clients", "operators"].map { dir.appendingPathComponent($0) }
        _ = try CurveCertificate.generate(name: "w1", directory: folders[0])
        _ = try CurveCertificate.generate(name: "alice", directory: folders[1])
        let o = try CurveCertificate.generate(name: "ops", directory: folders[2])
        let ring = try KeyRing.load(workers: folders[0], clients: folders[1], operators: folders[2])
        XCTAssertEqual(ring.entry(z85: o.keys.publicKey.z85)?.identity, ops)
        XCTAssertEqual(ring.count(.operator), 1)
        XCTAssertEqual(try KeyRing.load(workers: folders[0], clients: folders[1]).count(.operator), 0, "optional")
        XCTAssertThrowsError(try KeyRing.load(workers: folders[0], clients: folders[1], operators: dir.appendingPathComponent("nope"))) {
            XCTAssert("\($0)".contains("security.authorized_operators"), "\($0)")
        }
        let yaml = "security:\n  authorized_operators: ops-keys\n"
        let config = try ClusterConfig.parse(yaml, baseDirectory: dir)
        XCTAssertEqual(config.security.authorizedOperators, dir.appendingPathComponent("ops-keys").path)
    }

    func testEventsFeedThePrometheusText() throws {
        var h = Harness()
        h.addWorker(w1)
        let job = try XCTUnwrap(h.submit(c1, images: 2)).job
        _ = h.answerAll(w1)
        h.sendImage(c1, job: job, index: 0)
        h.receive(ImageUpload(job: job, index: 1, reference: false, content: .skipped).encode(), from: c1)
        var rounds = 0
        while h.machine.phase(of: job) != nil && rounds < 20 { _ = h.answerAll(w1); rounds += 1 }
        XCTAssertEqual(h.events.filter { $0 == .imageAnswered(scored: true) }.count, 1)
        XCTAssertEqual(h.events.filter { $0 == .imageAnswered(scored: false) }.count, 1, "the image the client could not read")

        let monitor = RackMonitor()
        h.events.forEach(monitor.record)
        monitor.sent(WireMessage(.heartbeat, StatusRequest()))
        monitor.publish(RackStatus(time: 1, uptime: 1, workers: [], jobs: [], queues: [QueueStatus(model: "m", fingerprint: "f", units: 7)]))
        let text = monitor.metrics.exposition()
        let samples = PrometheusText.samples(text)
        XCTAssertEqual(samples["winclip_images_total{outcome=\"scored\"}"], 1, text)
        XCTAssertEqual(samples["winclip_images_total{outcome=\"failed\"}"], 1, text)
        XCTAssertEqual(samples["winclip_units_total{kind=\"text\",outcome=\"ok\"}"], 1, text)
        XCTAssertEqual(samples["winclip_units_total{kind=\"full\",outcome=\"ok\"}"], 1, text)
        XCTAssertEqual(samples["winclip_units_total{kind=\"windows\",outcome=\"ok\"}"], 5, text)
        XCTAssertEqual(samples["winclip_unit_seconds_count{kind=\"windows\"}"], 5, text)
        XCTAssertEqual(samples["winclip_queue_units"], 7, text)
        XCTAssertEqual(samples["winclip_workers{state=\"quarantined\"}"], 0, text)
        XCTAssertEqual(samples["winclip_jobs{phase=\"scoring\"}"], 0, text)
        XCTAssertEqual(samples["winclip_bytes_total{direction=\"out\"}"], 9, "7-byte header and {}")
        XCTAssertEqual(samples["winclip_peers_refused_total{reason=\"rate_limit\"}"], 0, text)
        XCTAssertNotNil(samples["winclip_bytes_total{direction=\"in\"}"], text)
    }

    func testRoutes() throws {
        let monitor = RackMonitor()
        monitor.publish(RackStatus(time: 5, uptime: 5, workers: [], jobs: [], queues: []))
        let json = StatusRoute.answer(method: "GET", uri: "/status.json?x=1", monitor: monitor)
        XCTAssertEqual(json.status, 200)
        XCTAssertEqual(try JSONDecoder().decode(RackStatus.self, from: Data(json.body)).time, 5)
        XCTAssertEqual(StatusRoute.answer(method: "GET", uri: "/", monitor: monitor).contentType, "text/html; charset=utf-8")
        XCTAssert(String(decoding: StatusRoute.answer(method: "GET", uri: "/metrics", monitor: monitor).body, as: UTF8.self).contains("winclip_images_total"))
        XCTAssertEqual(StatusRoute.answer(method: "GET", uri: "/nope", monitor: monitor).status, 404)
        XCTAssertEqual(StatusRoute.answer(method: "POST", uri: "/metrics", monitor: monitor).status, 405)
    }

    /// The HTTP server itself: pages over a real socket, and a port already taken is a clear error.
    func testStatusServerServesAndRefusesATakenPort() throws {
        let monitor = RackMonitor()
        monitor.record(.imageAnswered(scored: true))
        let server = try StatusServer(MetricsEndpoint(host: "127.0.0.1", port: 0), monitor: monitor)
        defer { server.stop() }
        XCTAssertNotEqual(server.endpoint.port, 0)
        let metrics = try XCTUnwrap(httpGet(URL(string: "http://\(server.endpoint)/metrics")!))
        XCTAssertEqual(PrometheusText.samples(String(decoding: metrics, as: UTF8.self))["winclip_images_total{outcome=\"scored\"}"], 1)
        let page = try XCTUnwrap(httpGet(URL(string: "http://\(server.endpoint)/")!))
        XCTAssert(String(decoding: page, as: UTF8.self).contains("fetch(\"status.json\""))
        XCTAssertNil(httpGet(URL(string: "http://\(server.endpoint)/other")!), "404")
        XCTAssertThrowsError(try StatusServer(server.endpoint, monitor: monitor)) {
            XCTAssert("\($0)".contains("coordinator.metrics_endpoint: cannot listen on \(server.endpoint)"), "\($0)")
        }
    }

    func testMetricsEndpointSetting() throws {
        XCTAssertEqual(try MetricsEndpoint(parsing: "9464"), MetricsEndpoint(host: "127.0.0.1", port: 9464), "a port alone: loopback")
        XCTAssertEqual(try MetricsEndpoint(parsing: "0.0.0.0:9464"), MetricsEndpoint(host: "0.0.0.0", port: 9464))
        XCTAssertEqual(try MetricsEndpoint(parsing: "[::1]:80"), MetricsEndpoint(host: "::1", port: 80))
        XCTAssert(try MetricsEndpoint(parsing: "[::1]:80").isLoopback)
        XCTAssertFalse(try MetricsEndpoint(parsing: "0.0.0.0:1").isLoopback)
        for bad in ["", "host:", "host:99999", "tcp://1.2.3.4:5", "a:b", "[::1]80"] {
            XCTAssertThrowsError(try MetricsEndpoint(parsing: bad), bad) { XCTAssert("\($0)".contains("coordinator.metrics_endpoint"), "\($0)") }
        }
        let dir = try temporaryOutputFolder(self)
        XCTAssertEqual(try ClusterConfig.parse("coordinator:\n  metrics_endpoint: 127.0.0.1:9464\n", baseDirectory: dir).coordinator.metricsEndpoint, "127.0.0.1:9464")
        XCTAssertNil(ClusterConfig().coordinator.metricsEndpoint, "off by default")
    }

    func testThroughputHistory() {
        var history = ThroughputHistory(interval: 10, capacity: 3)
        history.sample(images: 0, at: 100)
        history.sample(images: 5, at: 105)  // too soon: ignored
        history.sample(images: 20, at: 110)
        history.sample(images: 20, at: 120)
        history.sample(images: 80, at: 130)
        history.sample(images: 90, at: 140)
        XCTAssertEqual(history.points, [ThroughputPoint(time: 120, imagesPerSecond: 0), ThroughputPoint(time: 130, imagesPerSecond: 6),
                                        ThroughputPoint(time: 140, imagesPerSecond: 1)], "the last 3 intervals")
    }

    func testStatusTable() throws {
        let status = RackStatus(time: 0, uptime: 4000,
                                workers: [WorkerStatus(name: "rack-01", host: "h:1", model: "tiny", fingerprint: "fp", precisions: [.fp32], state: .busy,
                                                       unitsInFlight: 2, unitsDone: 10, unitsPerSecond: 1.5, strikes: 1, lastSeenSecondsAgo: 0.2)],
                                jobs: [JobStatus(job: 7, client: "alice", className: "tile", phase: .scoring, done: 3, failed: 1, total: 9,
                                                 imagesPerSecond: 0.5, etaSeconds: 12, model: "tiny")],
                                queues: [QueueStatus(model: "tiny", fingerprint: "fp", units: 4)])
        let text = StatusTable.text(status)
        XCTAssert(text.contains("coordinator up 67 min; 1 worker(s), 1 job(s)"), text)
        XCTAssert(text.contains("rack-01  h:1   tiny   fp32        busy   10     1.50     1        0 s ago"), text)
        XCTAssert(text.contains("7    alice   tile   scoring  3/9         1       0.50      12 s"), text)
        let decoded = try JSONDecoder().decode(RackStatus.self, from: Data(try StatusTable.json(status).utf8))
        XCTAssertEqual(decoded, status)
    }

    func testJSONLogLines() throws {
        let line = JSONLogHandler.line(time: Date(timeIntervalSince1970: 0), level: .warning, label: "winclip-coord",
                                       message: "unit 3 of job 12 re-queued: worker host:1 \"went\" silent\n",
                                       fields: ["job": "12", "worker": "host:1", "extra": .array(["a", .dictionary(["b": "c"])])])
        XCTAssertEqual(line, #"{"time":"1970-01-01T00:00:00.000Z","level":"warning","label":"winclip-coord","message":"unit 3 of job 12 re-queued: worker host:1 \"went\" silent\n","extra":["a",{"b":"c"}],"job":"12","worker":"host:1"}"#)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["message"] as? String, "unit 3 of job 12 re-queued: worker host:1 \"went\" silent\n")
        XCTAssertEqual(LogFields.scan("job 12: worker rack-01 not used for job 13"), ["job": "12", "worker": "rack-01"])
        XCTAssertEqual(LogFields.scan("image test/crack/000.png: cannot decode"), ["image": "test/crack/000.png"])
        XCTAssertEqual(LogFields.scan("the job names no class"), [:], "a job field is a number")
        XCTAssertEqual(JSONText.string("\u{01}é"), "\"\\u0001é\"")
    }
}

/// Prometheus' text format, as far as the tests read it: `name{labels} value` per sample.
enum PrometheusText {
    static func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = value
        }
        return out
    }
}
