import CLibZMQ
import Foundation
import XCTest
@testable import Transport

/// Issue 17, item 5: peers are told why a handshake fails, naming the endpoint and the likely
/// cause. The events are libzmq's socket-monitor events, fed by hand here; the processes that
/// produce them are in `SecurityProcessTests` (`testPeersAreToldWhyTheirHandshakeFails`).
final class HandshakeDiagnosisTests: XCTestCase {
    let endpoint = "tcp://10.0.0.5:5555"

    func testEachFailureNamesTheEndpointAndTheLikelyCause() throws {
        let key = try CurveKeyPair.generate().publicKey
        var keyless = HandshakeDiagnosis(endpoint: endpoint, role: .client, key: nil)
        keyless.record(event: ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, value: UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH))
        XCTAssertEqual(keyless.lastFailure, HandshakeFailure(cause: .mechanismMismatch(coordinatorSpeaksCurve: true), endpoint: endpoint, role: .client, key: nil))

        var curve = HandshakeDiagnosis(endpoint: endpoint, role: .worker, key: key)
        curve.record(event: ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, value: UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH))
        XCTAssertEqual(curve.lastFailure?.cause, .mechanismMismatch(coordinatorSpeaksCurve: false))
        curve.record(event: ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, value: 0x11)
        XCTAssertEqual(curve.lastFailure?.cause, .protocolError(code: 0x11))
        curve.record(event: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, value: 400)
        XCTAssertEqual(curve.lastFailure, HandshakeFailure(cause: .refused(zapStatus: 400), endpoint: endpoint, role: .worker, key: key))
        curve.record(event: ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, value: 104)
        XCTAssertEqual(curve.lastFailure?.cause, .closedMidHandshake(errno: 104))
        XCTAssertEqual(curve.failuresSinceSuccess, 4)
        XCTAssertFalse(curve.socketGaveUp, "libzmq reconnects after a lost connection")
        XCTAssertTrue(curve.isHopeless(after: 3))
        XCTAssertTrue(keyless.socketGaveUp, "...but not after a protocol error")
        XCTAssertTrue(keyless.isHopeless(after: 3))
    }

    /// The sentences are what a peer prints before it gives up: each must name the endpoint and
    /// the setting to change (that is their contract, so the text is checked here, once).
    func testEachSentenceNamesTheEndpointAndWhatToChange() throws {
        let key = try CurveKeyPair.generate().publicKey
        func sentence(_ cause: HandshakeFailure.Cause, _ role: PeerRole, _ key: CurveKey?) -> String {
            HandshakeFailure(cause: cause, endpoint: endpoint, role: role, key: key).description
        }
        let cases: [(String, [String])] = [
            (sentence(.mechanismMismatch(coordinatorSpeaksCurve: true), .client, nil), ["speaks CURVE", "authorized_clients"]),
            (sentence(.mechanismMismatch(coordinatorSpeaksCurve: false), .worker, key), ["does not speak CURVE", "security.mode"]),
            (sentence(.refused(zapStatus: 400), .worker, key), ["refused this worker's key \(key.fingerprint)", "authorized_workers"]),
            (sentence(.protocolError(code: 0x11), .operator, key), ["0x11", "security.coordinator_public_key"]),
            (sentence(.closedMidHandshake(errno: 104), .worker, key), ["coordinator_public_key"]),
            (sentence(.closedMidHandshake(errno: 104), .client, nil), ["security.mode"]),
        ]
        for (text, parts) in cases {
            for part in [endpoint] + parts { XCTAssert(text.contains(part), "'\(text)' should say '\(part)'") }
        }
    }

    func testASuccessfulHandshakeClearsTheFailures() {
        var d = HandshakeDiagnosis(endpoint: endpoint, role: .client, key: nil)
        d.record(event: ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, value: 0)
        XCTAssertEqual(d.failuresSinceSuccess, 1)
        XCTAssertFalse(d.isHopeless(after: 3), "one lost connection may be a restart")
        d.record(event: ZMQ_EVENT_HANDSHAKE_SUCCEEDED, value: 0)
        XCTAssertEqual(d.failuresSinceSuccess, 0)
        XCTAssertNil(d.lastFailure)
        d.record(event: ZMQ_EVENT_CONNECTED, value: 0)
        XCTAssertNil(d.lastFailure, "other events say nothing")
    }
}
