import Foundation
import Logging
import Options
import XCTest
@testable import Coordinator
@testable import Protocol

/// The coordinator's protocol logic driven directly, with a fake clock and fake peers: no
/// sockets, no threads, no model. Workers answer with made-up scores of the right shapes.
final class CoordinatorMachineTests: XCTestCase {
    /// The tiny fixture geometry: 48 px input, 6x6 grid, scales 2 and 3 (6 units per image).
    static let imageSize = 48, gridSize = 6, embedDim = 32

    struct Harness {
        var machine: CoordinatorMachine
        var now = 0.0
        /// Everything the machine sent, in order, per peer.
        var outbox: [PeerID: [WireMessage]] = [:]
        /// What the machine told operators (asserted on as values, never as log text).
        var diagnostics: [CoordinatorDiagnostic] = []
        /// What the machine reported for metrics (ObservabilityTests).
        var events: [RackEvent] = []

        init(_ settings: CoordinatorSettings = CoordinatorSettings()) {
            machine = CoordinatorMachine(settings: settings, firstJobID: 100)
        }

        mutating func perform(_ actions: [CoordinatorAction]) {
            for action in actions {
                switch action {
                case .send(let peer, let message): outbox[peer, default: []].append(message)
                case .diagnostic(let diagnostic): diagnostics.append(diagnostic)
                case .observe(let event): events.append(event)
                }
            }
        }

        mutating func receive(_ message: WireMessage, from peer: PeerID) { receive(message.frames, from: peer) }
        mutating func receive(_ frames: [Data], from peer: PeerID) { perform(machine.receive(frames, from: peer, at: now)) }
        mutating func tick(after seconds: Double = 0) { now += seconds; perform(machine.tick(at: now)) }

        /// Messages to `peer` not yet looked at (and forgets them).
        mutating func take(_ peer: PeerID) -> [WireMessage] {
            defer { outbox[peer] = [] }
            return outbox[peer] ?? []
        }
        /// Messages of one type to `peer` (forgets those; others stay).
        mutating func take(_ peer: PeerID, _ type: MessageType) -> [WireMessage] {
            let all = outbox[peer] ?? []
            outbox[peer] = all.filter { $0.type != type }
            return all.filter { $0.type == type }
        }

        mutating func addWorker(_ peer: PeerID, fingerprint: String = "fp", name: String? = nil) {
            receive(WireMessage(.ready, Ready(fingerprint: fingerprint, model: "tiny", imageSize: imageSize, gridSize: gridSize, name: name ?? peer.name)), from: peer)
        }

        mutating func submit(_ client: PeerID, images: Int, options: JobOptions = JobOptions(className: "tile"), maps: Bool = true) -> Accepted? {
            receive(WireMessage(.submit, SubmitRequest(options: options, referenceCount: 0, imageCount: images, wantMaps: maps)), from: client)
            return try? take(client, .accepted).first?.decode(Accepted.self)
        }

        mutating func sendImage(_ client: PeerID, job: JobID, index: Int) {
            let pixels = FloatBlob.encode([Float](repeating: 0.5, count: 3 * imageSize * imageSize))
            receive(ImageUpload(job: job, index: index, reference: false, content: .pixels(pixels)).encode(), from: client)
        }

        /// The worker answers every UNIT it was sent with plausible scores (`score` for full passes).
        mutating func answerAll(_ worker: PeerID, score: Float = 0.25) -> [UnitSpec] {
            var answered: [UnitSpec] = []
            for message in take(worker, .unit) {
                let spec = try! message.unitSpec()
                receive(Self.result(for: spec, score: score), from: worker)
                answered.append(spec)
            }
            return answered
        }

