import Logging

/// What the ZAP handler has to say about one handshake: the facts, for the coordinator loop to
/// log (and tests to check); the sentences are here, in `level` and `message`.
package enum ZAPDiagnostic: Equatable, Sendable {
    /// Not a ZAP 1.0 request (libzmq never sends one).
    case malformedRequest(frames: Int)
    /// The peer's mechanism is not the one `security.mode` asks for.
    case wrongMechanism(offered: String, expected: ZAPHandler.Mechanism, address: String)
    /// A CURVE key in neither key folder (said once per key).
    case unknownKey(fingerprint: String, publicKey: String, address: String)
    case accepted(identity: PeerIdentity, fingerprint: String, address: String)

    package var level: Logger.Level {
        switch self {
        case .malformedRequest: return .error
        case .wrongMechanism, .unknownKey: return .warning
        case .accepted: return .debug
        }
    }

    package var message: String {
        switch self {
        case .malformedRequest(let frames):
            return "ZAP: malformed request of \(frames) frame(s)"
        case .wrongMechanism(let offered, .null, let address):
            return "refused a \(PeerText.clip(offered)) handshake from \(address): security.mode is none (the peer has CURVE keys configured)"
        case .wrongMechanism(let offered, .curve, let address):
            return "refused a \(PeerText.clip(offered)) handshake from \(address): security.mode is curve"
        case .unknownKey(let fingerprint, let publicKey, let address):
            return "refused unknown key \(fingerprint) (public key \(publicKey)) from \(address): not in authorized_workers or authorized_clients; further attempts with this key are not logged"
        case .accepted(let identity, let fingerprint, let address):
            return "accepted \(identity) (\(fingerprint)) from \(address)"
        }
    }
}
