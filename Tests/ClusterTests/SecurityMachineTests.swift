import Foundation
import Options
import XCTest
@testable import Coordinator
@testable import Protocol
@testable import Transport

/// The coordinator's admission rules driven directly (fake clock, fake peers): roles, per-client
/// limits, the credit, setup verification and its cache provenance, revocation, and how
/// clients see workers named.
final class SecurityMachineTests: XCTestCase {
    typealias Harness = CoordinatorMachineTests.Harness
    let w1 = PeerID("peer-w1".utf8), w2 = PeerID("peer-w2".utf8), w3 = PeerID("peer-w3".utf8)
    let c1 = PeerID("peer-c1".utf8), c2 = PeerID("peer-c2".utf8)
    let workerKey1 = PeerIdentity.key(name: "rack-01", role: .worker), workerKey2 = PeerIdentity.key(name: "rack-02", role: .worker)
    let alice = PeerIdentity.key(name: "alice", role: .client)
    /// The setup cache's key of the text embeddings of class "tile" on model "fp".
    let tileTextKey = SetupCache.textKey(fingerprint: "fp", options: JobOptions(className: "tile"))

    func ready(_ name: String, fingerprint: String = "fp") -> WireMessage {
        WireMessage(.ready, Ready(fingerprint: fingerprint, model: "tiny", imageSize: 48, gridSize: 6, name: name))
    }

    func submitRequest(images: Int = 1, references: Int = 0) -> WireMessage {
        WireMessage(.submit, SubmitRequest(options: JobOptions(className: "tile"), referenceCount: references, imageCount: images, wantMaps: false))
    }

    func testAWorkerKeyCannotSubmitAndAClientKeyCannotServe() throws {
        var h = Harness()
        h.perform(h.machine.receive(ready("host:1").frames, from: w1, as: workerKey1, at: 0))
        // A client key announcing itself as a worker: not registered, logged once.
        for _ in 0..<3 { h.perform(h.machine.receive(ready("rogue:2").frames, from: c1, as: alice, at: 0)) }
        XCTAssertEqual(h.machine.workerCount, 1)
        XCTAssertEqual(h.diagnostics.filter { $0 == .refusedRole(.ready, identity: alice) }.count, 1, "\(h.diagnostics)")
        // ...nor answer units.
        h.perform(h.machine.receive(WireMessage(.result, UnitResult(job: 1, unit: 0)).frames, from: c1, as: alice, at: 0))
        XCTAssert(h.diagnostics.contains(.refusedRole(.result, identity: alice)), "\(h.diagnostics)")
        // A worker key submitting: REFUSED, with the reason.
        h.perform(h.machine.receive(submitRequest().frames, from: w2, as: workerKey2, at: 0))
        XCTAssertEqual(h.machine.jobCount, 0)
        let reason = try XCTUnwrap(h.take(w2, .refused).first).decode(Refused.self).reason
        XCTAssertEqual(reason, JobRefusal.notAClient(workerKey2).message, "REFUSED says why")
        // The client key submits; IMAGE and CANCEL from a worker key are ignored.
        h.perform(h.machine.receive(submitRequest().frames, from: c1, as: alice, at: 0))
        let job = try XCTUnwrap(h.take(c1, .accepted).first).decode(Accepted.self).job
        h.perform(h.machine.receive(WireMessage(.cancel, JobRef(job: job)).frames, from: c1, as: workerKey1, at: 0))
        XCTAssertNotNil(h.machine.phase(of: job), "CANCEL needs the client role (and the job's own client)")
        // Under mode none everyone may do everything (the other machine tests).
        XCTAssert(PeerIdentity.anyone.allows(.worker) && PeerIdentity.anyone.allows(.client))
    }

    func testJobsPerClientAndReferencesAreLimited() throws {
        var settings = CoordinatorSettings()
        settings.maxJobsPerClient = 2
        settings.maxReferences = 4
        var h = Harness(settings)
        h.addWorker(w1)
        for _ in 0..<2 { h.perform(h.machine.receive(submitRequest().frames, from: c1, as: alice, at: 0)) }
        XCTAssertEqual(h.take(c1, .accepted).count, 2)
        // A third from the same key, even over another connection, is refused.
        h.perform(h.machine.receive(submitRequest().frames, from: c2, as: alice, at: 0))
        XCTAssert(h.diagnostics.contains { if case .jobRefused(_, .tooManyJobs(running: 2)) = $0 { true } else { false } }, "\(h.diagnostics)")
        XCTAssertEqual(try XCTUnwrap(h.take(c2, .refused).first).decode(Refused.self).reason, JobRefusal.tooManyJobs(running: 2).message)
        // Another client is not affected; without keys the limit is per connection.
        h.perform(h.machine.receive(submitRequest().frames, from: c2, at: 0))
        XCTAssertEqual(h.take(c2, .accepted).count, 1)
        h.perform(h.machine.receive(submitRequest(references: 5).frames, from: c2, at: 0))
        XCTAssert(h.diagnostics.contains { if case .jobRefused(_, .tooManyReferences(5, limit: 4)) = $0 { true } else { false } }, "\(h.diagnostics)")
        XCTAssertEqual(try XCTUnwrap(h.take(c2, .refused).first).decode(Refused.self).reason, JobRefusal.tooManyReferences(5, limit: 4).message)
    }