        static func result(for spec: UnitSpec, score: Float) -> WireMessage {
            let reply: UnitReply
            switch spec.work {
            case .text: reply = .text(TextVectors(normal: [Float](repeating: 0.1, count: embedDim), anomalous: [Float](repeating: 0.2, count: embedDim)))
            case .references: reply = .failed("the harness computes no reference embeddings")
            case .fullPass: reply = .fullPass(imageScore: score, fewShotPatches: nil)
            case .windows(_, _, let windows, _, _): reply = .windows(zeroShot: [Float](repeating: 0.3, count: windows.count), fewShot: nil)
            }
            return reply.encode(job: spec.job, unit: spec.unit)
        }
    }

    let w1 = PeerID("worker-1".utf8), w2 = PeerID("worker-2".utf8), c1 = PeerID("client-1".utf8), c2 = PeerID("client-2".utf8)

    func testOneJobFromSubmitToDone() throws {
        var h = Harness()
        h.addWorker(w1)
        let accepted = try XCTUnwrap(h.submit(c1, images: 2))
        XCTAssertEqual(accepted.imageSize, 48)
        XCTAssertEqual(h.machine.phase(of: accepted.job), .setup)
        XCTAssertEqual(h.answerAll(w1).map(\.kind), [.text])
        XCTAssertEqual(h.machine.phase(of: accepted.job), .scoring)
        h.sendImage(c1, job: accepted.job, index: 0)
        h.sendImage(c1, job: accepted.job, index: 1)
        // One worker holds two units at a time (prefetch); the CONTEXT precedes its first unit.
        let first = h.take(w1).filter { $0.type != .heartbeat }
        XCTAssertEqual(first.map(\.type), [.context, .unit, .unit])
        for message in first where message.type == .unit {
            let spec = try message.unitSpec()
            h.receive(Harness.result(for: spec, score: 0.25), from: w1)
        }
        var rounds = 0
        while h.machine.phase(of: accepted.job) != nil && rounds < 20 { _ = h.answerAll(w1); rounds += 1 }
        XCTAssertNil(h.machine.phase(of: accepted.job), "the job is over and removed")
        let answers = h.take(c1)
        let results = answers.filter { $0.type == .imageResult }
        XCTAssertEqual(results.count, 2)
        for r in results {
            XCTAssertEqual(try r.score(), 0.25, "zero-shot: the full pass's image score")
            XCTAssertEqual(try r.map()?.count, 48 * 48, "the map travels when asked for")
        }
        let done = try XCTUnwrap(answers.last { $0.type == .jobDone }?.decode(JobSummary.self))
        XCTAssertEqual(done.scored, 2)
        XCTAssertEqual(done.failed, 0)
        XCTAssertNil(done.error)
        XCTAssertEqual(done.workers, ["worker-1"])
    }

    func testExpiredWorkersUnitsGoToAnotherWorker() throws {
        var settings = CoordinatorSettings()
        settings.workerExpiry = 5
        var h = Harness(settings)
        h.addWorker(w1)
        let job = try XCTUnwrap(h.submit(c1, images: 1)).job
        let textUnit = try XCTUnwrap(h.take(w1, .unit).first).unitSpec()
        XCTAssertEqual(textUnit.kind, .text)
        // w1 falls silent; the client keeps beating.
        for _ in 0..<6 { h.receive(WireMessage(type: .heartbeat), from: c1); h.tick(after: 1) }
        XCTAssertEqual(h.machine.workerCount, 0)
        XCTAssert(h.diagnostics.contains { if case .unitRequeued(job, textUnit.unit, .text, _, .silent) = $0 { true } else { false } }, "\(h.diagnostics)")
        XCTAssertEqual(h.machine.unitCounts(of: job)?.pending, 1)
        h.addWorker(w2)
        let again = try XCTUnwrap(h.take(w2, .unit).first).unitSpec()
        XCTAssertEqual(again, textUnit, "the same unit, to the new worker")
        // A late answer of the dead worker is dropped: it no longer holds the unit.
        h.receive(Harness.result(for: textUnit, score: 0), from: w1)
        XCTAssertEqual(h.machine.phase(of: job), .setup)
    }

