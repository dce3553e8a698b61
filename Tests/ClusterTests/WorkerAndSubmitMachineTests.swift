import Foundation
import Options
import XCTest
@testable import Protocol
@testable import Submit
@testable import Worker

/// The worker's and the submit client's protocol logic, driven directly with a fake clock.
final class WorkerMachineTests: XCTestCase {
    let ready = Ready(fingerprint: "fp", model: "tiny", imageSize: 48, gridSize: 6, name: "w")

    func unit(_ n: Int) -> WireMessage {
        UnitSpec(job: 1, unit: n, options: JobOptions(className: "x"), work: .fullPass(image: n, pixels: Data(), fewShot: false)).encode()
    }
    func sent(_ actions: [WorkerAction]) -> [MessageType] {
        actions.compactMap { if case .send(let m) = $0 { return m.type }; return nil }
    }
    func computed(_ actions: [WorkerAction]) -> [WireMessage] {
        actions.compactMap { if case .compute(let m) = $0 { return m }; return nil }
    }

    func testUnitsAreComputedOneAtATimeWithoutWaitingForARoundTrip() throws {
        var m = WorkerMachine(ready: ready)
        XCTAssertEqual(sent(m.connected(at: 0)), [.ready])
        XCTAssertEqual(computed(m.received(unit(1).frames, at: 0.1)), [unit(1)])
        XCTAssertEqual(computed(m.received(unit(2).frames, at: 0.2)), [], "the second waits on the worker")
        XCTAssertEqual(m.queuedCount, 1)
        let result = WireMessage(.result, UnitResult(job: 1, unit: 1))
        let after = m.computed(result, at: 0.5)
        XCTAssertEqual(sent(after), [.result])
        XCTAssertEqual(computed(after), [unit(2)], "the next unit starts at once")
    }

    func testHeartbeatsAndReconnectWithBackoff() {
        var settings = WorkerSettings()
        settings.heartbeatInterval = 1
        settings.liveness = 3
        settings.reconnectDelay = 0.5
        var m = WorkerMachine(ready: ready, settings: settings)
        _ = m.connected(at: 0)
        XCTAssertEqual(sent(m.tick(at: 1)), [.heartbeat])
        XCTAssertEqual(sent(m.tick(at: 1.5)), [])
        // Silent for 3.5 s > 3 heartbeats: drop the connection.
        XCTAssertEqual(m.tick(at: 3.5), [.send(WireMessage(type: .heartbeat)), .diagnostic(.coordinatorSilent(seconds: 3, reconnectIn: 0.5))])
        XCTAssertEqual(m.connection, .reconnecting(at: 4))
        XCTAssertEqual(m.tick(at: 3.7), [], "waiting the reconnect delay")
        let reconnect = m.tick(at: 4.1)
        XCTAssertEqual(reconnect.first, .reconnect)
        XCTAssertEqual(sent(reconnect), [.ready])
        XCTAssertEqual(m.connection, .connected(.init(lastHeard: 4.1, lastBeat: 4.1)))
        XCTAssert(m.tick(at: 7.2).contains(.diagnostic(.coordinatorSilent(seconds: 3, reconnectIn: 1))), "silent again: the delay doubles")
        XCTAssertEqual(m.tick(at: 8.1), [])
        XCTAssertEqual(m.tick(at: 8.3).first, .reconnect)
    }

    func testUnitsOfADroppedConnectionAreNotAnswered() {
        var settings = WorkerSettings()
        settings.liveness = 2
        var m = WorkerMachine(ready: ready, settings: settings)
        _ = m.connected(at: 0)
        _ = m.received(unit(1).frames, at: 0)
        _ = m.received(unit(2).frames, at: 0)
        _ = m.tick(at: 3)  // coordinator silent: reconnect; it re-queues units 1 and 2 itself
        XCTAssertEqual(m.queuedCount, 0)
        XCTAssertEqual(m.compute, .busy(stale: true))
        XCTAssertEqual(m.received(unit(3).frames, at: 3.1), [], "the dropped connection's late units are not taken")
        XCTAssertEqual(m.queuedCount, 0)
        XCTAssertEqual(sent(m.computed(WireMessage(.result, UnitResult(job: 1, unit: 1)), at: 3.2)), [], "stale result dropped")
        XCTAssertEqual(m.compute, .idle)
    }

