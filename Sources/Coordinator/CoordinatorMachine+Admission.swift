import Foundation
import Protocol
import Transport

/// What the coordinator remembers to apply its admission rules.
struct AdmissionState {
    /// (identity, message type) refusals already logged: a refused peer that keeps trying is
    /// logged once per key, not once per attempt.
    var loggedRefusals: Set<String> = []
    /// Opaque worker names handed out ("worker-N"), when workers are not named by key.
    var anonymousWorkers = 0
}

/// Roles, per-client limits, disconnection and revocation: the rules that keep one peer from
/// acting for another or exhausting the coordinator (docs/security.md).
extension CoordinatorMachine {
    /// The role a message type needs: READY and RESULT come from workers; SUBMIT, IMAGE and
    /// CANCEL from clients; HEARTBEAT and BYE from either. No `default`: a new message type
    /// must be given its role here.
    static func role(needed type: MessageType) -> PeerRole? {
        switch type {
        case .ready, .result: return .worker
        case .submit, .image, .cancel: return .client
        case .heartbeat, .bye: return nil
        // Any key may ask; what it sees depends on its role (CoordinatorMachine+Status.swift).
        case .statusRequest: return nil
        // What only the coordinator sends: ignored when it arrives, from anyone.
        case .unit, .context, .accepted, .refused, .imageResult, .jobDone, .status, .statusReply: return nil
        }
    }

    /// Whether a message of `type` from this identity is handled; a refusal is logged once per
    /// key and type, and a refused SUBMIT is answered with REFUSED so that the user learns why.
    mutating func admit(_ type: MessageType, from peer: PeerID, as identity: PeerIdentity) -> Bool {
        guard let needed = Self.role(needed: type), !identity.allows(needed) else { return true }
        if admission.loggedRefusals.count < 4096, admission.loggedRefusals.insert("\(identity)|\(type)").inserted {
            observe(.peerRefused(.wrongRole))
            diagnose(.refusedRole(type, identity: identity))
        }
        if type == .submit {
            refuse(peer, .notAClient(identity))
        }
        return false
    }

    /// A READY that cannot be believed: the worker is not registered (it gets no unit), and
    /// the reason is logged once per connection.
    mutating func refuseReady(_ ready: Ready, from peer: PeerID, _ problem: ReadyProblem) {
        if workers[peer] != nil { workerLeft(peer, .unusableModel) }
        guard admission.loggedRefusals.count < 4096, admission.loggedRefusals.insert("READY|\(peer.base64EncodedString())").inserted else { return }
        diagnose(.refusedReady(worker: PeerText.clip(ready.name), problem))
    }

    /// The name clients see for a worker: its key's name, or an opaque "worker-N"; its
    /// self-declared host:pid only when the operator asks for it (`reveal_worker_hosts`).
    mutating func publicName(for info: Ready, identity: PeerIdentity) -> String {
        if settings.revealWorkerHosts { return info.name }
        if let name = identity.keyName { return name }
        admission.anonymousWorkers += 1
        return "worker-\(admission.anonymousWorkers)"
    }

    /// Why a SUBMIT exceeds this coordinator's limits, if it does.
    func submitLimitRefusal(_ request: SubmitRequest, from peer: PeerID, as identity: PeerIdentity) -> JobRefusal? {
        if request.referenceCount > settings.maxReferences {
            return .tooManyReferences(request.referenceCount, limit: settings.maxReferences)
        }
        let running = jobs.values.filter { identity == .anyone ? $0.client == peer && $0.owner == .anyone : $0.owner == identity }.count
        if running >= settings.maxJobsPerClient {
            return .tooManyJobs(running: running)
        }
        return nil
    }

    /// The loop cut a peer off (PeerAdmission: over its message rate, or its key was replaced),
    /// which is counted and logged here; as a worker it is gone (its units go back to the
    /// queue), as a client its jobs are cancelled.
    public mutating func disconnect(_ peer: PeerID, _ reason: DisconnectReason, at now: Double) -> [CoordinatorAction] {
        switch reason {
        case .tooManyMessages: observe(.peerRefused(.rateLimit))
        case .keyLost: observe(.peerRefused(.revokedKey))
        }
        diagnose(.cutOff(peer: describe(peer), reason))
        workerLeft(peer, .cutOff(reason))
        for id in jobOrder where jobs[id]?.client == peer {
            finish(id, .cancelled(.clientCutOff(reason)), at: now)
        }
        dispatch(at: now)
        return takeActions()
    }

    /// Keys removed from the authorised folders (SIGHUP): their workers and jobs go at once,
    /// and cached setups they produced are dropped.
    public mutating func revoke(_ identities: Set<PeerIdentity>, at now: Double) -> [CoordinatorAction] {
        guard !identities.isEmpty else { return [] }
        let revokedWorkers = workers.all.filter { identities.contains($0.identity) }
        let principals = Set(identities.compactMap(\.principal))
        for w in revokedWorkers { workerLeft(w.peer, .keyRevoked) }
        for id in jobOrder where jobs[id].map({ identities.contains($0.owner) }) == true {
            finish(id, .cancelled(.clientKeyRevoked), at: now)
        }
        let dropped = setupCache.remove(producedBy: principals)
        diagnose(.revoked(identities.sorted { $0.description < $1.description }, workersDropped: revokedWorkers.count, setupsDiscarded: dropped))
        dispatch(at: now)
        return takeActions()
    }
}
