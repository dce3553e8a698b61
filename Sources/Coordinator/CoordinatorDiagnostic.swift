import Foundation
import Protocol
import Transport

/// What the coordinator's machines tell operators, as facts (`CoordinatorAction.diagnostic`):
/// the loop turns each into a log line (its `level` and `message`,
/// CoordinatorDiagnostic+Message.swift); tests assert on the values. Peers are named as
/// `CoordinatorMachine.describe` and `WorkerRecord.logName` name them (never by routing id).
public enum CoordinatorDiagnostic: Equatable, Sendable {
    // Peers and their messages.
    /// Frames that are no message of the protocol.
    case malformedMessage(from: String, error: String)
    /// A message of a type the coordinator never receives.
    case unexpectedMessage(MessageType, from: String)
    /// A message whose body or blobs are unusable, or that the peer may not send now.
    case rejectedMessage(MessageType, from: String, error: String)
    /// A message its key's role may not send (logged once per key and type).
    case refusedRole(MessageType, identity: PeerIdentity)
    /// A READY that cannot be believed (logged once per connection).
    case refusedReady(worker: String, ReadyProblem)
    /// The loop cut a peer off (PeerAdmission): over its message rate, or its key is gone.
    case cutOff(peer: String, DisconnectReason)
    /// Keys removed at a reload: their connections dropped and what they computed forgotten.
    case revoked([PeerIdentity], workersDropped: Int, setupsDiscarded: Int)

    // Workers.
    case workerJoined(worker: String, model: String, imageSize: Int, fingerprint: String, workers: Int)
    case workerLeft(worker: String, WorkerDeparture, workersLeft: Int)
    /// `logName`: how the operator knows it, when that differs from the name clients see.
    case workerQuarantined(worker: String, logName: String?, QuarantineReason)
    /// A connected worker of another model than the job's (also told to the job's client).
    case workerNotUsed(job: JobID, worker: String, fingerprint: String, model: String, jobFingerprint: String, jobModel: String)

    // Units.
    case unitRequeued(job: JobID, unit: Int, kind: UnitKind, worker: String, WorkerDeparture)
    case unitLate(job: JobID, unit: Int, kind: UnitKind, worker: String, heldSeconds: Int, deadlineSeconds: Int)
    case badAnswer(job: JobID, unit: Int, kind: UnitKind, attempt: Int, maxAttempts: Int, worker: String, reason: String)

    // Jobs.
    /// A SUBMIT refused (REFUSED tells its client why).
    case jobRefused(peer: String, JobRefusal)
    case jobSubmitted(JobID, SubmitRequest)
    case jobAccepted(JobID, model: String, fingerprint: String, workers: Int, unitsPerImage: Int)
    case setupFromCache(JobID, UnitKind, className: String)
    case setupReady(JobID, fewShot: Bool)
    /// Two setup answers differ and a third key decides (also told to the job's client).
    case setupTie(JobID, UnitKind, workers: [String])
    /// A majority agreed; the dissenters are struck.
    case setupDissent(JobID, UnitKind, agreeing: [String], dissenters: [String])
    /// `verify_setup: auto` with one principal left: one worker's answer is taken.
    case setupUnverified(JobID, UnitKind)
    case jobDone(JobID, scored: Int, failed: Int, seconds: Double)
    case jobCancelled(JobID, JobCancellation)
    /// `reason` is what the client is told too (JOB_DONE's error).
    case jobFailed(JobID, reason: String)
}

/// Why a worker's registration ended, or why the units it held went back to the queue.
public enum WorkerDeparture: Equatable, Sendable {
    case saidGoodbye
    case silent(seconds: Int)
    /// Its new READY is refused (ReadyProblem).
    case unusableModel
    /// The same process on a new connection: the old one is a ghost.
    case reconnected
    /// It announced itself again on the same connection (its units are forgotten).
    case announcedAgain
    case quarantined
    /// Its key was removed from the authorised folders at a reload.
    case keyRevoked
    /// The loop cut the connection off.
    case cutOff(DisconnectReason)
}

/// Why the loop cuts a peer off (`CoordinatorMachine.disconnect`).
public enum DisconnectReason: Equatable, Sendable {
    /// Over `max_messages_per_second` (`perSecond`): cut off for `banSeconds`.
    case tooManyMessages(perSecond: Int, banSeconds: Int)
    /// Its key is no longer in the authorised folders (replaced or revoked).
    case keyLost
}

/// Why a job was cancelled (JOB_DONE's error tells the client).
public enum JobCancellation: Equatable, Sendable {
    case byClient
    case clientSilent(seconds: Int)
    case clientCutOff(DisconnectReason)
    case clientKeyRevoked
}
