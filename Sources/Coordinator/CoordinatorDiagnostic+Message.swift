import Foundation
import Logging
import Protocol
import Transport

/// The English of the coordinator's diagnostics, in one place: the log lines operators read
/// and the notes clients get about the same facts.
extension CoordinatorDiagnostic {
    public var level: Logger.Level {
        switch self {
        case .workerJoined, .workerLeft, .jobSubmitted, .jobAccepted, .setupFromCache, .setupReady, .setupUnverified, .jobDone:
            return .info
        case .jobFailed:
            return .error
        case .jobRefused:
            // Not at the default level: a client flooding refused SUBMITs must not fill the log.
            return .debug
        case .malformedMessage, .unexpectedMessage, .rejectedMessage, .refusedRole, .refusedReady, .cutOff, .revoked, .workerQuarantined, .workerNotUsed, .unitRequeued, .unitLate, .badAnswer,
             .setupTie, .setupDissent, .jobCancelled:
            return .warning
        }
    }

    /// The log line; capped (`PeerText.maxLine`) whatever it quotes: a peer never makes a long one.
    public var message: String { PeerText.clip(text, to: PeerText.maxLine) }

    private var text: String {
        switch self {
        case .malformedMessage(let peer, let error):
            return "dropped a malformed message from \(peer): \(error)"
        case .unexpectedMessage(let type, let peer):
            return "unexpected \(type) from \(peer)"
        case .rejectedMessage(let type, let peer, let error):
            return "rejected \(type) from \(peer): \(error)"
        case .refusedRole(let type, let identity):
            return "refused \(type) from \(identity): only worker keys may register and compute, only client keys may submit; further attempts are not logged"
        case .refusedReady(let worker, let problem):
            return "refused READY of worker \(PeerText.clip(worker)): \(PeerText.clip(problem.description, to: 600)); further refusals of this connection are not logged"
        case .cutOff(let peer, .tooManyMessages(let rate, let ban)):
            return "\(peer) sent more than \(rate) messages a second: cut off for \(ban) s"
        case .cutOff(let peer, .keyLost):
            return "dropping messages of \(peer): its key is no longer authorised"
        case .revoked(let identities, let workers, let setups):
            return "revoked \(identities.map(\.description).sorted().joined(separator: ", ")): \(workers) worker connection(s) dropped, \(setups) cached setup(s) they produced discarded"
        case .workerJoined(let worker, let model, let imageSize, let fingerprint, let count):
            return "worker \(worker) joined: model \(PeerText.clip(model)), input \(imageSize), fingerprint \(PeerText.clip(fingerprint)); \(count) worker(s)"
        case .workerLeft(let worker, let why, let left):
            return "worker \(worker) \(why); \(left) worker(s) left"
        case .workerQuarantined(let worker, let logName, let reason):
            let note = Self.quarantineNote(worker: worker, reason)
            return logName.map { note + " [\($0)]" } ?? note
        case .workerNotUsed:
            return clientNote ?? ""
        case .unitRequeued(let job, let unit, _, let worker, let why):
            return "unit \(unit) of job \(job) re-queued: worker \(worker) \(why)"
        case .unitLate(let job, let unit, let kind, let worker, let held, let deadline):
            return "unit \(unit) of job \(job) (\(kind)) is late on worker \(worker) (\(held) s, deadline \(deadline) s): another worker computes it too"
        case .badAnswer(let job, let unit, let kind, let attempt, let most, let worker, let reason):
            return "job \(job) unit \(unit) (\(kind)): bad answer \(attempt) of at most \(most), from worker \(worker): \(PeerText.clip(reason))"
        case .jobRefused(let peer, let refusal):
            return "refused a SUBMIT from \(peer): \(refusal.message)"
        case .jobSubmitted(let id, let request):
            let o = request.options
            return "job \(id): \(request.imageCount) image(s), class '\(o.className ?? "")', \(request.referenceCount)-shot, scales \(o.scales), \(o.windowAttention.rawValue) attention, \(o.task.rawValue)"
        case .jobAccepted(let id, let model, let fingerprint, let workers, let units):
            return "job \(id) accepted on model \(model) [\(fingerprint)], \(workers) worker(s), \(units) units per image"
        case .setupFromCache(let id, let kind, let className):
            return kind == .text ? "job \(id): text embeddings of '\(className)' from cache" : "job \(id): reference embeddings from cache"
        case .setupReady(let id, let fewShot):
            return "job \(id): text\(fewShot ? " and reference" : "") embeddings ready; scoring"
        case .setupTie:
            return clientNote ?? ""
        case .setupDissent(let id, let kind, let agreeing, let dissenters):
            return "job \(id): \(kind) embeddings of \(agreeing.joined(separator: " and ")) agree; \(dissenters.joined(separator: " and ")) differed and is struck (verify_setup)"
        case .setupUnverified(let id, let kind):
            return "job \(id): one worker left for its model; its \(kind) embeddings are not verified by a second"
        case .jobDone(let id, let scored, let failed, let seconds):
            return "job \(id) done: \(scored) scored, \(failed) failed, \(String(format: "%.1f", seconds)) s"
        case .jobCancelled(let id, let why):
            return "job \(id) cancelled: \(why)"
        case .jobFailed(let id, let reason):
            return "job \(id) failed: \(reason)"
        }
    }

    /// The STATUS note a job's client gets about the same fact, when it gets one.
    var clientNote: String? {
        switch self {
        case .workerNotUsed(let job, let worker, let fingerprint, let model, let jobFingerprint, let jobModel):
            return "worker \(worker) not used for job \(job): its model fingerprint \(fingerprint) (\(model)) differs from the job's \(jobFingerprint) (\(jobModel)); one job never mixes models or weights"
        case .setupTie(_, let kind, let workers):
            return "verify_setup: the \(kind) embeddings of \(workers.map { "worker \($0)" }.joined(separator: " and ")) differ; a third key decides"
        case .workerQuarantined(let worker, _, let reason):
            return Self.quarantineNote(worker: worker, reason)
        default:
            return nil
        }
    }

    static func quarantineNote(worker: String, _ reason: QuarantineReason) -> String {
        "worker \(worker) \(reason) and gets no more work (until it reconnects)"
    }
}

extension WorkerDeparture: CustomStringConvertible {
    public var description: String {
        switch self {
        case .saidGoodbye: return "said goodbye"
        case .silent(let seconds): return "went silent for \(seconds) s"
        case .unusableModel: return "announced a model that cannot be used"
        case .reconnected: return "reconnected (its old connection is dropped)"
        case .announcedAgain: return "announced itself again"
        case .quarantined: return "was quarantined"
        case .keyRevoked: return "lost its key (revoked)"
        case .cutOff(let reason): return "\(reason)"
        }
    }
}

extension DisconnectReason: CustomStringConvertible {
    public var description: String {
        switch self {
        case .tooManyMessages: return "sent too many messages"
        case .keyLost: return "lost its key (replaced or revoked)"
        }
    }
}

extension JobCancellation: CustomStringConvertible {
    /// JOB_DONE's error.
    public var description: String {
        switch self {
        case .byClient: return "cancelled by its client"
        case .clientSilent(let seconds): return "its client went silent for \(seconds) s"
        case .clientCutOff(let reason): return "its client \(reason)"
        case .clientKeyRevoked: return "its client's key was revoked"
        }
    }
}
