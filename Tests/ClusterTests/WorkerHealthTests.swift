import Foundation
import Options
import XCTest
@testable import Coordinator
@testable import Protocol
@testable import Transport

/// Issue 17 on the coordinator's machine (fake clock, fake peers): every unit in flight has its
/// own deadline, bad answers are retried on other workers and strike theirs, K misses or strikes
/// quarantine a worker, verify_setup takes a majority of three keys, and a worker's READY on a
/// new connection replaces its old registration.
final class WorkerHealthTests: XCTestCase {
    typealias Harness = CoordinatorMachineTests.Harness
    let w1 = PeerID("worker-1".utf8), w2 = PeerID("worker-2".utf8), w3 = PeerID("worker-3".utf8)
    let c1 = PeerID("client-1".utf8)
    let classification = JobOptions(className: "tile", task: .classification)

    func settings() -> CoordinatorSettings {
        var s = CoordinatorSettings()
        s.verifySetup = .never  // one text unit (verification has its own tests below)
        s.setDeadlines(factor: 4, floor: 1, initial: 2)
        return s
    }

    /// Everyone beats once (workers and the client), then the clock moves.
    func beat(_ h: inout Harness, _ peers: [PeerID], job: JobID, after seconds: Double) {
        for p in peers { h.receive(WireMessage(type: .heartbeat), from: p) }
        h.receive(WireMessage(.heartbeat, JobRef(job: job)), from: c1)
        h.tick(after: seconds)
    }

    func nanResult(_ spec: UnitSpec) -> WireMessage {
        // Of the right shape: the decoder passes NaN on, the coordinator refuses it.
        let reply: UnitReply
        switch spec.work {
        case .text: reply = .text(TextVectors(normal: [Float](repeating: .nan, count: CoordinatorMachineTests.embedDim), anomalous: [Float](repeating: .nan, count: CoordinatorMachineTests.embedDim)))
        case .references: reply = .failed("no references in these tests")
        case .fullPass: reply = .fullPass(imageScore: .nan, fewShotPatches: nil)
        case .windows(_, _, let windows, _, _): reply = .windows(zeroShot: [Float](repeating: .nan, count: windows.count), fewShot: nil)
        }
        return reply.encode(job: spec.job, unit: spec.unit)
    }

    /// Answers `peer`'s units: good ones, or NaN when `bad`. Returns how many.
    @discardableResult
    func answer(_ h: inout Harness, _ peer: PeerID, bad: Bool = false) -> Int {
        let units = h.take(peer, .unit).map { try! $0.unitSpec() }
        for spec in units { h.receive(bad ? nanResult(spec) : Harness.result(for: spec, score: 0.5), from: peer) }
        return units.count
    }

    func summary(_ h: inout Harness) throws -> JobSummary {
        try XCTUnwrap(h.take(c1, .jobDone).first).decode(JobSummary.self)
    }

    // MARK: - Item 1: deadlines

    /// A worker that beats but never answers holds two units (one prefetched): both are copied
    /// to the other worker after one deadline, and further deadlines quarantine it.
    func testEveryHeldUnitOfAStuckWorkerHasItsOwnDeadline() throws {
        var h = Harness(settings())
        h.addWorker(w1)
        h.addWorker(w2)
        let job = try XCTUnwrap(h.submit(c1, images: 4, options: classification)).job
        answer(&h, w1); answer(&h, w2)  // the text unit, wherever it went
        for i in 0..<4 { h.sendImage(c1, job: job, index: i) }
        let held = h.take(w1, .unit).map { try! $0.unitSpec() }
        XCTAssertEqual(held.count, 2, "one computing, one prefetched")
        XCTAssertEqual(answer(&h, w2), 2)
        // Not late yet: the deadline is the floor, 1 s (w2's answers took 0 s).
        beat(&h, [w1, w2], job: job, after: 0.5)
        XCTAssert(h.take(w2, .unit).isEmpty)
        beat(&h, [w1, w2], job: job, after: 1)
        let copies = h.take(w2, .unit).map { try! $0.unitSpec() }
        XCTAssertEqual(Set(copies.map(\.unit)), Set(held.map(\.unit)), "both units, the prefetched one too")
        XCTAssertEqual(h.machine.workers[w1]?.missedDeadlines, 2)
        for spec in copies { h.receive(Harness.result(for: spec, score: 0.5), from: w2) }
        let done = try summary(&h)
        XCTAssertEqual(done.scored, 4)
        XCTAssertEqual(done.failed, 0)
        // It still says nothing: another deadline of each unit it holds is missed.
        XCTAssertEqual(h.machine.workers[w1]?.state, .busy)
        h.receive(WireMessage(type: .heartbeat), from: w1); h.receive(WireMessage(type: .heartbeat), from: w2)
        h.tick(after: 1.5)
        XCTAssertEqual(h.machine.workers[w1]?.state, .quarantined)
        XCTAssertEqual(h.machine.workers[w1]?.quarantine, .missedDeadlines(4))
        XCTAssert(h.machine.workers[w1]?.inFlight.isEmpty == true)
        // Quarantined: the next job's units go to w2 only, until w1 announces itself again.
        let next = try XCTUnwrap(h.submit(c1, images: 2, options: JobOptions(className: "other", task: .classification))).job
        h.sendImage(c1, job: next, index: 0)
        XCTAssertEqual(answer(&h, w2), 1, "the text unit")
        XCTAssert(h.take(w1, .unit).isEmpty)
        h.addWorker(w1)
        XCTAssertEqual(h.machine.workers[w1]?.state, .idle, "READY lifts the quarantine")
    }