    func testStopFinishesTheUnitInHandThenSaysGoodbye() {
        var m = WorkerMachine(ready: ready)
        _ = m.connected(at: 0)
        _ = m.received(unit(1).frames, at: 0)
        _ = m.received(unit(2).frames, at: 0)
        XCTAssertEqual(m.stopRequested(at: 1), [], "unit 1 is still computing")
        XCTAssertEqual(m.lifecycle, .leaving)
        XCTAssertEqual(m.queuedCount, 0, "queued unit 2 is handed back")
        XCTAssertEqual(m.received(unit(3).frames, at: 1.1), [], "no new work while leaving")
        XCTAssertEqual(m.queuedCount, 0)
        let result = WireMessage(.result, UnitResult(job: 1, unit: 1))
        XCTAssertEqual(m.computed(result, at: 2), [.send(result), .send(WireMessage(type: .bye)), .diagnostic(.leaving(unitsDone: 1)), .exit],
                       "unit 1 answered, then goodbye; unit 2 is not computed")
    }

    func testCoordinatorGoodbyeMakesTheWorkerReconnect() {
        var m = WorkerMachine(ready: ready)
        _ = m.connected(at: 0)
        XCTAssertEqual(m.received(WireMessage(type: .bye).frames, at: 1), [.diagnostic(.coordinatorLeaving)])
        XCTAssertEqual(m.connection, .reconnecting(at: 1.5))
        XCTAssertEqual(m.tick(at: 1.6).first, .reconnect)
    }

    func testMalformedAndUnexpectedMessagesAreReportedAndDropped() {
        var m = WorkerMachine(ready: ready)
        _ = m.connected(at: 0)
        guard case .diagnostic(.malformedMessage)? = m.received([Data("not a message".utf8)], at: 1).first else { return XCTFail() }
        let submit = WireMessage(.submit, SubmitRequest(options: JobOptions(className: "x"), referenceCount: 0, imageCount: 1, wantMaps: false))
        XCTAssertEqual(m.received(submit.frames, at: 1), [.diagnostic(.unexpectedMessage(.submit))])
        XCTAssertEqual(m.queuedCount, 0)
        XCTAssertEqual(m.compute, .idle)
    }
}

final class SubmitMachineTests: XCTestCase {
    let request = SubmitRequest(options: JobOptions(className: "x"), referenceCount: 1, imageCount: 4, wantMaps: false)
    let pixels = FloatBlob.encode([0, 1])

    func sent(_ actions: [SubmitAction]) -> [MessageType] {
        actions.compactMap { if case .send(let m) = $0 { return m.type }; return nil }
    }
    func loads(_ actions: [SubmitAction]) -> [Int] {
        actions.compactMap { if case .load(let i, false) = $0 { return i }; return nil }
    }
    func accepted(credit: Int) -> [Data] { WireMessage(.accepted, Accepted(job: 9, imageSize: 48, fingerprint: "fp", model: "tiny", credit: credit)).frames }
    func answer(_ index: Int, score: Float = 0.5) -> [Data] {
        ImageAnswer(job: 9, index: index, verdict: .scored(score: score, map: nil)).encode().frames
    }

    func testImagesFlowWithinTheCredit() throws {
        var m = SubmitMachine(request: request, at: 0)
        XCTAssertEqual(sent(m.start()), [.submit])
        let a = m.received(accepted(credit: 2), at: 1)
        XCTAssert(a.contains(.load(index: 0, reference: true)))
        XCTAssertEqual(loads(a), [0, 1])
        XCTAssertEqual(sent(m.loaded(index: 0, reference: true, .success(pixels))), [.image])
        XCTAssertEqual(sent(m.loaded(index: 0, reference: false, .success(pixels))), [.image])
        // An image that cannot be decoded is answered here and counted at the coordinator.
        let broken = m.loaded(index: 1, reference: false, .failure(SubmitError("truncated")))
        XCTAssert(broken.contains(.deliver(index: 1, .failed("truncated"))))
        XCTAssertEqual(sent(broken), [.image])
        XCTAssertEqual(loads(broken), [2], "its credit goes to the next image")
        let r = m.received(answer(0), at: 2)
        XCTAssertEqual(r.first, .deliver(index: 0, .scored(score: 0.5, map: nil)))
        XCTAssertEqual(loads(r), [3])
        XCTAssertEqual(m.received(answer(0), at: 2.1), [], "an image is delivered once")
        _ = m.loaded(index: 2, reference: false, .success(pixels))
        _ = m.loaded(index: 3, reference: false, .success(pixels))
        _ = m.received(answer(2), at: 3)
        _ = m.received(answer(3), at: 3)
        let done = m.received(WireMessage(.jobDone, JobSummary(job: 9, scored: 3, failed: 1, seconds: 0, workers: ["w"])).frames, at: 5)
        guard case .finished(.success(let summary))? = done.last else { return XCTFail("\(done)") }
        XCTAssertEqual(summary.seconds, 5)
        XCTAssertEqual(summary.scored, 3)
        XCTAssertEqual(summary.failed, 1)
        XCTAssert(m.isOver)
    }

