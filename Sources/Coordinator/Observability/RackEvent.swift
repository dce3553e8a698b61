import Foundation
import Protocol
import Transport

/// What the coordinator's machine reports for operators to count (`CoordinatorAction.observe`):
/// the loop hands each to `RackMetrics`, or drops it when metrics are off.
public enum RackEvent: Equatable, Sendable {
    /// A worker answered a unit it held (`failed`: it answered with an error).
    case unitAnswered(UnitKind, failed: Bool, seconds: Double)
    /// A unit was held past its deadline and queued for another worker too.
    case unitLate(UnitKind)
    /// A unit went back to the queue (its worker left, went silent or reconnected).
    case unitRequeued(UnitKind)
    /// An image was answered to its client: scored, or an error row.
    case imageAnswered(scored: Bool)
    /// A peer was turned away.
    case peerRefused(RefusalReason)
}

/// Why a peer was turned away (`winclip_peers_refused_total{reason}`).
public enum RefusalReason: String, Sendable, CaseIterable {
    /// A CURVE handshake with a key of no authorised folder (or a plain handshake under curve).
    case unknownKey = "unknown_key"
    /// A message its key's role may not send (a client's READY, a worker's SUBMIT...).
    case wrongRole = "wrong_role"
    /// Over `max_messages_per_second`: cut off for a while.
    case rateLimit = "rate_limit"
    /// Over a per-client limit (jobs at once, references per job).
    case limit
    /// Its key was revoked or replaced while connected.
    case revokedKey = "revoked_key"
}

/// The outcome label of `winclip_units_total{kind,outcome}`.
public enum UnitOutcome: String, Sendable, CaseIterable {
    case ok, failed, late, requeued
}

extension ZAPHandler.Answer {
    /// The handshake was accepted (ZAP status 200); anything else refuses the peer.
    var accepted: Bool { reply.count > 2 && reply[2] == Data("200".utf8) }
}