    func testImagesBeyondTheCreditAreRefused() throws {
        var settings = CoordinatorSettings()
        settings.verifySetup = .never
        var h = Harness(settings)
        h.addWorker(w1)
        let accepted = try XCTUnwrap(h.submit(c1, images: 100))
        XCTAssertEqual(accepted.credit, 4)
        // Before setup finishes the images wait at the coordinator: at most the credit of them.
        for i in 0..<10 { h.sendImage(c1, job: accepted.job, index: i) }
        XCTAssertEqual(h.diagnostics.filter { if case .rejectedMessage(.image, _, _) = $0 { true } else { false } }.count, 6, "\(h.diagnostics)")
        _ = h.answerAll(w1)  // the text unit: scoring starts
        XCTAssertEqual(h.machine.unitCounts(of: accepted.job).map { $0.pending + $0.inFlight }, 4 * 6, "the credit's 4 images, 6 units each in the tiny plan")
    }

    /// Answers every UNIT the worker holds with text embeddings `value` (and plausible scores).
    func answer(_ h: inout Harness, _ worker: PeerID, as identity: PeerIdentity, textValue: Float = 0.1) -> [UnitSpec] {
        var answered: [UnitSpec] = []
        for message in h.take(worker, .unit) {
            let spec = try! message.unitSpec()
            var result = Harness.result(for: spec, score: 0.3)
            if spec.kind == .text {
                result = UnitReply.text(TextVectors(normal: [Float](repeating: textValue, count: 32), anomalous: [Float](repeating: 0.2, count: 32)))
                    .encode(job: spec.job, unit: spec.unit)
            }
            h.perform(h.machine.receive(result.frames, from: worker, as: identity, at: h.now))
            answered.append(spec)
        }
        return answered
    }

    func testSetupIsComputedOnTwoKeysAndCachedOnlyWhenTheyAgree() throws {
        var h = Harness()
        h.perform(h.machine.receive(ready("a:1").frames, from: w1, as: workerKey1, at: 0))
        h.perform(h.machine.receive(ready("b:2").frames, from: w2, as: workerKey2, at: 0))
        h.perform(h.machine.receive(submitRequest().frames, from: c1, as: alice, at: 0))
        let job = try XCTUnwrap(h.take(c1, .accepted).first).decode(Accepted.self).job
        let first = answer(&h, w1, as: workerKey1), second = answer(&h, w2, as: workerKey2)
        XCTAssertEqual(first.map(\.kind), [.text])
        XCTAssertEqual(second.map(\.kind), [.text], "the second copy goes to the other key")
        XCTAssertEqual(h.machine.phase(of: job), .scoring, "they agree")
        let provenance = try XCTUnwrap(h.machine.setupCache.provenance(text: tileTextKey))
        XCTAssert(provenance.isVerified)
        XCTAssertEqual(Set(provenance.principals), ["worker:rack-01", "worker:rack-02"])
        // The next job of the class takes the verified entry: no text unit.
        h.perform(h.machine.receive(submitRequest().frames, from: c2, as: alice, at: 0))
        let next = try XCTUnwrap(h.take(c2, .accepted).first).decode(Accepted.self).job
        XCTAssertEqual(h.machine.phase(of: next), .scoring)
    }