    /// The first text unit ever (no compute time known: the `initial` deadline is long), held
    /// by a worker that never answers while another idles, is copied after the floor.
    func testAFirstUnitHoldingUpAnIdleClusterIsCopiedAfterTheFloor() throws {
        var s = settings()
        s.setDeadlines(factor: 4, floor: 1, initial: 120)
        var h = Harness(s)
        h.addWorker(w1)
        let job = try XCTUnwrap(h.submit(c1, images: 1, options: classification)).job
        let text = try XCTUnwrap(h.take(w1, .unit).first).unitSpec()
        h.addWorker(w2)
        beat(&h, [w1, w2], job: job, after: 0.5)
        XCTAssert(h.take(w2, .unit).isEmpty)
        beat(&h, [w1, w2], job: job, after: 1)
        XCTAssertEqual(try h.take(w2, .unit).first?.unitSpec(), text, "copied after the 1 s floor, not 120 s")
    }

    // MARK: - Item 2: bad answers

    func testBadAnswersAreRetriedOnAnotherWorkerAndStrikeTheirWorker() throws {
        var s = settings()
        s.quarantineAfter = 3
        var h = Harness(s)
        h.addWorker(w1)
        h.addWorker(w2)
        let accepted = try XCTUnwrap(h.submit(c1, images: 8, options: classification))
        let job = accepted.job
        answer(&h, w1, bad: true); answer(&h, w2)  // the text unit: retried on w2
        XCTAssertEqual(h.machine.phase(of: job), .scoring)
        // Images within the credit, more as answers come back.
        var sent = 0, scores: [[Float]] = []
        var rounds = 0
        while h.machine.phase(of: job) != nil && rounds < 40 {
            while sent < 8 && sent - scores.count < accepted.credit { h.sendImage(c1, job: job, index: sent); sent += 1 }
            answer(&h, w1, bad: true)
            answer(&h, w2)
            scores += try h.take(c1, .imageResult).map { try $0.score().map { [$0] } ?? [] }
            rounds += 1
        }
        let done = try summary(&h)
        XCTAssertEqual(done.scored, 8, "every image scored by the good worker")
        XCTAssertEqual(done.failed, 0)
        XCTAssertEqual(done.workers, ["worker-2"], "bad answers do not count as work")
        XCTAssertEqual(scores, [[Float]](repeating: [0.5], count: 8))
        XCTAssertEqual(h.machine.workers[w1]?.quarantine, .badAnswers(3))
        XCTAssertEqual(h.machine.workers[w2]?.strikes, 0)
        XCTAssert(h.diagnostics.contains { if case .workerQuarantined("worker-1", _, .badAnswers(3)) = $0 { true } else { false } }, "\(h.diagnostics)")
        let note = CoordinatorDiagnostic.workerQuarantined(worker: "worker-1", logName: nil, .badAnswers(3)).clientNote
        XCTAssert(try h.take(c1, .status).contains { try $0.decode(StatusNote.self).message == note }, "the job's client is told")
    }

