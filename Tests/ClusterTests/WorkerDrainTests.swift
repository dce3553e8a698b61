import Foundation
import Options
import XCTest
@testable import Protocol

/// SIGTERM on a worker (systemd's stop): the worker finishes the unit in hand, hands back the
/// one it prefetched and says BYE (WorkerMachineTests); here the coordinator's side: what the
/// leaving worker held goes at once to another worker, and the job loses nothing.
final class WorkerDrainTests: XCTestCase {
    typealias Harness = CoordinatorMachineTests.Harness
    let w1 = PeerID("worker-1".utf8), w2 = PeerID("worker-2".utf8), c1 = PeerID("client-1".utf8)

    func testALeavingWorkersUnitsGoToAnotherAndTheJobCompletes() throws {
        var h = Harness()
        h.addWorker(w1)
        let job = try XCTUnwrap(h.submit(c1, images: 2)).job
        _ = h.answerAll(w1)
        h.sendImage(c1, job: job, index: 0)
        h.sendImage(c1, job: job, index: 1)
        let held = h.take(w1, .unit)
        XCTAssertEqual(held.count, 2, "one computing, one prefetched")
        h.addWorker(w2)
        // w1 drains: answers the unit in hand, drops the prefetched one, says BYE.
        h.receive(Harness.result(for: try held[0].unitSpec(), score: 0.25), from: w1)
        _ = h.take(w1, .unit)  // a unit sent while it was leaving: handed back too
        h.receive(WireMessage(type: .bye), from: w1)
        XCTAssertEqual(h.machine.workerCount, 1)
        XCTAssert(h.events.contains(.unitRequeued(.windows)) || h.events.contains(.unitRequeued(.full)), "\(h.events)")
        var rounds = 0
        while h.machine.phase(of: job) != nil && rounds < 30 { _ = h.answerAll(w2); rounds += 1 }
        let done = try XCTUnwrap(h.take(c1, .jobDone).first?.decode(JobSummary.self))
        XCTAssertEqual([done.scored, done.failed], [2, 0], "nothing lost")
    }
}
