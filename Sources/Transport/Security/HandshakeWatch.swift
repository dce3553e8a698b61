import CLibZMQ
import Foundation

/// What a worker's or client's failed handshakes with the coordinator mean, from libzmq's
/// socket-monitor events (a pure value: events in, a `HandshakeFailure` out), naming the endpoint and
/// the likely cause instead of leaving the peer to report a silent coordinator.
package struct HandshakeDiagnosis: Equatable {
    let endpoint: String
    let role: PeerRole
    /// This peer's CURVE key; nil under `security.mode: none`.
    let key: CurveKey?
    /// Failed handshakes since the last one that succeeded (libzmq retries every 100 ms or so).
    private(set) var failuresSinceSuccess = 0
    /// Why the latest one failed.
    package private(set) var lastFailure: HandshakeFailure?
    /// The latest failure ends the socket's tries: libzmq does not reconnect after a protocol
    /// error (a refused key, a mechanism mismatch), only after a lost connection.
    private(set) var socketGaveUp = false

    init(endpoint: String, role: PeerRole, key: CurveKey?) {
        self.endpoint = endpoint
        self.role = role
        self.key = key
    }

    mutating func record(event: Int32, value: UInt32) {
        let cause: HandshakeFailure.Cause
        switch event {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            failuresSinceSuccess = 0
            lastFailure = nil
            socketGaveUp = false
            return
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            cause = .refused(zapStatus: value)
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL where value == UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH):
            cause = .mechanismMismatch(coordinatorSpeaksCurve: key == nil)
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
            cause = .protocolError(code: value)
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            cause = .closedMidHandshake(errno: value)
        default:
            return
        }
        failuresSinceSuccess += 1
        lastFailure = HandshakeFailure(cause: cause, endpoint: endpoint, role: role, key: key)
        socketGaveUp = event != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
    }

    /// A client gives up: the socket will not try again, or the connection failed mid-handshake
    /// `times` times in a row (once may be a coordinator restarting).
    package func isHopeless(after times: Int) -> Bool {
        lastFailure != nil && (socketGaveUp || failuresSinceSuccess >= times)
    }
}

/// The handshake outcomes of a worker's or client's DEALER (a libzmq socket monitor on an
/// inproc PAIR), fed to a `HandshakeDiagnosis`. Used by the thread that owns the socket.
package final class HandshakeWatch {
    private let monitor: ZMQSocket
    package var diagnosis: HandshakeDiagnosis

    /// How long a handshake may take before libzmq gives up on it (ZMQ_HANDSHAKE_IVL): a peer
    /// hears why well within 10 s, even from a coordinator that never answers.
    package static let handshakeMilliseconds: Int32 = 5000

    /// Watches `socket` (before it connects to `endpoint`); nil for inproc, which has no handshake.
    package static func watch(_ socket: ZMQSocket, context: ZMQContext, endpoint: String, role: PeerRole, key: CurveKey?) throws -> HandshakeWatch? {
        guard !endpoint.hasPrefix("inproc://") else { return nil }
        try socket.setInt(ZMQ_HANDSHAKE_IVL, handshakeMilliseconds)
        return try HandshakeWatch(context: context, socket: socket, diagnosis: HandshakeDiagnosis(endpoint: endpoint, role: role, key: key))
    }

    private init(context: ZMQContext, socket: ZMQSocket, diagnosis: HandshakeDiagnosis) throws {
        let endpoint = "inproc://winclip-handshake-\(UUID().uuidString)"
        try socket.monitor(endpoint, events: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                           | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        monitor = try ZMQSocket(context, .pair)
        try monitor.connect(endpoint)
        self.diagnosis = diagnosis
    }

    deinit { monitor.close() }

    /// Reads the events since the last call; returns the diagnosis.
    @discardableResult
    package func update() -> HandshakeDiagnosis {
        while let frames = try? monitor.receive(timeoutMs: 0), let event = ZMQSocket.readMonitorEvent(frames) {
            diagnosis.record(event: Int32(event.event), value: event.value)
        }
        return diagnosis
    }
}
