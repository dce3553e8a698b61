import Foundation
import Protocol
import Transport
import WinCLIP

/// The life of a job on the coordinator, as a name (`JobState` holds each live phase's data).
/// Every change goes through the transitions of CoordinatorJob+Phases.swift, which allow only:
///
///     waitingForWorkers -> references -> setup -> scoring -> done
///     waitingForWorkers -----------> setup                     (zero-shot)
///     any live phase -> cancelled (client said CANCEL or went silent) | failed (setup failed,
///                        options do not fit the model, the coordinator stops)
///
/// waitingForWorkers: no live worker of a usable model yet. references: ACCEPTED sent, the
/// client sends its K reference images. setup: the text unit (and the references unit) run on
/// workers, or come from the setup cache. scoring: image units flow; images complete in any
/// order. done, cancelled and failed are final: JOB_DONE is sent and the job is removed.
public enum JobPhase: String, Sendable, Equatable {
    case waitingForWorkers, references, setup, scoring, done, cancelled, failed

    public var isFinal: Bool { self == .done || self == .cancelled || self == .failed }

    func canMove(to next: JobPhase) -> Bool {
        switch (self, next) {
        case (.waitingForWorkers, .references), (.waitingForWorkers, .setup), (.references, .setup),
             (.setup, .scoring), (.scoring, .done):
            return true
        case (_, .cancelled), (_, .failed):
            return !isFinal
        default:
            return false
        }
    }
}

/// What a job is pinned to when it is accepted: one model fingerprint, its geometry and the
/// image plan cut for it.
package struct PinnedModel: Equatable {
    let fingerprint: String
    let name: String
    let imageSize: Int
    let gridSize: Int
    let plan: ImagePlan
    let mapPolicy: MapPolicy
}

/// One unit of a job, waiting or in flight.
struct UnitTask: Equatable {
    var spec: UnitSpec
}

/// A unit handed to workers: usually one; two when the first missed its deadline and another
/// was asked too (the first result wins).
struct InFlightUnit: Equatable {
    var task: UnitTask
    var holders: [PeerID]
    var since: Double
    /// A copy was queued for another worker after a missed deadline.
    var duplicated = false
}

/// One image's units in flight: its partial scores, or the first error.
struct ImageWork {
    let index: Int
    var assembly: ImageAssembly
    /// Units handed out and not yet answered; the image is answered when none is left.
    var outstanding: Int
    var error: String?
}

/// A job's state on the coordinator (a value: the machine owns it).
package struct CoordinatorJob {
    let id: JobID
    let client: PeerID
    let request: SubmitRequest
    let started: Double
    /// Its phase and the data of that phase (JobState.swift); changed only by the transitions
    /// of CoordinatorJob+Phases.swift.
    internal(set) var state = JobState.waitingForWorkers
    var lastClientSeen: Double
    var lastWaitingNote = -Double.infinity

    // Units.
    var pending = UnitQueue()
    var inFlight: [Int: InFlightUnit] = [:]
    /// Units that got bad answers and are not settled yet (UnitAttempts.swift).
    var attempts: [Int: UnitAttempts] = [:]
    var nextUnit = 0
    var answered = 0
    var failed = 0
    var workersUsed: Set<String> = []
    var notedWorkers: Set<PeerID> = []
    /// Since when no live worker of the job's model is connected (nil: one is).
    var withoutWorkersSince: Double?

    // Security (CoordinatorMachine+Admission.swift, SetupVerification.swift).
    /// The identity that submitted it (per-client limits, revocation).
    var owner: PeerIdentity = .anyone
    /// Images the client may have unanswered (ACCEPTED's credit): more are refused.
    var credit = 0

    init(id: JobID, client: PeerID, request: SubmitRequest, now: Double) {
        self.id = id
        self.client = client
        self.request = request
        started = now
        lastClientSeen = now
    }

    var phase: JobPhase { state.phase }
    package var model: PinnedModel? { state.model }
    var fewShot: Bool { request.referenceCount > 0 }
    var isComplete: Bool { phase == .scoring && answered == request.imageCount }

    mutating func makeUnit(_ work: UnitWork) -> UnitTask {
        defer { nextUnit += 1 }
        return UnitTask(spec: UnitSpec(job: id, unit: nextUnit, options: request.options, work: work))
    }

    mutating func enqueue(_ units: [ImageUnit], image index: Int, pixels: Data) {
        for unit in units {
            switch unit {
            case .full:
                pending.append(makeUnit(.fullPass(image: index, pixels: pixels, fewShot: fewShot)))
            case .windows(let s, let range):
                pending.append(makeUnit(.windows(image: index, scale: s, windows: range, pixels: pixels, fewShot: fewShot)))
            }
        }
    }
}

extension CoordinatorJob {
    /// A worker no longer holds `unit` (it left, or was quarantined): when no other worker holds
    /// it, it goes back to the front of the queue and its kind is returned.
    mutating func release(_ unit: Int, heldBy peer: PeerID) -> UnitKind? {
        guard var entry = inFlight[unit], entry.holders.contains(peer) else { return nil }
        entry.holders.removeAll { $0 == peer }
        guard entry.holders.isEmpty else {
            inFlight[unit] = entry
            return nil
        }
        inFlight[unit] = nil
        if !pending.contains(unit: unit) { pending.prepend(entry.task) }
        return entry.task.spec.kind
    }
}

extension CoordinatorJob {
    /// A unit goes to a worker: the first holder, or one more (a late unit's copy, a retry).
    mutating func handOut(_ task: UnitTask, to peer: PeerID, at now: Double) {
        if inFlight[task.spec.unit] != nil {
            inFlight[task.spec.unit]?.holders.append(peer)
        } else {
            inFlight[task.spec.unit] = InFlightUnit(task: task, holders: [peer], since: now)
        }
    }
}
