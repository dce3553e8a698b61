import Foundation
import Options
import XCTest
@testable import Protocol
@testable import Submit

/// A submit whose coordinator does not answer says so within 10 s, naming the endpoint, and
/// keeps trying (fake clock: the machine is driven with explicit times).
final class SubmitWaitingTests: XCTestCase {
    let request = SubmitRequest(options: JobOptions(className: "x"), referenceCount: 0, imageCount: 2, wantMaps: false)

    func waits(_ actions: [SubmitAction]) -> [Int] {
        actions.compactMap { if case .diagnostic(.waitingForCoordinator(let s)) = $0 { return s }; return nil }
    }
    func heartbeats(_ actions: [SubmitAction]) -> Int {
        actions.filter { if case .send(let m) = $0 { return m.type == .heartbeat }; return false }.count
    }

    func testASilentCoordinatorIsReportedWithinTenSecondsAndTheSubmitKeepsTrying() throws {
        var m = SubmitMachine(request: request, at: 100)
        _ = m.start()
        var notices: [(at: Double, seconds: Int)] = []
        var beats = 0
        var now = 100.0
        while now < 140 {  // 40 s of silence, ticks every half second as the I/O loop does
            now += 0.5
            let actions = m.tick(at: now)
            notices += waits(actions).map { (now, $0) }
            beats += heartbeats(actions)
        }
        let first = try XCTUnwrap(notices.first)
        XCTAssertLessThanOrEqual(first.at - 100, 10, "the first notice comes within 10 s")
        XCTAssertEqual(first.seconds, Int((first.at - 100).rounded()))
        XCTAssertGreaterThan(notices.count, 1, "repeated while the silence lasts")
        XCTAssertFalse(m.isOver, "still trying")
        XCTAssertGreaterThan(beats, 30, "still knocking")
        // Once the coordinator speaks (even only to say it waits for workers), no more notices.
        XCTAssertEqual(m.received(WireMessage(.status, StatusNote(job: 1, message: "waiting for workers")).frames, at: now),
                       [.diagnostic(.coordinatorStatus("waiting for workers"))])
        guard case .submitting(_, .heard) = m.phase else { return XCTFail("\(m.phase)") }
        var later: [Int] = []
        for t in stride(from: now + 0.5, through: now + 50, by: 0.5) { later += waits(m.tick(at: t)) }
        XCTAssertEqual(later, [])
    }

    /// The endpoint in the sentence is the contract (the user must see where the submit knocks).
    func testTheNoticeNamesTheEndpoint() {
        let text = SubmitDiagnostic.waitingForCoordinator(seconds: 5).message(endpoint: "tcp://10.9.8.7:5555")
        XCTAssert(text.contains("tcp://10.9.8.7:5555"), text)
    }

    /// After `connectTimeout` of silence the submit gives up with a typed error, which the client
    /// turns into a sentence naming the endpoint.
    func testGivingUpNamesTheEndpoint() throws {
        var m = SubmitMachine(request: request, at: 0)
        _ = m.start()
        var failure: SubmitError?
        var now = 0.0
        while failure == nil && now < 120 {
            now += 0.5
            for case .finished(.failure(let error)) in m.tick(at: now) { failure = error }
        }
        let error = try XCTUnwrap(failure)
        XCTAssertEqual(error.noAnswerWithin, Int(SubmitSettings().connectTimeout))
        let named = error.naming(endpoint: "tcp://10.9.8.7:5555")
        XCTAssertEqual(named.reason, .noAnswer(within: Int(SubmitSettings().connectTimeout), endpoint: "tcp://10.9.8.7:5555"))
        // The sentence the user reads names it (the contract of this error).
        XCTAssert(named.description.contains("tcp://10.9.8.7:5555"), named.description)
        XCTAssertEqual(SubmitError("other").naming(endpoint: "tcp://x:1"), SubmitError("other"))
    }

    func testAnAnsweringCoordinatorGetsNoNotice() {
        var m = SubmitMachine(request: request, at: 0)
        _ = m.start()
        _ = m.received(WireMessage(.accepted, Accepted(job: 1, imageSize: 48, fingerprint: "fp", model: "tiny", credit: 2)).frames, at: 0.2)
        var notices: [Int] = []
        for t in stride(from: 0.5, through: 9.5, by: 0.5) { notices += waits(m.tick(at: t)) }
        XCTAssertEqual(notices, [])
    }
}