    func testDisagreeingSetupFailsTheJobNamingBothWorkers() throws {
        var h = Harness()
        h.perform(h.machine.receive(ready("a:1").frames, from: w1, as: workerKey1, at: 0))
        h.perform(h.machine.receive(ready("rogue:2").frames, from: w2, as: workerKey2, at: 0))
        h.perform(h.machine.receive(submitRequest().frames, from: c1, as: alice, at: 0))
        let job = try XCTUnwrap(h.take(c1, .accepted).first).decode(Accepted.self).job
        _ = answer(&h, w1, as: workerKey1, textValue: 0.1)
        _ = answer(&h, w2, as: workerKey2, textValue: 0.1000001)
        XCTAssertNil(h.machine.phase(of: job))
        let done = try XCTUnwrap(h.take(c1, .jobDone).first).decode(JobSummary.self)
        XCTAssert(done.error?.contains("text embeddings of worker rack-01 and worker rack-02 differ") == true, "\(String(describing: done.error))")
        XCTAssertNil(h.machine.setupCache.text(tileTextKey), "nothing cached")
    }

    func testCopiesNeverGoToTwoConnectionsOfOneKey() throws {
        var h = Harness()
        // Two processes of rack-01 and one of rack-02: the copies go to rack-01 and rack-02.
        h.perform(h.machine.receive(ready("a:1").frames, from: w1, as: workerKey1, at: 0))
        h.perform(h.machine.receive(ready("a:2").frames, from: w3, as: workerKey1, at: 0))
        h.perform(h.machine.receive(submitRequest().frames, from: c1, as: alice, at: 0))
        XCTAssertEqual(h.take(w1, .unit).count + h.take(w3, .unit).count, 1, "one key alone: no verification (auto), one copy")
        h.perform(h.machine.receive(ready("b:1").frames, from: w2, as: workerKey2, at: 1))
        h.perform(h.machine.receive(submitRequest().frames, from: c2, as: alice, at: 1))
        let onRack1 = h.take(w1, .unit).count + h.take(w3, .unit).count, onRack2 = h.take(w2, .unit).count
        XCTAssertEqual(onRack2, 1, "one copy on rack-02")
        XCTAssertEqual(onRack1, 1, "and one on rack-01, never two")
    }

    func testWithOneKeyLeftAutoVerificationTakesOneAnswer() throws {
        var h = Harness()
        h.perform(h.machine.receive(ready("a:1").frames, from: w1, as: workerKey1, at: 0))
        h.perform(h.machine.receive(ready("b:1").frames, from: w2, as: workerKey2, at: 0))
        // w2 is busy with another job's units first: no, simply: w2 leaves before it answers.
        h.perform(h.machine.receive(submitRequest().frames, from: c1, as: alice, at: 0))
        let job = try XCTUnwrap(h.take(c1, .accepted).first).decode(Accepted.self).job
        _ = h.take(w2, .unit)
        h.perform(h.machine.receive(WireMessage(type: .bye).frames, from: w2, as: workerKey2, at: 0))
        _ = answer(&h, w1, as: workerKey1)
        XCTAssertEqual(h.machine.phase(of: job), .setup, "the re-queued copy may not go to rack-01")
        h.tick(after: 0.1)
        XCTAssertEqual(h.machine.phase(of: job), .scoring, "auto: one key left, one answer taken")
        XCTAssertEqual(h.machine.setupCache.provenance(text: tileTextKey)?.isVerified, false)
        // A later job that verifies does not take the unverified entry.
        h.perform(h.machine.receive(ready("b:1").frames, from: w2, as: workerKey2, at: 1))
        h.perform(h.machine.receive(submitRequest().frames, from: c2, as: alice, at: 1))
        XCTAssertEqual(h.take(w1, .unit).count + h.take(w2, .unit).count, 2, "two text copies again")
    }

    func testAlwaysVerifyWaitsForASecondKey() throws {
        var settings = CoordinatorSettings()
        settings.verifySetup = .always
        var h = Harness(settings)
        h.perform(h.machine.receive(ready("a:1").frames, from: w1, as: workerKey1, at: 0))
        h.perform(h.machine.receive(submitRequest().frames, from: c1, as: alice, at: 0))
        let job = try XCTUnwrap(h.take(c1, .accepted).first).decode(Accepted.self).job
        XCTAssert(try h.take(c1, .status).contains { try $0.decode(StatusNote.self).message.contains("waiting for a second worker") })
        _ = answer(&h, w1, as: workerKey1)
        h.tick(after: 1)
        XCTAssertEqual(h.machine.phase(of: job), .setup)
        h.perform(h.machine.receive(ready("b:1").frames, from: w2, as: workerKey2, at: h.now))
        XCTAssertEqual(answer(&h, w2, as: workerKey2).map(\.kind), [.text])
        XCTAssertEqual(h.machine.phase(of: job), .scoring)
    }

