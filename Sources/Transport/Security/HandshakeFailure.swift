/// Why a worker's, client's or operator's handshake with the coordinator failed (from libzmq's
/// socket-monitor events, `HandshakeDiagnosis`), with the sentence that names the endpoint and
/// what to change.
package struct HandshakeFailure: Equatable, Sendable, CustomStringConvertible {
    package enum Cause: Equatable, Sendable {
        /// The coordinator's ZAP handler refused this peer's key (or, keyless, the peer).
        case refused(zapStatus: UInt32)
        /// One side speaks CURVE, the other not; `coordinatorSpeaksCurve` says which.
        case mechanismMismatch(coordinatorSpeaksCurve: Bool)
        /// Another ZMTP protocol error (`code`, libzmq's ZMQ_PROTOCOL_ERROR_*).
        case protocolError(code: UInt32)
        /// The coordinator hung up mid-handshake (under CURVE: it cannot read a HELLO sealed
        /// for another server key).
        case closedMidHandshake(errno: UInt32)
    }

    package let cause: Cause
    package let endpoint: String
    package let role: PeerRole
    /// This peer's CURVE key; nil under `security.mode: none`.
    package let key: CurveKey?

    package var description: String {
        switch cause {
        case .refused(let status):
            let whose = key.map { "this \(role)'s key \($0.fingerprint)" } ?? "this \(role)"
            return "the coordinator refused \(whose) (ZAP status \(status) from \(endpoint)): its public key (NAME.key) must be in the coordinator's authorized_\(role)s folder, then `kill -HUP` the coordinator (docs/security.md)"
        case .mechanismMismatch(coordinatorSpeaksCurve: true):
            return "the coordinator at \(endpoint) speaks CURVE (its security.mode is curve) and this \(role) has security.mode none: set security.mode: curve, security.coordinator_public_key and security.secret_key (a key in the coordinator's authorized_\(role)s; docs/security.md)"
        case .mechanismMismatch(coordinatorSpeaksCurve: false):
            return "the coordinator at \(endpoint) does not speak CURVE (its security.mode is none) and this \(role) has security.mode curve: use the same security.mode on both sides"
        case .protocolError(let code):
            return "the handshake with the coordinator at \(endpoint) failed (ZeroMQ protocol error 0x\(String(code, radix: 16))): is security.coordinator_public_key the coordinator's key (it logs the key's fingerprint at start), and do both sides run the same security.mode?"
        case .closedMidHandshake(let errno):
            return key == nil
                ? "the coordinator at \(endpoint) closed the connection during the handshake (errno \(errno)): is something else listening there, or does the coordinator expect CURVE (security.mode)?"
                : "the coordinator at \(endpoint) closed the connection during the CURVE handshake (errno \(errno)): is security.coordinator_public_key the coordinator's public key (it logs the key's fingerprint at start)?"
        }
    }
}
