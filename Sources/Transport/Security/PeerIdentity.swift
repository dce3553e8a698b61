import Foundation

/// What a peer may do: a worker key registers and computes units; a client key submits jobs;
/// an operator key sees the whole rack's status (`winclip-coord status`).
public enum PeerRole: String, Sendable, Hashable, CaseIterable {
    case worker, client, `operator`
}

/// Who sent a message, as the coordinator's transport established it (never as the peer
/// claims): the name and role of the authorised CURVE key that completed the handshake, or
/// `anyone` under `security.mode: none`, where every peer may take every role.
public enum PeerIdentity: Sendable, Hashable, CustomStringConvertible {
    case anyone
    case key(name: String, role: PeerRole)

    public func allows(_ role: PeerRole) -> Bool {
        switch self {
        case .anyone: return true
        case .key(_, let own): return own == role
        }
    }

    /// The key's name (its file name without `.key`), nil when unauthenticated.
    public var keyName: String? {
        if case .key(let name, _) = self { return name }
        return nil
    }

    /// The key's role and name ("worker:NAME"), nil when unauthenticated: whose word a result
    /// is, for setup verification and the cache's provenance.
    public var principal: String? {
        if case .key(let name, let role) = self { return "\(role.rawValue):\(name)" }
        return nil
    }

    public var description: String {
        switch self {
        case .anyone: return "an unauthenticated peer"
        case .key(let name, let role): return "\(role) key '\(name)'"
        }
    }
}
