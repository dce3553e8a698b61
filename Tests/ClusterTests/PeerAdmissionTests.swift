import Foundation
import XCTest
import Protocol
@testable import Coordinator
@testable import Transport

/// The policy the coordinator loop applies before the machine sees a frame (PeerAdmission):
/// message rate, who a key is, connections whose key is gone, and key reloads. Driven
/// directly with a fake clock and made-up ZAP user ids.
final class PeerAdmissionTests: XCTestCase {
    let rack1 = try! CurveKeyPair.generate().publicKey, rack2 = try! CurveKeyPair.generate().publicKey
    let alice = try! CurveKeyPair.generate().publicKey
    let p1 = PeerID([1]), p2 = PeerID([2]), p3 = PeerID([3])

    func ring(_ entries: [(CurveKey, String, PeerRole)]) -> KeyRing {
        KeyRing(entries.map { KeyRing.Entry(key: $0.0, name: $0.1, role: $0.2, file: "\($0.1).key") })
    }

    func testWithoutAuthenticationEveryoneIsAnyoneWithinTheRate() {
        var admission = PeerAdmission(limiter: PeerRateLimiter(messagesPerSecond: 100, burstSeconds: 1, banSeconds: 5), keyRing: nil)
        XCTAssertEqual(admission.frame(from: p1, userID: nil, at: 0), .admit(.anyone))
        XCTAssertEqual(admission.frame(from: p1, userID: "whatever", at: 0), .admit(.anyone), "no ring: user ids mean nothing")
        var outcomes: [PeerAdmission.Outcome] = []
        for _ in 0..<200 { outcomes.append(admission.frame(from: p2, userID: nil, at: 0.5)) }
        let cut = outcomes.filter { if case .cutOff = $0 { true } else { false } }
        XCTAssertEqual(cut, [.cutOff(.tooManyMessages(perSecond: 100, banSeconds: 5))], "cut off once")
        XCTAssertEqual(outcomes.last, .drop, "then dropped unread")
        XCTAssertEqual(admission.frame(from: p1, userID: nil, at: 0.5), .admit(.anyone), "another peer is not affected")
        XCTAssertEqual(admission.frame(from: p2, userID: nil, at: 6), .admit(.anyone), "after the ban it starts afresh")
    }

    func testKeysAreLookedUpPerFrameAndALostKeyIsCutOffOnce() {
        let first = ring([(rack1, "rack-01", .worker), (alice, "alice", .client)])
        var admission = PeerAdmission(limiter: PeerRateLimiter(messagesPerSecond: 1000), keyRing: first)
        XCTAssertEqual(admission.frame(from: p1, userID: rack1.z85, at: 0), .admit(.key(name: "rack-01", role: .worker)))
        XCTAssertEqual(admission.frame(from: p2, userID: alice.z85, at: 0), .admit(.key(name: "alice", role: .client)))
        // A connection whose key is in no folder (revoked since its handshake, or none at all).
        XCTAssertEqual(admission.frame(from: p3, userID: rack2.z85, at: 0), .cutOff(.keyLost))
        XCTAssertEqual(admission.frame(from: p3, userID: rack2.z85, at: 0), .drop, "reported once")
        XCTAssertEqual(admission.frame(from: p3, userID: nil, at: 0), .drop)
        // A reload that removes rack-01 and adds rack-02.
        let revoked = admission.reload(ring([(rack2, "rack-02", .worker), (alice, "alice", .client)]))
        XCTAssertEqual(revoked, [.key(name: "rack-01", role: .worker)])
        XCTAssertEqual(admission.frame(from: p1, userID: rack1.z85, at: 1), .cutOff(.keyLost), "rack-01's open connection is refused at once")
        XCTAssertEqual(admission.frame(from: p3, userID: rack2.z85, at: 1), .admit(.key(name: "rack-02", role: .worker)), "now known")
        XCTAssertEqual(admission.frame(from: p2, userID: alice.z85, at: 1), .admit(.key(name: "alice", role: .client)), "unchanged")
    }

    func testTheSetOfPeersWithoutAKeyIsBounded() {
        var admission = PeerAdmission(limiter: PeerRateLimiter(messagesPerSecond: 1000), keyRing: ring([(rack1, "rack-01", .worker)]))
        var cut = 0
        for i in 0..<(PeerAdmission.maxUnknownPeers + 100) {
            let peer = withUnsafeBytes(of: UInt32(i)) { PeerID($0) }
            if admission.frame(from: peer, userID: rack2.z85, at: 0) == .cutOff(.keyLost) { cut += 1 }
        }
        XCTAssertEqual(admission.unknownPeers.count, PeerAdmission.maxUnknownPeers)
        XCTAssertEqual(cut, PeerAdmission.maxUnknownPeers, "past the bound frames are dropped, not remembered")
        _ = admission.reload(ring([(rack1, "rack-01", .worker)]))
        XCTAssert(admission.unknownPeers.isEmpty, "a reload looks at every connection afresh")
    }

    /// The machine's side of a cut-off: counted, logged as a fact, and the peer's work undone.
    func testACutOffIsCountedAndDiagnosed() throws {
        var h = CoordinatorMachineTests.Harness()
        h.addWorker(p1)
        h.perform(h.machine.disconnect(p1, .keyLost, at: 0))
        XCTAssertEqual(h.machine.workerCount, 0)
        XCTAssertEqual(h.events, [.peerRefused(.revokedKey)])
        XCTAssert(h.diagnostics.contains { if case .cutOff(_, .keyLost) = $0 { true } else { false } }, "\(h.diagnostics)")
        XCTAssert(h.diagnostics.contains { if case .workerLeft(_, .cutOff(.keyLost), 0) = $0 { true } else { false } }, "\(h.diagnostics)")
    }
}