    func testTimeoutsAndRefusals() {
        var m = SubmitMachine(request: request, at: 0)
        _ = m.start()
        XCTAssertEqual(sent(m.tick(at: 1.5)), [.heartbeat])
        guard case .finished(.failure(let e))? = m.tick(at: 61).last else { return XCTFail() }
        XCTAssertEqual(e, .noAnswer(within: 60))

        var r = SubmitMachine(request: request, at: 0)
        _ = r.start()
        guard case .finished(.failure(let refused))? = r.received(WireMessage(.refused, Refused(reason: "no")).frames, at: 1).last else { return XCTFail() }
        XCTAssertEqual(refused.reason, .refused("no"))

        // A silent coordinator: the job is submitted again, until the grace period ends.
        var settings = SubmitSettings()
        settings.reconnectGrace = 30
        var s = SubmitMachine(request: request, settings: settings, at: 0)
        _ = s.received(accepted(credit: 1), at: 0)
        XCTAssertEqual(s.tick(at: 11), [.diagnostic(.lost(.silent(seconds: 11), unanswered: 4, resubmitIn: 1))])
        XCTAssertEqual(s.phase, .resubmitting(at: 12, lostSince: 11))
        XCTAssertEqual(s.tick(at: 12.1).first, .reconnect)
        guard case .submitting(_, .resubmitted(lostSince: 11)) = s.phase else { return XCTFail("\(s.phase)") }
        var now = 12.1
        var last: [SubmitAction] = []
        while now < 100 && !s.isOver { now += 1; last = s.tick(at: now) }
        guard case .finished(.failure(let gaveUp))? = last.last else { return XCTFail("\(last)") }
        XCTAssertEqual(gaveUp.reason, .notTakenBack(.noAnswerYet, graceSeconds: 30))
        XCTAssertEqual(s.phase, .over(.failure(gaveUp)))
        XCTAssertGreaterThan(s.attempts, 2)
    }

    func testResubmitsWhatIsNotAnsweredWhenTheCoordinatorIsLost() throws {
        let request = SubmitRequest(options: JobOptions(className: "x"), referenceCount: 0, imageCount: 4, wantMaps: false)
        var m = SubmitMachine(request: request, at: 0)
        _ = m.start()
        XCTAssertEqual(loads(m.received(accepted(credit: 4), at: 0)), [0, 1, 2, 3])
        for i in 0..<4 { _ = m.loaded(index: i, reference: false, .success(pixels)) }
        _ = m.received(answer(0), at: 1)
        _ = m.received(answer(2), at: 1)
        // The coordinator stops (or a restarted one says it does not know the job).
        let lost = m.received(WireMessage(.jobDone, JobSummary(job: 9, scored: 0, failed: 0, seconds: 0, workers: [], error: "the coordinator stopped", retryable: true)).frames, at: 2)
        XCTAssertEqual(lost, [.diagnostic(.lost(.gaveUp(reason: "the coordinator stopped"), unanswered: 2, resubmitIn: 1))])
        XCTAssertEqual(m.tick(at: 2.5), [], "waiting before submitting again")
        let again = m.tick(at: 3.1)
        XCTAssertEqual(again.first, .reconnect)
        guard case .send(let submit)? = again.last else { return XCTFail("\(again)") }
        XCTAssertEqual(try submit.decode(SubmitRequest.self).imageCount, 2, "only the unanswered images")
        let second = WireMessage(.accepted, Accepted(job: 10, imageSize: 48, fingerprint: "fp", model: "tiny", credit: 4)).frames
        let back = m.received(second, at: 4)
        XCTAssertEqual(loads(back), [1, 3], "the job's own image indices")
        XCTAssert(back.contains(.diagnostic(.resubmitted(job: 10, images: 2))), "\(back)")
        guard case .send(let image)? = m.loaded(index: 3, reference: false, .success(pixels)).first else { return XCTFail() }
        XCTAssertEqual(try image.decode(ImageItem.self), ImageItem(job: 10, index: 1, reference: false), "index within the new job")
        let r = m.received(ImageAnswer(job: 10, index: 1, verdict: .scored(score: 0.7, map: nil)).encode().frames, at: 5)
        XCTAssertEqual(r.first, .deliver(index: 3, .scored(score: 0.7, map: nil)))
        XCTAssertEqual(m.received(answer(1), at: 5), [.diagnostic(.unknownImage(index: 1, job: 9))], "the lost job's late answers are not taken")
        _ = m.received(ImageAnswer(job: 10, index: 0, verdict: .scored(score: 0.1, map: nil)).encode().frames, at: 5)
        let done = m.received(WireMessage(.jobDone, JobSummary(job: 10, scored: 2, failed: 0, seconds: 1, workers: ["w"])).frames, at: 6)
        guard case .finished(.success(let summary))? = done.last else { return XCTFail("\(done)") }
        XCTAssertEqual(summary.scored, 4)
        XCTAssertEqual(m.attempts, 2)
    }

