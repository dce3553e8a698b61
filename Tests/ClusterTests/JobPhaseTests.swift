import Foundation
import Options
import XCTest
import Protocol
@testable import Coordinator

/// A few-shot job through its phases on the machine (fake clock, fake peers): each phase holds
/// its own data (JobState), images sent early wait in the phase that has them, and what a
/// phase cannot take is refused.
final class JobPhaseTests: XCTestCase {
    typealias Harness = CoordinatorMachineTests.Harness
    let w1 = PeerID("worker-1".utf8), c1 = PeerID("client-1".utf8)
    let size = CoordinatorMachineTests.imageSize

    func pixels(_ value: Float) -> Data { FloatBlob.encode([Float](repeating: value, count: 3 * size * size)) }

    func send(_ h: inout Harness, job: JobID, index: Int, reference: Bool, value: Float = 0.5) {
        h.receive(WireMessage(.image, ImageItem(job: job, index: index, reference: reference), blobs: [pixels(value)]), from: c1)
    }

    func rejections(_ h: Harness) -> Int {
        h.diagnostics.filter { if case .rejectedMessage(.image, _, _) = $0 { true } else { false } }.count
    }

    func testAFewShotJobCarriesEachPhasesDataAndNothingElse() throws {
        var settings = CoordinatorSettings()
        settings.verifySetup = .never
        var h = Harness(settings)
        h.addWorker(w1)
        h.receive(WireMessage(.submit, SubmitRequest(options: JobOptions(className: "tile"), referenceCount: 2, imageCount: 3, wantMaps: false)), from: c1)
        let job = try XCTUnwrap(h.take(c1, .accepted).first).decode(Accepted.self).job
        XCTAssertEqual(h.machine.phase(of: job), .references)
        guard case .references(let collecting)? = h.machine.jobs[job]?.state else { return XCTFail("\(String(describing: h.machine.jobs[job]?.state))") }
        XCTAssertEqual(collecting.model.fingerprint, "fp", "pinned at ACCEPTED")

        // An image before the references: it waits with them.
        send(&h, job: job, index: 0, reference: false)
        send(&h, job: job, index: 0, reference: true, value: 0.1)
        XCTAssertEqual(h.machine.jobs[job]?.referencesState?.pixels.count, 1)
        XCTAssertEqual(h.machine.jobs[job]?.unansweredImages, 1)
        send(&h, job: job, index: 0, reference: false)
        XCTAssertEqual(rejections(h), 1, "a repeated image is refused")

        // The K-th reference starts setup: the references move into the references unit.
        send(&h, job: job, index: 1, reference: true, value: 0.2)
        XCTAssertEqual(h.machine.phase(of: job), .setup)
        let setup = try XCTUnwrap(h.machine.jobs[job]?.setup)
        XCTAssertEqual(Set(setup.checks.keys), [.text, .references])
        XCTAssertEqual(Array(setup.waitingImages.keys), [0], "the early image came along")
        XCTAssertFalse(setup.referenceKey.isEmpty)
        send(&h, job: job, index: 0, reference: true)
        XCTAssertEqual(rejections(h), 2, "no reference once setup started")
        send(&h, job: job, index: 1, reference: false)
        XCTAssertEqual(h.machine.jobs[job]?.setup?.waitingImages.count, 2)

        // Text and references answered: scoring, with the waiting images' units queued.
        for message in h.take(w1, .unit) {
            let spec = try message.unitSpec()
            var result = Harness.result(for: spec, score: 0.25)
            if case .references = spec.work {
                let vectors = ReferenceVectors(count: 2, patchTokens: [Float](repeating: 0.1, count: 8),
                                               windows: spec.options.scales.map { _ in [Float](repeating: 0.1, count: 8) })
                result = UnitReply.references(vectors).encode(job: spec.job, unit: spec.unit)
            }
            h.receive(result, from: w1)
        }
        XCTAssertEqual(h.machine.phase(of: job), .scoring)
        let scoring = try XCTUnwrap(h.machine.jobs[job]?.scoring)
        XCTAssertEqual(Set(scoring.images.keys), [0, 1])
        XCTAssertEqual(scoring.context.type, .context)
        XCTAssertNil(h.machine.jobs[job]?.setup, "setup's data is gone with its phase")
        XCTAssert(h.diagnostics.contains(.setupReady(job, fewShot: true)), "\(h.diagnostics)")
        let units = try XCTUnwrap(h.machine.unitCounts(of: job))
        XCTAssertGreaterThan(units.pending + units.inFlight, 0)
        send(&h, job: job, index: 2, reference: false)
        XCTAssertEqual(h.machine.jobs[job]?.scoring?.images.count, 3, "scoring queues new images at once")
    }

    func testAnImageForAJobStillWaitingForWorkersIsRefused() throws {
        var h = Harness()
        h.receive(WireMessage(.submit, SubmitRequest(options: JobOptions(className: "tile"), referenceCount: 0, imageCount: 1, wantMaps: false)), from: c1)
        XCTAssertEqual(h.machine.jobCount, 1)
        XCTAssertEqual(h.machine.phase(of: 101), .waitingForWorkers)
        XCTAssertNil(h.machine.jobs[101]?.model, "no model before ACCEPTED")
        send(&h, job: 101, index: 0, reference: false)
        XCTAssertEqual(rejections(h), 1)
        XCTAssertEqual(try h.take(c1, .jobDone).first?.decode(JobSummary.self).retryable, true, "told it does not know the job")
    }
}
