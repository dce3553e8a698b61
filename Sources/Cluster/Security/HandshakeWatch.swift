import CLibZMQ
import Foundation

/// The CURVE handshake outcomes of a worker's or client's DEALER (a libzmq socket monitor on
/// an inproc PAIR), so that a key the coordinator refuses is reported at once instead of as
/// a silent coordinator. Used by the thread that owns the socket.
final class HandshakeWatch {
    private let monitor: ZMQSocket
    private let key: CurveKey
    private let role: PeerRole

    init(context: ZMQContext, socket: ZMQSocket, key: CurveKey, role: PeerRole) throws {
        let endpoint = "inproc://winclip-handshake-\(UUID().uuidString)"
        try socket.monitor(endpoint, events: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                           | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        monitor = try ZMQSocket(context, .pair)
        try monitor.connect(endpoint)
        self.key = key
        self.role = role
    }

    deinit { monitor.close() }

    /// Why the latest handshake failed, if one did since the last call.
    func failure() -> String? {
        var found: String?
        while let frames = try? monitor.receive(timeoutMs: 0), let event = ZMQSocket.readMonitorEvent(frames) {
            switch Int32(event.event) {
            case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
                found = "the coordinator refused this \(role)'s key \(key.fingerprint) (ZAP status \(event.value)): its public key (NAME.key) must be in the coordinator's authorized_\(role)s folder, then `kill -HUP` the coordinator (docs/security.md)"
            case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
                found = "the CURVE handshake with the coordinator failed (protocol error 0x\(String(event.value, radix: 16))): is security.coordinator_public_key the coordinator's key, and does the coordinator run security.mode curve?"
            case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
                found = "the handshake with the coordinator failed (errno \(event.value))"
            default:
                break
            }
        }
        return found
    }
}