    /// A unit that fails on every worker is an error row after `unitAttempts` distinct workers
    /// (or when no other worker is left), and nobody is struck: the unit is the likelier culprit.
    func testAUnitBadOnEveryWorkerBecomesAnErrorRowAndStrikesNobody() throws {
        var s = settings()
        s.unitAttempts = 2
        var h = Harness(s)
        h.addWorker(w1)
        h.addWorker(w2)
        h.addWorker(w3)
        let job = try XCTUnwrap(h.submit(c1, images: 1, options: classification)).job
        answer(&h, w1); answer(&h, w2); answer(&h, w3)
        h.sendImage(c1, job: job, index: 0)
        var rounds = 0
        while h.machine.phase(of: job) != nil && rounds < 10 {
            for w in [w1, w2, w3] { answer(&h, w, bad: true) }
            rounds += 1
        }
        let outcome = try XCTUnwrap(h.take(c1, .imageResult).first).decode(ImageOutcome.self)
        XCTAssert(outcome.error?.contains("no usable answer from 2 worker(s)") == true, "\(String(describing: outcome.error))")
        XCTAssertEqual(try summary(&h).failed, 1)
        XCTAssertEqual([w1, w2, w3].map { h.machine.workers[$0]?.strikes }, [0, 0, 0])
    }

    func testWithOneWorkerABadAnswerIsAnErrorRowAtOnce() throws {
        var h = Harness(settings())
        h.addWorker(w1)
        let job = try XCTUnwrap(h.submit(c1, images: 1, options: classification)).job
        answer(&h, w1)
        h.sendImage(c1, job: job, index: 0)
        answer(&h, w1, bad: true)
        let outcome = try XCTUnwrap(h.take(c1, .imageResult).first).decode(ImageOutcome.self)
        XCTAssert(outcome.error?.contains("non-finite") == true, "\(String(describing: outcome.error))")
        XCTAssertNil(h.machine.phase(of: job), "nothing waits for a worker that is not there")
    }

    func testABadTextAnswerIsRetriedElsewhereNotAFailedJob() throws {
        var h = Harness(settings())
        h.addWorker(w1)
        let job = try XCTUnwrap(h.submit(c1, images: 1, options: classification)).job
        h.addWorker(w2)
        XCTAssertEqual(try h.take(w1, .unit).map { try $0.unitSpec().kind }.first, .text)
        // Wrong shapes: the anomalous vector shorter than the normal one.
        let text = UnitResult(job: job, unit: 0)
        h.receive(WireMessage(.result, text, blobs: [FloatBlob.encode([0.1, 0.2]), FloatBlob.encode([0.1])]), from: w1)
        XCTAssertEqual(h.machine.phase(of: job), .setup)
        let retry = try h.take(w2, .unit).map { try $0.unitSpec() }
        XCTAssertEqual(retry.map(\.kind), [.text], "retried on the other worker")
        h.receive(Harness.result(for: retry[0], score: 0), from: w2)
        XCTAssertEqual(h.machine.phase(of: job), .scoring)
        XCTAssertEqual(h.machine.workers[w1]?.strikes, 1)
    }

    /// verify_setup (auto) counts only workers that can compute: a quarantined second worker
    /// must not leave the job waiting for it (ChaosTests found this: a SIGSTOPped worker).
    func testAQuarantinedWorkerDoesNotHoldUpAVerifiedSetup() throws {
        var s = settings()
        s.verifySetup = .auto
        var h = Harness(s)
        h.addWorker(w1)
        h.addWorker(w2)
        h.perform([])
        h.machine.quarantine(w2, .missedDeadlines(3), at: h.now)
        let job = try XCTUnwrap(h.submit(c1, images: 1, options: classification)).job
        XCTAssertEqual(answer(&h, w1), 1)
        XCTAssertEqual(h.machine.phase(of: job), .scoring, "one computing principal: one copy")
        XCTAssert(h.take(w2, .unit).isEmpty)
    }

    // MARK: - verify_setup: a majority of three keys

    func keyed(_ name: String) -> PeerIdentity { .key(name: name, role: .worker) }

    func register(_ h: inout Harness, _ peer: PeerID, _ key: String) {
        h.perform(h.machine.receive(WireMessage(.ready, Ready(fingerprint: "fp", model: "tiny", imageSize: 48, gridSize: 6, name: key)).frames,
                                    from: peer, as: keyed(key), at: h.now))
    }

    /// Answers the text unit `peer` holds with embeddings of `value`.
    func answerText(_ h: inout Harness, _ peer: PeerID, _ key: String, value: Float) throws {
        let spec = try XCTUnwrap(h.take(peer, .unit).first).unitSpec()
        XCTAssertEqual(spec.kind, .text)
        let e = [Float](repeating: value, count: 32)
        h.perform(h.machine.receive(UnitReply.text(TextVectors(normal: e, anomalous: e)).encode(job: spec.job, unit: spec.unit).frames,
                                    from: peer, as: keyed(key), at: h.now))
    }

