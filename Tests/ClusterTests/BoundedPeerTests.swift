import Foundation
import Options
import XCTest
@testable import Coordinator
@testable import Protocol
@testable import Transport

/// Issue 17, item 4: what a peer sends is bounded before it costs memory or log. Driven on the
/// machine (fake clock, fake peers).
final class BoundedPeerTests: XCTestCase {
    typealias Harness = CoordinatorMachineTests.Harness
    let w1 = PeerID("worker-1".utf8), c1 = PeerID("client-1".utf8)
    static let tinyModel = CoordinatorModel(name: "tiny", configHash: "0123456789abcdef", imageSize: 48, gridSize: 6, embedDim: 32, visionWidth: 64)

    func ready(_ name: String = "host:1", imageSize: Int = 48, gridSize: Int = 6, fingerprint: String = "0123456789abcdef-ffffffffffffffff") -> WireMessage {
        WireMessage(.ready, Ready(fingerprint: fingerprint, model: "tiny", imageSize: imageSize, gridSize: gridSize, name: name))
    }

    func testImplausibleOrForeignReadyIsRefusedAndLoggedOnceAndShort() {
        var settings = CoordinatorSettings()
        settings.model = Self.tinyModel
        var h = Harness(settings)
        let refused: [WireMessage] = [
            ready(imageSize: -1),
            ready(gridSize: 1_000_000_000),
            ready(String(repeating: "n", count: 10_000)),
            ready(imageSize: 64, gridSize: 8),  // plausible, but not the coordinator's model
            ready(fingerprint: "fedcba9876543210-ffffffffffffffff"),  // another config's hash
        ]
        for (i, message) in refused.enumerated() {
            let peer = PeerID("bad-\(i)".utf8)
            for _ in 0..<3 { h.receive(message, from: peer) }
        }
        XCTAssertEqual(h.machine.workerCount, 0)
        let problems = h.diagnostics.compactMap { if case .refusedReady(_, let problem) = $0 { problem } else { nil } }
        XCTAssertEqual(problems, [.implausibleGeometry(imageSize: -1, gridSize: 6), .implausibleGeometry(imageSize: 48, gridSize: 1_000_000_000),
                                  .tooLong(field: "name", characters: 10_000),
                                  .otherGeometry(imageSize: 64, gridSize: 8, model: Self.tinyModel),
                                  .otherConfig(fingerprint: "fedcba9876543210-ffffffffffffffff", model: Self.tinyModel)],
                       "once per connection: \(h.diagnostics)")
        XCTAssert(h.diagnostics.allSatisfy { $0.message.count <= PeerText.maxLine }, "no long line")
        // The issue's 500 KB name does not even parse: its body exceeds 64 KiB.
        let huge = ready(String(repeating: "n", count: 500_000))
        h.receive(huge, from: PeerID("bad-huge".utf8))
        XCTAssertThrowsError(try WireMessage(frames: huge.frames)) { error in
            XCTAssertEqual(h.diagnostics.last, .malformedMessage(from: "an unregistered peer", error: "\(error)"))
        }
        XCTAssertEqual(h.machine.workerCount, 0)
        h.receive(ready(), from: w1)
        XCTAssertEqual(h.machine.workerCount, 1, "the coordinator's model is welcome")
    }

    func testLongClassNamesAndPromptSetsAreRefused() throws {
        var h = Harness()
        h.addWorker(w1)
        XCTAssertNil(h.submit(c1, images: 1, options: JobOptions(className: String(repeating: "x", count: 257))))
        let reason = try XCTUnwrap(h.take(c1, .refused).first).decode(Refused.self).reason
        XCTAssert(reason.contains("257 characters, more than 256"), reason)
        let many = PromptSet(normalStates: (0..<65).map { "n\($0) {}" }, anomalousStates: ["bad {}"], templates: ["a {}."])
        XCTAssertNil(h.submit(c1, images: 1, options: JobOptions(className: "tile", prompts: many)))
        XCTAssert(try XCTUnwrap(h.take(c1, .refused).first).decode(Refused.self).reason.contains("65 entries, more than 64"))
        XCTAssertNotNil(h.submit(c1, images: 1, options: JobOptions(className: String(repeating: "x", count: 256))), "256 is fine")
    }

