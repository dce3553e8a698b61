import Foundation
import Options

/// What an operator sees of a rack (`winclip-coord status`, the status page, `/status.json`):
/// the coordinator's workers, live jobs and queues at one moment. The STATUS_REPLY body.
public struct RackStatus: Codable, Sendable, Equatable {
    /// Seconds since the Unix epoch when the snapshot was taken.
    public var time: Double
    /// Seconds the coordinator has been up.
    public var uptime: Double
    public var workers: [WorkerStatus]
    public var jobs: [JobStatus]
    /// Units waiting per model (jobs not yet pinned to a model are not counted).
    public var queues: [QueueStatus]
    /// Images answered per second over the last minutes, oldest first (the page's chart; empty
    /// over the wire).
    public var throughput: [ThroughputPoint]

    public init(time: Double, uptime: Double, workers: [WorkerStatus], jobs: [JobStatus], queues: [QueueStatus], throughput: [ThroughputPoint] = []) {
        self.time = time
        self.uptime = uptime
        self.workers = workers
        self.jobs = jobs
        self.queues = queues
        self.throughput = throughput
    }
}

/// A worker's state as operators count them.
public enum WorkerState: String, Codable, Sendable, CaseIterable {
    /// Connected, holding no unit.
    case idle
    /// Holding units.
    case busy
    /// Missed too many deadlines or gave too many bad answers: no more units until it
    /// announces itself again (READY).
    case quarantined
}

public struct WorkerStatus: Codable, Sendable, Equatable {
    /// Its key name, or the opaque name clients see (`worker-N`); host:pid with `reveal_worker_hosts`.
    public var name: String
    /// Its self-declared host:pid (shown to operators only).
    public var host: String
    public var model: String
    public var fingerprint: String
    public var precisions: [Precision]
    public var state: WorkerState
    public var unitsInFlight: Int
    public var unitsDone: Int
    /// Units answered per second since it joined.
    public var unitsPerSecond: Double
    /// Deadlines it missed plus bad answers another worker proved wrong.
    public var strikes: Int
    /// Seconds since it was last heard.
    public var lastSeenSecondsAgo: Double

    public init(name: String, host: String, model: String, fingerprint: String, precisions: [Precision], state: WorkerState,
                unitsInFlight: Int, unitsDone: Int, unitsPerSecond: Double, strikes: Int, lastSeenSecondsAgo: Double) {
        self.name = name
        self.host = host
        self.model = model
        self.fingerprint = fingerprint
        self.precisions = precisions
        self.state = state
        self.unitsInFlight = unitsInFlight
        self.unitsDone = unitsDone
        self.unitsPerSecond = unitsPerSecond
        self.strikes = strikes
        self.lastSeenSecondsAgo = lastSeenSecondsAgo
    }
}

/// The live phases of a job (finished jobs leave the coordinator).
public enum LiveJobPhase: String, Codable, Sendable, CaseIterable {
    case waitingForWorkers = "waiting_for_workers", references, setup, scoring
}

public struct JobStatus: Codable, Sendable, Equatable {
    public var job: UInt64
    /// Who submitted it: a client key's name, or `anonymous` without authentication.
    public var client: String
    public var className: String
    public var phase: LiveJobPhase
    /// Images answered (scored or failed) of `total`.
    public var done: Int
    public var failed: Int
    public var total: Int
    public var imagesPerSecond: Double
    /// Seconds to the last image at the current rate; nil before the first one.
    public var etaSeconds: Double?
    public var model: String?

    public init(job: UInt64, client: String, className: String, phase: LiveJobPhase, done: Int, failed: Int, total: Int,
                imagesPerSecond: Double, etaSeconds: Double?, model: String?) {
        self.job = job
        self.client = client
        self.className = className
        self.phase = phase
        self.done = done
        self.failed = failed
        self.total = total
        self.imagesPerSecond = imagesPerSecond
        self.etaSeconds = etaSeconds
        self.model = model
    }
}

public struct QueueStatus: Codable, Sendable, Equatable {
    public var model: String
    public var fingerprint: String
    public var units: Int
    public init(model: String, fingerprint: String, units: Int) {
        self.model = model
        self.fingerprint = fingerprint
        self.units = units
    }
}

public struct ThroughputPoint: Codable, Sendable, Equatable {
    /// Seconds since the Unix epoch at the end of the interval.
    public var time: Double
    public var imagesPerSecond: Double
    public init(time: Double, imagesPerSecond: Double) {
        self.time = time
        self.imagesPerSecond = imagesPerSecond
    }
}

/// STATUS_REQUEST: an operator (or a client, for its own jobs) asks for the rack's state.
public struct StatusRequest: Codable, Sendable, Equatable {
    public init() {}
}