    func testTwoJobsInterleaved() throws {
        var settings = CoordinatorSettings()
        settings.verifySetup = .never  // one text unit per job (verification: SecurityMachineTests)
        var h = Harness(settings)
        h.addWorker(w1)
        h.addWorker(w2)
        let a = try XCTUnwrap(h.submit(c1, images: 1))
        let b = try XCTUnwrap(h.submit(c2, images: 1, options: JobOptions(className: "screw", task: .classification)))
        XCTAssertNotEqual(a.job, b.job)
        // Both text units go out at once, one per worker.
        let first = h.answerAll(w1), second = h.answerAll(w2)
        XCTAssertEqual(first.count, 1)
        XCTAssertEqual(second.count, 1)
        XCTAssertEqual(Set((first + second).map(\.job)), [a.job, b.job])
        h.sendImage(c1, job: a.job, index: 0)
        h.sendImage(c2, job: b.job, index: 0)
        var rounds = 0
        while (h.machine.phase(of: a.job) != nil || h.machine.phase(of: b.job) != nil) && rounds < 20 {
            _ = h.answerAll(w1, score: 0.4)
            _ = h.answerAll(w2, score: 0.4)
            rounds += 1
        }
        XCTAssertEqual(h.machine.jobCount, 0)
        let ra = h.take(c1), rb = h.take(c2)
        XCTAssertEqual(try ra.first { $0.type == .jobDone }?.decode(JobSummary.self).scored, 1)
        XCTAssertEqual(try rb.first { $0.type == .jobDone }?.decode(JobSummary.self).scored, 1)
        // Classification: the score only, no map and no window unit.
        let bResult = try XCTUnwrap(rb.first { $0.type == .imageResult })
        XCTAssertNotNil(try bResult.score())
        XCTAssertNil(try bResult.map())
        XCTAssertNotNil(try ra.first { $0.type == .imageResult }?.map())
    }

    func testResultForAnUnknownUnitIsDropped() throws {
        var h = Harness()
        h.addWorker(w1)
        let job = try XCTUnwrap(h.submit(c1, images: 1)).job
        let text = try XCTUnwrap(h.take(w1, .unit).first).unitSpec()
        h.receive(WireMessage(.result, UnitResult(job: job, unit: 999), blobs: []), from: w1)
        h.receive(WireMessage(.result, UnitResult(job: 424242, unit: 0), blobs: []), from: w1)
        XCTAssertEqual(h.machine.phase(of: job), .setup, "nothing changed")
        XCTAssertEqual(h.machine.unitCounts(of: job)?.inFlight, 1)
        h.receive(Harness.result(for: text, score: 0), from: w1)
        XCTAssertEqual(h.machine.phase(of: job), .scoring)
    }

    func testMalformedOrNonFiniteResultsBecomeErrorRowsAndFreeTheWorker() throws {
        var h = Harness()
        h.addWorker(w1)
        let job = try XCTUnwrap(h.submit(c1, images: 2, options: JobOptions(className: "tile", task: .classification))).job
        _ = h.answerAll(w1)
        h.sendImage(c1, job: job, index: 0)
        h.sendImage(c1, job: job, index: 1)
        let units = h.take(w1, .unit).map { try! $0.unitSpec() }
        XCTAssertEqual(units.map(\.kind), [.full, .full])
        // First: a RESULT whose body is not JSON; it answers the oldest unit the worker holds.
        h.receive([WireMessage(type: .result).frames[0], Data("{oops".utf8)], from: w1)
        // Second: a NaN score.
        h.receive(UnitReply.fullPass(imageScore: .nan, fewShotPatches: nil).encode(job: job, unit: units[1].unit), from: w1)
        let answers = h.take(c1)
        let errors = try answers.filter { $0.type == .imageResult }.map { try $0.decode(ImageOutcome.self) }
        XCTAssertEqual(errors.count, 2)
        XCTAssert(errors.contains { $0.index == units[0].image && $0.error?.contains("malformed RESULT") == true }, "\(errors)")
        XCTAssert(errors.contains { $0.index == units[1].image && $0.error?.contains("non-finite") == true }, "\(errors)")
        let done = try XCTUnwrap(answers.first { $0.type == .jobDone }).decode(JobSummary.self)
        XCTAssertEqual(done.failed, 2)
        XCTAssertEqual(h.machine.jobCount, 0, "the job ended: nothing hangs")
    }

