import Foundation
import Protocol
import Transport

/// Where the machine's clock stands against the wall clock (it reads no clock itself: the loop
/// sets these when it starts), so that snapshots carry epoch times and an uptime.
public struct ObservabilityClock: Sendable {
    /// Wall-clock seconds since the epoch minus the machine's (monotonic) seconds.
    public var wallClockOffset = 0.0
    /// The machine's time when the coordinator started.
    public var startedAt = 0.0
    public init(wallClockOffset: Double = 0, startedAt: Double = 0) {
        self.wallClockOffset = wallClockOffset
        self.startedAt = startedAt
    }
}

/// The rack as operators see it (RackStatus), and the STATUS_REQUEST conversation.
extension CoordinatorMachine {
    /// Workers, live jobs (oldest first) and queue depth per model, at `now`.
    public func statusSnapshot(at now: Double) -> RackStatus {
        let workerList = workers.all.map { w -> WorkerStatus in
            let alive = max(now - w.joined, 1e-9)
            return WorkerStatus(name: w.publicName, host: w.info.name, model: w.info.model, fingerprint: w.info.fingerprint,
                                precisions: w.info.precisions, state: w.state, unitsInFlight: w.inFlight.count, unitsDone: w.unitsDone,
                                unitsPerSecond: Double(w.unitsDone) / alive, strikes: w.strikes + w.missedDeadlines,
                                lastSeenSecondsAgo: max(0, now - w.lastSeen))
        }.sorted { $0.name < $1.name }
        var queues: [String: QueueStatus] = [:]
        var jobList: [JobStatus] = []
        for id in jobOrder {
            guard let job = jobs[id], let phase = LiveJobPhase(job.phase) else { continue }
            let elapsed = max(now - job.started, 1e-9)
            let rate = Double(job.answered) / elapsed
            let left = job.request.imageCount - job.answered
            jobList.append(JobStatus(job: id, client: job.owner.keyName ?? "anonymous", className: job.request.options.className ?? "",
                                     phase: phase, done: job.answered, failed: job.failed, total: job.request.imageCount,
                                     imagesPerSecond: rate, etaSeconds: rate > 0 ? Double(left) / rate : nil, model: job.model?.name))
            if let model = job.model {
                queues[model.fingerprint, default: QueueStatus(model: model.name, fingerprint: model.fingerprint, units: 0)].units += job.pending.count
            }
        }
        return RackStatus(time: now + observability.wallClockOffset, uptime: now - observability.startedAt,
                          workers: workerList, jobs: jobList, queues: queues.values.sorted { $0.fingerprint < $1.fingerprint })
    }

    /// What `identity` may see: everything for an operator key or without authentication; a
    /// client key its own jobs only (no workers, no queues); a worker key nothing.
    static func visible(_ status: RackStatus, to identity: PeerIdentity, owners: [UInt64: PeerIdentity]) -> RackStatus? {
        switch identity {
        case .anyone: return status
        case .key(_, let role):
            switch role {
            case .operator: return status
            case .worker: return nil
            case .client:
                var own = status
                own.workers = []
                own.queues = []
                own.jobs = status.jobs.filter { owners[$0.job] == identity }
                return own
            }
        }
    }

    mutating func statusRequested(by peer: PeerID, as identity: PeerIdentity, at now: Double) {
        let owners = jobs.mapValues(\.owner)
        guard let status = Self.visible(statusSnapshot(at: now), to: identity, owners: owners) else {
            send(peer, WireMessage(.refused, Refused(reason: "a \(identity) may not ask for the rack's status: use an operator key (authorized_operators) or a client key (its own jobs)")))
            return
        }
        send(peer, WireMessage(.statusReply, status))
    }
}

extension LiveJobPhase {
    init?(_ phase: JobPhase) {
        switch phase {
        case .waitingForWorkers: self = .waitingForWorkers
        case .references: self = .references
        case .setup: self = .setup
        case .scoring: self = .scoring
        case .done, .cancelled, .failed: return nil
        }
    }
}