    func testStopSendsCancel() {
        var m = SubmitMachine(request: request, at: 0)
        _ = m.received(accepted(credit: 1), at: 0)
        let stop = m.stop()
        XCTAssertEqual(stop, [.send(WireMessage(.cancel, JobRef(job: 9))), .finished(.failure(SubmitError(reason: .interrupted)))])
        XCTAssertEqual(m.tick(at: 100), [], "over")
    }

    func testEachWayOfLosingOrFailingTheJobIsNamed() {
        func done(_ summary: JobSummary) -> [Data] { WireMessage(.jobDone, summary).frames }
        // BYE while running: lost, submitted again.
        var m = SubmitMachine(request: request, at: 0)
        _ = m.received(accepted(credit: 1), at: 0)
        XCTAssertEqual(m.received(WireMessage(type: .bye).frames, at: 1), [.diagnostic(.lost(.coordinatorStopped, unanswered: 4, resubmitIn: 1))])
        XCTAssertEqual(m.phase, .resubmitting(at: 2, lostSince: 1))
        XCTAssertEqual(m.received(answer(0), at: 1.5), [], "nothing is taken while waiting to submit again")
        _ = m.tick(at: 2)
        // The new submission unanswered: lost again, since the first loss; the delay doubles.
        XCTAssertEqual(m.tick(at: 12.5), [.diagnostic(.lost(.noAnswerYet, unanswered: 4, resubmitIn: 2))])
        XCTAssertEqual(m.phase, .resubmitting(at: 14.5, lostSince: 1))

        // JOB_DONE with images unanswered, and with an error that another try would not cure.
        var u = SubmitMachine(request: request, at: 0)
        _ = u.received(accepted(credit: 1), at: 0)
        XCTAssertEqual(u.received(done(JobSummary(job: 9, scored: 0, failed: 0, seconds: 1, workers: [])), at: 1),
                       [.diagnostic(.lost(.endedUnanswered(images: 4), unanswered: 4, resubmitIn: 1))])
        var f = SubmitMachine(request: request, at: 0)
        _ = f.received(accepted(credit: 1), at: 0)
        XCTAssertEqual(f.received(done(JobSummary(job: 9, scored: 0, failed: 0, seconds: 1, workers: [], error: "bad options")), at: 1),
                       [.finished(.failure(SubmitError(reason: .jobFailed("bad options"))))])
        XCTAssert(f.isOver)

        // A coordinator that spoke but never accepted: given up after the connect timeout.
        var h = SubmitMachine(request: request, at: 0)
        _ = h.received(WireMessage(.status, StatusNote(job: 0, message: "waiting for workers")).frames, at: 1)
        XCTAssertEqual(h.phase, .submitting(SubmitMachine.Attempt(images: [0, 1, 2, 3]), .heard))
        XCTAssertEqual(h.tick(at: 62), [.finished(.failure(.noAnswer(within: 60)))])

        // Messages a client cannot use are reported, and change nothing.
        var g = SubmitMachine(request: request, at: 0)
        _ = g.received(accepted(credit: 1), at: 0)
        let before = g.phase
        guard case .diagnostic(.malformedMessage)? = g.received([Data("junk".utf8)], at: 1).first else { return XCTFail() }
        XCTAssertEqual(g.received(WireMessage(type: .unit).frames, at: 1), [.diagnostic(.unexpectedMessage(.unit))])
        guard case .diagnostic(.malformedPayload(.status, _))? = g.received(WireMessage(type: .status).frames, at: 1).first else {
            return XCTFail("a STATUS without its body")
        }
        XCTAssertEqual(g.phase, before)
    }

    func testReferenceThatCannotBeDecodedStopsTheJob() {
        var m = SubmitMachine(request: request, at: 0)
        _ = m.received(accepted(credit: 1), at: 0)
        guard case .finished(.failure(let e))? = m.loaded(index: 0, reference: true, .failure(SubmitError("bad"))).last else { return XCTFail() }
        XCTAssertEqual(e.reason, .unusableReference(index: 0, error: "bad"))
    }
}