    func testSilentClientCancelsItsJob() throws {
        var settings = CoordinatorSettings()
        settings.clientExpiry = 10
        var h = Harness(settings)
        h.addWorker(w1)
        let job = try XCTUnwrap(h.submit(c1, images: 3)).job
        for _ in 0..<12 { h.receive(WireMessage(type: .heartbeat), from: w1); h.tick(after: 1) }
        XCTAssertNil(h.machine.phase(of: job))
        XCTAssert(h.diagnostics.contains { if case .jobCancelled(job, .clientSilent) = $0 { true } else { false } }, "\(h.diagnostics)")
        XCTAssertEqual(h.machine.workerCount, 1, "the worker stays")
    }

    func testCancelDropsTheJobAtOnce() throws {
        var h = Harness()
        h.addWorker(w1)
        let job = try XCTUnwrap(h.submit(c1, images: 3)).job
        h.receive(WireMessage(.cancel, JobRef(job: job)), from: c2)  // not its client: ignored
        XCTAssertNotNil(h.machine.phase(of: job))
        h.receive(WireMessage(.cancel, JobRef(job: job)), from: c1)
        XCTAssertNil(h.machine.phase(of: job))
        XCTAssertEqual(try h.take(c1, .jobDone).first?.decode(JobSummary.self).error, "cancelled by its client")
    }

