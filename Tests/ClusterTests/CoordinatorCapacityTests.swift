import Foundation
import Options
import XCTest
@testable import Coordinator
@testable import Protocol
@testable import Transport

/// The pieces that keep the coordinator's cost per unit flat (winclip-bench cluster measures
/// it): the unit queue, frames lent to ZeroMQ, and the load benchmark itself.
final class CoordinatorCapacityTests: XCTestCase {
    func unit(_ n: Int) -> UnitTask {
        UnitTask(spec: UnitSpec(job: 1, unit: n, options: JobOptions(className: "x"), work: .fullPass(image: n, pixels: Data(), fewShot: false)))
    }

    func drain(_ queue: inout UnitQueue) -> [Int] {
        var taken: [Int] = []
        while !queue.isEmpty { taken.append(queue.removeFirst().spec.unit) }
        return taken
    }

    func testUnitQueueKeepsOrderAcrossCompactionAndFrontInserts() {
        var queue = UnitQueue()
        XCTAssertNil(queue.first)
        for n in 0..<300 { queue.append(unit(n)) }
        var taken: [Int] = []
        for _ in 0..<200 { taken.append(queue.removeFirst().spec.unit) }  // compacts on the way
        XCTAssertEqual(taken, Array(0..<200))
        XCTAssertEqual(queue.count, 100)
        queue.prepend(unit(1000))  // into a taken slot
        XCTAssertEqual(queue.first?.spec.unit, 1000)
        for n in 300..<310 { queue.append(unit(n)) }
        XCTAssert(queue.contains(unit: 305))
        XCTAssertFalse(queue.contains(unit: 5), "taken units are gone")
        queue.remove(unit: 305)
        queue.remove(unit: 4242)  // absent: nothing changes
        XCTAssertFalse(queue.contains(unit: 305))
        XCTAssertEqual(drain(&queue), [1000] + Array(200..<305) + Array(306..<310))

        var fresh = UnitQueue()
        fresh.prepend(unit(2))  // at the front of an untouched queue
        fresh.prepend(unit(1))
        fresh.append(unit(3))
        XCTAssertEqual(drain(&fresh), [1, 2, 3])
    }

    /// A late unit's copy waits in the queue when no other worker can take it; the original's
    /// answer removes it, so it is never computed twice and the job ends.
    func testLateUnitsQueuedCopyIsDroppedWhenTheOriginalAnswers() throws {
        var settings = CoordinatorSettings()
        settings.setDeadlines(factor: 4, floor: 1, initial: 2)
        settings.quarantineAfter = 10
        var h = CoordinatorMachineTests.Harness(settings)
        let w1 = PeerID("worker-1".utf8), c1 = PeerID("client-1".utf8)
        h.addWorker(w1)
        let job = try XCTUnwrap(h.submit(c1, images: 1, options: JobOptions(className: "tile", task: .classification))).job
        _ = h.answerAll(w1)
        h.sendImage(c1, job: job, index: 0)
        let full = try XCTUnwrap(h.take(w1, .unit).first).unitSpec()
        for _ in 0..<3 {
            h.receive(WireMessage(type: .heartbeat), from: w1)
            h.receive(WireMessage(.heartbeat, JobRef(job: job)), from: c1)
            h.tick(after: 1)
        }
        XCTAssert(h.diagnostics.contains { if case .unitLate(job, full.unit, .full, _, _, _) = $0 { true } else { false } }, "\(h.diagnostics)")
        XCTAssertEqual(h.machine.unitCounts(of: job)?.pending, 1, "the copy waits: the only worker already holds the unit")
        h.receive(CoordinatorMachineTests.Harness.result(for: full, score: 0.7), from: w1)
        XCTAssertEqual(try h.take(c1, .imageResult).first?.score(), 0.7)
        XCTAssertNil(h.machine.phase(of: job), "done, with no copy left to compute")
        XCTAssert(h.take(w1, .unit).isEmpty)
    }

    /// Frames of 64 KiB and more are lent to ZeroMQ, not copied: they arrive intact after the
    /// sender dropped its copy, inproc and over TCP, and a refused send hands the frame back and says so.
    func testLentFramesArriveIntactAndRefusedSendsThrow() throws {
        let context = ZMQContext()
        for endpoint in ["inproc://lent-frames", "tcp://127.0.0.1:*"] {
            let router = try ZMQSocket(context, .router)
            defer { router.close() }
            try router.setRouterMandatory()
            try router.bind(endpoint)
            let dealer = try ZMQSocket(context, .dealer)
            defer { dealer.close() }
            try dealer.connect(router.lastEndpoint)
            let sizes = [ZMQSocket.lendingThreshold - 1, ZMQSocket.lendingThreshold, 1 << 20]
            func pattern(_ size: Int, _ seed: Int) -> Data { Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }) }
            do {
                let frames = sizes.enumerated().map { pattern($1, $0) }
                try dealer.send([Data("hello".utf8)] + frames)
            }  // the sender's frames are released here; ZeroMQ still holds the lent ones
            let received = try XCTUnwrap(router.receive(timeoutMs: 10_000))
            XCTAssertEqual(received.count, 2 + sizes.count, endpoint)
            for (i, size) in sizes.enumerated() { XCTAssertEqual(received[2 + i], pattern(size, i), "\(endpoint) frame \(i)") }
            // Back to the dealer, and to a peer that does not exist (refused at once).
            let back = pattern(256 << 10, 9)
            try router.send([received[0], back])
            XCTAssertEqual(try XCTUnwrap(dealer.receive(timeoutMs: 10_000)), [back])
            XCTAssertThrowsError(try router.send([Data("nobody".utf8), back], dontWait: true), endpoint)
            // A lent frame that cannot go (a dealer connected to nothing would block): handed
            // back, and the send says so (EAGAIN survives the message's release).
            let lonely = try ZMQSocket(context, .dealer)
            defer { lonely.close() }
            XCTAssertFalse(try lonely.send([back], dontWait: true), endpoint)
            XCTAssertEqual(back, pattern(256 << 10, 9), "the refused frame is untouched")
        }
    }

    /// `winclip-bench cluster` runs a job through the real coordinator with simulated workers
    /// and reports every image scored (its figures are the benchmark's, not asserted here).
    func testLoadBenchmarkScoresEveryImage() throws {
        let bench = ManagedProcess.binDirectory.appendingPathComponent("winclip-bench")
        guard FileManager.default.isExecutableFile(atPath: bench.path) else {
            return XCTFail("\(bench.path) is missing: swift build --build-tests builds it")
        }
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: logs) }
        let config = clusterFixtures.appendingPathComponent("tiny-vit-48.json").path
        for (transport, task) in [("inproc", "segmentation"), ("tcp", "classification")] {
            let run = try ManagedProcess("winclip-bench", ["cluster", "--simulated-workers", "6", "--images", "30", "--model-config", config,
                                                          "--transport", transport, "--task", task],
                                         logDirectory: logs, name: "\(transport)-\(task)")
            defer { run.stop() }
            XCTAssert(run.wait(seconds: 120), "the benchmark did not finish: \(run.output)")
            XCTAssertEqual(run.process.terminationStatus, 0, run.output)
            XCTAssert(run.output.contains("images: 30 scored, 0 failed"), run.output)
            XCTAssert(run.output.contains(task == "segmentation" ? "6 unit(s) per image" : "1 unit(s) per image"), run.output)
            XCTAssert(run.output.contains("unit round trips per CPU second"), run.output)
        }
    }
}
