import Foundation
import Protocol
import Transport

/// Who sent a frame and whether it is read at all, before the coordinator's machine sees it:
/// the per-peer message rate (`PeerRateLimiter`), the key behind a connection (looked up anew
/// in the current `KeyRing` for every frame, so that a key revoked since the handshake is
/// refused), and the connections whose key is gone (bounded, so that a peer cannot grow it).
/// A state machine: events (a frame from a peer with the ZAP user id at a time; a reload with
/// a new ring) in, typed outcomes out; the loop only turns them into I/O.
struct PeerAdmission {
    /// At most this many connections are remembered as having lost their key (each is cut off
    /// once; past the bound their frames are still dropped, only not reported again).
    static let maxUnknownPeers = 4096

    private(set) var limiter: PeerRateLimiter
    /// The keys in force under CURVE; nil: no authentication (every peer is `.anyone`).
    private(set) var keyRing: KeyRing?
    private(set) var unknownPeers: Set<PeerID> = []

    init(limiter: PeerRateLimiter, keyRing: KeyRing?) {
        self.limiter = limiter
        self.keyRing = keyRing
    }

    enum Outcome: Equatable {
        /// Hand the frame to the machine, from this identity.
        case admit(PeerIdentity)
        /// Drop the frame unread (the peer is cut off, or was reported already).
        case drop
        /// Drop it, and cut the peer off (`CoordinatorMachine.disconnect`): said once per peer.
        case cutOff(DisconnectReason)
    }

    /// A frame from `peer`, whose connection the ZAP handler authenticated as `userID`.
    mutating func frame(from peer: PeerID, userID: String?, at now: Double) -> Outcome {
        switch limiter.admit(peer, at: now) {
        case .admit: break
        case .drop: return .drop
        case .cutOff:
            return .cutOff(.tooManyMessages(perSecond: Int(limiter.rate), banSeconds: Int(limiter.banSeconds)))
        }
        guard let keyRing else { return .admit(.anyone) }
        if let userID, let entry = keyRing.entry(z85: userID) { return .admit(entry.identity) }
        guard unknownPeers.count < Self.maxUnknownPeers, unknownPeers.insert(peer).inserted else { return .drop }
        return .cutOff(.keyLost)
    }

    /// The key folders were re-read: the identities the new ring no longer grants (the
    /// machine revokes them), and every connection gets a fresh look-up.
    mutating func reload(_ ring: KeyRing) -> Set<PeerIdentity> {
        let revoked = keyRing?.revoked(in: ring) ?? []
        keyRing = ring
        unknownPeers.removeAll()
        return revoked
    }
}