    func testSegmentAboveMapsOnlyHighScores() throws {
        var h = Harness()
        h.addWorker(w1)
        let job = try XCTUnwrap(h.submit(c1, images: 2, options: JobOptions(className: "tile", segmentAbove: 0.5))).job
        _ = h.answerAll(w1)
        h.sendImage(c1, job: job, index: 0)
        h.sendImage(c1, job: job, index: 1)
        for message in h.take(w1, .unit) {
            let spec = try message.unitSpec()
            h.receive(Harness.result(for: spec, score: spec.image == 0 ? 0.9 : 0.1), from: w1)
        }
        var windowUnits = 0
        for _ in 0..<20 where h.machine.jobCount > 0 {
            let answered = h.answerAll(w1)
            windowUnits += answered.filter { $0.kind == .windows }.count
            XCTAssert(answered.allSatisfy { $0.image == 0 }, "only the high-scoring image gets windows")
        }
        XCTAssertEqual(windowUnits, 5, "the tiny model's window units of one image")
        let results = try h.take(c1, .imageResult).map { (try $0.imageAnswer().index, try $0.map() != nil) }
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: results), [0: true, 1: false])
    }

    func testWorkersOfAnotherModelAreNotUsedAndNamed() throws {
        var h = Harness()
        h.addWorker(w1, fingerprint: "fp")
        let job = try XCTUnwrap(h.submit(c1, images: 1)).job
        h.addWorker(w2, fingerprint: "other")
        h.tick()
        XCTAssert(h.take(w2, .unit).isEmpty)
        let notes = try h.take(c1, .status).map { try $0.decode(StatusNote.self).message }
        let notUsed = try XCTUnwrap(h.diagnostics.first { if case .workerNotUsed(job, "worker-2", _, _, _, _) = $0 { true } else { false } }, "\(h.diagnostics)")
        XCTAssert(notes.contains(try XCTUnwrap(notUsed.clientNote)), "the client is told: \(notes)")
    }

    func testJobsWaitForAWorkerAndRefuseOptionsThatDoNotFitTheModel() throws {
        var h = Harness()
        XCTAssertNil(h.submit(c1, images: 1))
        let waiting = try h.take(c1, .status).first?.decode(StatusNote.self).message
        XCTAssert(waiting?.contains("waiting for a worker") == true, "\(String(describing: waiting))")
        XCTAssertNil(h.submit(c2, images: 1, options: JobOptions(className: "x", scales: [2, 9])))
        h.addWorker(w1)
        XCTAssertNotNil(try h.take(c1, .accepted).first)
        let refused = try h.take(c2, .refused).first?.decode(Refused.self).reason
        XCTAssert(refused?.contains("window scale 9 exceeds") == true, "\(String(describing: refused))")
    }

    func testLateUnitIsComputedByAnotherWorkerAndTheFirstResultWins() throws {
        var settings = CoordinatorSettings()
        // The floor is the deadline here: the other worker idles, so a first unit of its kind
        // is copied after the floor (`hedgedDeadline`), not after `initial`.
        settings.setDeadlines(factor: 4, floor: 5, initial: 120)
        settings.quarantineAfter = 1
        var h = Harness(settings)
        h.addWorker(w1)
        let job = try XCTUnwrap(h.submit(c1, images: 1, options: JobOptions(className: "tile", task: .classification))).job
        _ = h.answerAll(w1)
        h.addWorker(w2)
        h.sendImage(c1, job: job, index: 0)
        // The full pass goes to the longest idle worker; it keeps beating but never answers.
        let (slow, fast) = h.outbox[w1]?.contains { $0.type == .unit } == true ? (w1, w2) : (w2, w1)
        let unit = try XCTUnwrap(h.take(slow, .unit).first).unitSpec()
        for _ in 0..<4 {
            h.receive(WireMessage(type: .heartbeat), from: slow); h.receive(WireMessage(type: .heartbeat), from: fast)
            h.receive(WireMessage(.heartbeat, JobRef(job: job)), from: c1)
            h.tick(after: 1)
        }
        XCTAssert(h.take(fast, .unit).isEmpty, "not late yet")
        h.receive(WireMessage(type: .heartbeat), from: slow); h.receive(WireMessage(type: .heartbeat), from: fast)
        h.tick(after: 1.5)
        let copy = try XCTUnwrap(h.take(fast, .unit).first).unitSpec()
        XCTAssertEqual(copy, unit, "the late unit, to the other worker")
        XCTAssert(h.diagnostics.contains { if case .unitLate(job, unit.unit, unit.kind, _, _, _) = $0 { true } else { false } }, "\(h.diagnostics)")
        let notes = try h.take(c1, .status).map { try $0.decode(StatusNote.self).message }
        let quarantined = try XCTUnwrap(h.diagnostics.first { if case .workerQuarantined(_, _, .missedDeadlines(1)) = $0 { true } else { false } }, "\(h.diagnostics)")
        XCTAssert(notes.contains(try XCTUnwrap(quarantined.clientNote)), "the client is told: \(notes)")
        h.receive(Harness.result(for: copy, score: 0.6), from: fast)
        XCTAssertEqual(try h.take(c1, .imageResult).first?.score(), 0.6)
        XCTAssertNil(h.machine.phase(of: job), "done")
        h.receive(Harness.result(for: unit, score: 0.9), from: slow)  // the slow copy: dropped
        XCTAssert(h.take(c1, .imageResult).isEmpty)
    }

    func testJobWithoutAWorkerOfItsModelFails() throws {
        var settings = CoordinatorSettings()
        settings.noWorkerTimeout = 30
        var h = Harness(settings)
        XCTAssertNil(h.submit(c1, images: 1))
        for _ in 0..<32 { h.receive(WireMessage(type: .heartbeat), from: c1); h.tick(after: 1) }
        let done = try XCTUnwrap(h.take(c1, .jobDone).first).decode(JobSummary.self)
        XCTAssert(done.error?.contains("has not been connected for") == true, "\(String(describing: done.error))")
        XCTAssertEqual(h.machine.jobCount, 0)
    }

    func testUnknownJobMakesTheClientSubmitAgain() throws {
        var h = Harness()
        h.receive(WireMessage(.heartbeat, JobRef(job: 77)), from: c1)
        let done = try XCTUnwrap(h.take(c1, .jobDone).first).decode(JobSummary.self)
        XCTAssertEqual(done.job, 77)
        XCTAssert(done.retryable)
        h.addWorker(w1)
        _ = h.submit(c2, images: 1)
        let stop = h.machine.shutdown(reason: "the coordinator stopped", at: 1)
        h.perform(stop)
        XCTAssertEqual(try h.take(c2, .jobDone).first?.decode(JobSummary.self).retryable, true)
        XCTAssertEqual(h.take(w1, .bye).count, 1, "workers are told")
    }

    func testPhasesMoveOnlyForward() {
        XCTAssert(JobPhase.waitingForWorkers.canMove(to: .setup))
        XCTAssert(JobPhase.scoring.canMove(to: .done))
        XCTAssert(JobPhase.setup.canMove(to: .failed))
        XCTAssertFalse(JobPhase.scoring.canMove(to: .setup))
        XCTAssertFalse(JobPhase.done.canMove(to: .cancelled))
        XCTAssertFalse(JobPhase.waitingForWorkers.canMove(to: .done))
    }

    func testGarbageNeverChangesState() {
        var h = Harness()
        h.addWorker(w1)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let frames = (0..<Int.random(in: 0...3, using: &rng)).map { _ in Data((0..<Int.random(in: 0...20, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
            h.receive(frames, from: c1)
        }
        XCTAssertEqual(h.machine.workerCount, 1)
        XCTAssertEqual(h.machine.jobCount, 0)
    }
}

extension PeerID {
    var name: String { String(decoding: self, as: UTF8.self) }
}

/// A job's precision picks its workers: bf16 units go only to workers that announced bf16.
final class PrecisionRoutingTests: XCTestCase {
    func testBF16JobsWaitForABF16Worker() throws {
        var h = CoordinatorMachineTests.Harness()
        let plain = PeerID("fp32-only".utf8), capable = PeerID("bf16".utf8), c = PeerID("c".utf8)
        h.receive(WireMessage(.ready, Ready(fingerprint: "fp", model: "tiny", imageSize: 48, gridSize: 6, name: "fp32-only")), from: plain)
        XCTAssertNil(h.submit(c, images: 1, options: JobOptions(className: "x", precision: .bf16)), "no worker can run it yet")
        let waiting = try h.take(c, .status).first?.decode(StatusNote.self).message
        XCTAssert(waiting?.contains("that can run bf16") == true, "\(String(describing: waiting))")
        h.receive(WireMessage(.ready, Ready(fingerprint: "fp", model: "tiny", imageSize: 48, gridSize: 6, name: "bf16",
                                            precisions: [.fp32, .bf16])), from: capable)
        XCTAssertNotNil(try h.take(c, .accepted).first)
        XCTAssertEqual(h.take(plain, .unit).count, 0)
        XCTAssertEqual(try h.take(capable, .unit).first?.unitSpec().options.precision, .bf16)
    }
}

extension CoordinatorMachineTests {
    /// The note comes with ACCEPTED, before any tick: a short job cannot end without it.
    func testForeignWorkersAreNamedWhenTheJobIsAccepted() throws {
        var h = Harness()
        h.addWorker(w1, fingerprint: "fp")
        h.addWorker(w2, fingerprint: "other")
        let job = try XCTUnwrap(h.submit(c1, images: 1)).job
        let notes = try h.take(c1, .status).map { try $0.decode(StatusNote.self).message }
        let notUsed = try XCTUnwrap(h.diagnostics.first { if case .workerNotUsed(job, _, _, _, _, _) = $0 { true } else { false } }, "\(h.diagnostics)")
        XCTAssert(notes.contains(try XCTUnwrap(notUsed.clientNote)), "the client is told: \(notes)")
    }
}