    /// 50 connections x 4 SUBMITs of a 1 MB class name: each is dropped at the frame parser
    /// (body over 64 KiB), nothing is kept, the log stays small, and an honest job runs.
    func testAFloodOfHugeSubmitsKeepsNothingAndLogsLittle() throws {
        var h = Harness()
        h.addWorker(w1)
        let huge = WireMessage(.submit, SubmitRequest(options: JobOptions(className: String(repeating: "x", count: 1 << 20)), referenceCount: 0, imageCount: 1, wantMaps: false))
        XCTAssertGreaterThan(huge.body.count, WireMessage.maxBodyBytes)
        let before = h.diagnostics.count
        for connection in 0..<50 {
            for _ in 0..<4 { h.receive(huge, from: PeerID("flood-\(connection)".utf8)) }
        }
        XCTAssertEqual(h.machine.jobCount, 0)
        let flood = h.diagnostics.dropFirst(before)
        XCTAssertEqual(flood.count, 200)
        let bytes = flood.reduce(0) { $0 + $1.message.utf8.count }
        XCTAssertLessThan(bytes, 200 * 300, "about a line of ~150 characters each, never the body")
        XCTAssertThrowsError(try WireMessage(frames: huge.frames)) { error in
            XCTAssert(flood.allSatisfy { $0 == .malformedMessage(from: "an unregistered peer", error: "\(error)") }, "\(flood.first.map { "\($0)" } ?? "")")
        }
        // An honest job is served.
        let job = try XCTUnwrap(h.submit(c1, images: 1, options: JobOptions(className: "tile", task: .classification))).job
        _ = h.answerAll(w1)
        h.sendImage(c1, job: job, index: 0)
        _ = h.answerAll(w1)
        XCTAssertEqual(try h.take(c1, .jobDone).first?.decode(JobSummary.self).scored, 1)
    }

    func testPeerStringsAreCutInLogs() {
        XCTAssertEqual(PeerText.clip("short"), "short")
        let cut = PeerText.clip(String(repeating: "a", count: 1000))
        XCTAssert(cut.hasPrefix(String(repeating: "a", count: 200)) && cut.hasSuffix("(1000 characters)"), cut)
        XCTAssertLessThan(cut.count, 230)
        // A worker's reported error of any length reaches the log cut.
        var h = Harness()
        h.addWorker(w1)
        let job = try! XCTUnwrap(h.submit(c1, images: 1, options: JobOptions(className: "tile", task: .classification))).job
        let text = try! XCTUnwrap(h.take(w1, .unit).first).unitSpec()
        h.receive(WireMessage(.result, UnitResult(job: job, unit: text.unit, error: String(repeating: "e", count: 100_000))), from: w1)
        XCTAssert(h.diagnostics.contains { if case .malformedMessage("worker worker-1", _) = $0 { true } else { false } }, "over 64 KiB: \(h.diagnostics)")
        XCTAssert(h.diagnostics.allSatisfy { $0.message.count <= PeerText.maxLine }, "\(h.diagnostics.map(\.message.count))")
    }

    /// With its model known, the coordinator checks setup answers for its sizes: a text answer
    /// of another embedding size is a bad answer, retried on another worker.
    func testATextAnswerOfAnotherSizeIsABadAnswer() throws {
        var settings = CoordinatorSettings()
        settings.model = Self.tinyModel
        settings.verifySetup = .never
        var h = Harness(settings)
        let w2 = PeerID("worker-2".utf8)
        h.receive(ready("a:1"), from: w1)
        let job = try XCTUnwrap(h.submit(c1, images: 1, options: JobOptions(className: "tile", task: .classification))).job
        h.receive(ready("b:2"), from: w2)
        let text = try XCTUnwrap(h.take(w1, .unit).first).unitSpec()
        let wrong = FloatBlob.encode([Float](repeating: 0.1, count: 33))
        h.receive(WireMessage(.result, UnitResult(job: job, unit: text.unit), blobs: [wrong, wrong]), from: w1)
        XCTAssertEqual(h.machine.phase(of: job), .setup)
        XCTAssertEqual(h.answerAll(w2).map(\.kind), [.text], "retried on the other worker")
        XCTAssertEqual(h.machine.phase(of: job), .scoring)
        XCTAssertEqual(h.machine.workers[w1]?.strikes, 1)
    }
}