    func testRevokingAKeyDropsItsWorkersJobsAndCachedSetups() throws {
        var settings = CoordinatorSettings()
        settings.verifySetup = .never
        var h = Harness(settings)
        h.perform(h.machine.receive(ready("a:1").frames, from: w1, as: workerKey1, at: 0))
        h.perform(h.machine.receive(submitRequest().frames, from: c1, as: alice, at: 0))
        let job = try XCTUnwrap(h.take(c1, .accepted).first).decode(Accepted.self).job
        _ = answer(&h, w1, as: workerKey1)
        XCTAssertNotNil(h.machine.setupCache.text(tileTextKey))
        h.perform(h.machine.revoke([workerKey1], at: 1))
        XCTAssertEqual(h.machine.workerCount, 0)
        XCTAssertNil(h.machine.setupCache.text(tileTextKey), "what the revoked worker produced is forgotten")
        XCTAssertNotNil(h.machine.phase(of: job), "the job waits for other workers")
        h.perform(h.machine.revoke([alice], at: 1))
        XCTAssertNil(h.machine.phase(of: job))
        XCTAssertEqual(try h.take(c1, .jobDone).first?.decode(JobSummary.self).error, "its client's key was revoked")
        XCTAssert(h.diagnostics.contains(.revoked([workerKey1], workersDropped: 1, setupsDiscarded: 1)), "\(h.diagnostics)")
    }

    func testDisconnectingAPeerRequeuesItsUnitsAndCancelsItsJobs() throws {
        var settings = CoordinatorSettings()
        settings.verifySetup = .never
        var h = Harness(settings)
        h.addWorker(w1)
        let job = try XCTUnwrap(h.submit(c1, images: 1)).job
        XCTAssertEqual(h.machine.unitCounts(of: job)?.inFlight, 1)
        let flood = DisconnectReason.tooManyMessages(perSecond: 5000, banSeconds: 60)
        h.perform(h.machine.disconnect(w1, flood, at: 0))
        XCTAssertEqual(h.machine.workerCount, 0)
        XCTAssertEqual(h.machine.unitCounts(of: job)?.pending, 1)
        XCTAssert(h.diagnostics.contains { if case .cutOff(_, flood) = $0 { true } else { false } }, "\(h.diagnostics)")
        XCTAssertEqual(h.events.filter { $0 == .peerRefused(.rateLimit) }.count, 1)
        h.perform(h.machine.disconnect(c1, flood, at: 0))
        XCTAssertNil(h.machine.phase(of: job))
        XCTAssert(h.diagnostics.contains(.jobCancelled(job, .clientCutOff(flood))), "\(h.diagnostics)")
        XCTAssertEqual(try h.take(c1, .jobDone).first?.decode(JobSummary.self).error, "its client sent too many messages", "the client's contract")
    }

    func testClientsSeeKeyNamesOrOpaqueIDsNotHosts() throws {
        var settings = CoordinatorSettings()
        settings.verifySetup = .never
        var h = Harness(settings)
        h.perform(h.machine.receive(ready("db-host.internal:4242").frames, from: w1, at: 0))
        h.perform(h.machine.receive(ready("gpu-7.internal:99", fingerprint: "other").frames, from: w2, as: workerKey2, at: 0))
        let job = try XCTUnwrap(h.submit(c1, images: 1)).job
        h.tick()
        let notes = try h.take(c1, .status).map { try $0.decode(StatusNote.self).message }
        let notUsed = try XCTUnwrap(h.diagnostics.first { if case .workerNotUsed(job, "rack-02", _, _, _, _) = $0 { true } else { false } }, "\(h.diagnostics)")
        XCTAssert(notes.contains(try XCTUnwrap(notUsed.clientNote)), "the client is told: \(notes)")
        XCTAssertFalse(notes.joined().contains(".internal"), "\(notes)")
        for _ in 0..<10 where h.machine.jobCount > 0 {
            _ = h.answerAll(w1)
            h.sendImage(c1, job: job, index: 0)
        }
        let done = try XCTUnwrap(h.take(c1, .jobDone).first).decode(JobSummary.self)
        XCTAssertEqual(done.workers, ["worker-1"], "an opaque id without a key")
        XCTAssert(h.diagnostics.contains { if case .workerJoined("worker-1 [db-host.internal:4242]", _, _, _, _) = $0 { true } else { false } }, "the operator's log has both: \(h.diagnostics)")

        var revealing = CoordinatorSettings()
        revealing.revealWorkerHosts = true
        var r = Harness(revealing)
        r.perform(r.machine.receive(ready("db-host.internal:4242").frames, from: w1, as: workerKey1, at: 0))
        XCTAssertEqual(r.machine.workers[w1]?.publicName, "db-host.internal:4242")
    }
}
