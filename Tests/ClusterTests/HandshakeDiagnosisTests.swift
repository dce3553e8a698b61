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
        var failure = try XCTUnwrap(keyless.lastFailure)
        XCTAssert(failure.contains(endpoint) && failure.contains("speaks CURVE") && failure.contains("authorized_clients"), failure)

        var curve = HandshakeDiagnosis(endpoint: endpoint, role: .worker, key: key)
        curve.record(event: ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, value: UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH))
        failure = try XCTUnwrap(curve.lastFailure)
        XCTAssert(failure.contains("does not speak CURVE") && failure.contains("security.mode"), failure)

        curve.record(event: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, value: 400)
        failure = try XCTUnwrap(curve.lastFailure)
        XCTAssert(failure.contains("refused this worker's key \(key.fingerprint)") && failure.contains("authorized_workers") && failure.contains(endpoint), failure)

        curve.record(event: ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, value: 104)
        failure = try XCTUnwrap(curve.lastFailure)
        XCTAssert(failure.contains("coordinator_public_key") && failure.contains(endpoint), failure)
        XCTAssertEqual(curve.failuresSinceSuccess, 3)
        XCTAssertFalse(curve.socketGaveUp, "libzmq reconnects after a lost connection")
        XCTAssertTrue(curve.isHopeless(after: 3))
        XCTAssertTrue(keyless.socketGaveUp, "...but not after a protocol error")
        XCTAssertTrue(keyless.isHopeless(after: 3))
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