    func testTwoDifferingSetupAnswersGetAThirdOpinionAndTheMajorityWins() throws {
        var s = settings()
        s.verifySetup = .always
        var h = Harness(s)
        register(&h, w1, "rack-01")
        register(&h, w2, "rack-02")
        register(&h, w3, "rack-03")
        let job = try XCTUnwrap(h.submit(c1, images: 1, options: classification)).job
        let holders = [w1, w2, w3].filter { h.outbox[$0]?.contains { $0.type == .unit } == true }
        XCTAssertEqual(holders.count, 2)
        let third = [w1, w2, w3].first { !holders.contains($0) }!
        try answerText(&h, holders[0], holders[0].key, value: 0.1)
        try answerText(&h, holders[1], holders[1].key, value: 0.9)  // the liar
        XCTAssertEqual(h.machine.phase(of: job), .setup, "a tie: a third key decides")
        try answerText(&h, third, third.key, value: 0.1)
        XCTAssertEqual(h.machine.phase(of: job), .scoring)
        XCTAssertEqual(h.machine.workers[holders[1]]?.strikes, 1, "the dissenter is struck")
        XCTAssertEqual(h.machine.workers[holders[0]]?.strikes, 0)
        XCTAssertEqual(h.machine.setupCache.provenance(text: SetupCache.textKey(fingerprint: "fp", options: JobOptions(className: "tile")))?.principals.count, 2, "cached from the two that agree")
    }

    func testATieWhoseThirdKeyLeavesFailsTheJob() throws {
        var s = settings()
        s.verifySetup = .always
        var h = Harness(s)
        register(&h, w1, "rack-01")
        register(&h, w2, "rack-02")
        let job = try XCTUnwrap(h.submit(c1, images: 1, options: classification)).job
        register(&h, w3, "rack-03")
        try answerText(&h, w1, "rack-01", value: 0.1)
        try answerText(&h, w2, "rack-02", value: 0.9)
        XCTAssertEqual(h.take(w3, .unit).count, 1, "the tie-break copy went to the third key")
        // The third key leaves with it: its copy goes back to the queue, where nobody may take it.
        h.perform(h.machine.disconnect(w3, .keyLost, at: h.now))
        XCTAssertEqual(h.machine.phase(of: job), .setup)
        h.tick()
        XCTAssertNil(h.machine.phase(of: job), "failed, not waiting forever")
        let error = try XCTUnwrap(try summary(&h).error)
        XCTAssert(error.contains("worker rack-01 and worker rack-02 differ") && error.contains("no third key is connected"), error)
    }

    func testThreeDifferingSetupAnswersFailTheJobNamingThem() throws {
        var s = settings()
        s.verifySetup = .always
        var h = Harness(s)
        register(&h, w1, "rack-01")
        register(&h, w2, "rack-02")
        register(&h, w3, "rack-03")
        let job = try XCTUnwrap(h.submit(c1, images: 1, options: classification)).job
        var value: Float = 0.1
        for _ in 0..<3 {
            for w in [w1, w2, w3] where h.outbox[w]?.contains(where: { $0.type == .unit }) == true {
                try answerText(&h, w, w.key, value: value)
                value += 0.1
            }
        }
        XCTAssertNil(h.machine.phase(of: job))
        let error = try XCTUnwrap(try summary(&h).error)
        XCTAssert(error.contains("all differ") && ["rack-01", "rack-02", "rack-03"].allSatisfy(error.contains), error)
    }

    // MARK: - Item 6: no ghosts

    func testReadyOfAKnownProcessOnANewConnectionReplacesItsGhost() throws {
        var h = Harness(settings())
        h.addWorker(w1, name: "host-a:17")
        let job = try XCTUnwrap(h.submit(c1, images: 1, options: classification)).job
        let text = try XCTUnwrap(h.take(w1, .unit).first).unitSpec()
        // The same process after a reconnect (a new routing id): the ghost goes, its unit too.
        let again = PeerID("worker-1-again".utf8)
        h.addWorker(again, name: "host-a:17")
        XCTAssertEqual(h.machine.workerCount, 1)
        XCTAssertNil(h.machine.workers[w1])
        XCTAssertEqual(try h.take(again, .unit).first?.unitSpec(), text, "the ghost's unit, to the live connection")
        h.receive(Harness.result(for: text, score: 0), from: again)
        h.sendImage(c1, job: job, index: 0)
        answer(&h, again)
        let done = try summary(&h)
        XCTAssertEqual(done.workers, ["worker-1"], "one process, one name (the name it had)")
        // Another process of the same host is another worker.
        h.addWorker(w2, name: "host-a:18")
        XCTAssertEqual(h.machine.workerCount, 2)
    }
}

extension PeerID {
    /// The test's worker key name for a peer: worker-1 -> rack-01.
    var key: String { "rack-0" + String(name.last!) }
}
