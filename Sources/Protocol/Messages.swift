import Foundation
import Options

/// The message types. Workers and clients are DEALER sockets connected to the coordinator's
/// ROUTER; every message is a `WireMessage` (docs/protocol.md).
public enum MessageType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    // worker <-> coordinator
    case ready = 1        // W->C  Ready: I serve this model (sent at start and after every reconnect)
    case heartbeat = 2    // both  {}: I am alive (clients send it too, with their job once accepted)
    case unit = 3         // C->W  UnitSpec (UnitWork): compute this
    case context = 4      // C->W  JobEmbeddings: a job's text and reference embeddings
    case result = 5       // W->C  UnitReply: the unit's answer
    case bye = 6          // W->C  I am leaving (after my units); C->W, C->Cl: the coordinator is leaving
    // client <-> coordinator
    case submit = 10      // Cl->C SubmitRequest: start a job
    case accepted = 11    // C->Cl Accepted: the job runs; send references, then images
    case refused = 12     // C->Cl Refused: the job cannot run, and why
    case image = 13       // Cl->C ImageUpload: a reference image or an image to score
    case imageResult = 14 // C->Cl ImageAnswer: one image's score and map
    case jobDone = 15     // C->Cl JobSummary: all images answered (or the job failed)
    case status = 16      // C->Cl StatusNote: something the user should know (refused workers, waits)
    case cancel = 17      // Cl->C JobRef: the client stops; drop the job's work at once
    // operator <-> coordinator (RackStatus.swift)
    case statusRequest = 18 // Op/Cl->C StatusRequest: the rack's state, please
    case statusReply = 19   // C->Op/Cl RackStatus: workers, jobs, queues (a client sees its own jobs only)

    public var description: String {
        switch self {
        case .ready: return "READY"
        case .heartbeat: return "HEARTBEAT"
        case .unit: return "UNIT"
        case .context: return "CONTEXT"
        case .result: return "RESULT"
        case .bye: return "BYE"
        case .submit: return "SUBMIT"
        case .accepted: return "ACCEPTED"
        case .refused: return "REFUSED"
        case .image: return "IMAGE"
        case .imageResult: return "IMAGE_RESULT"
        case .jobDone: return "JOB_DONE"
        case .status: return "STATUS"
        case .cancel: return "CANCEL"
        case .statusRequest: return "STATUS_REQUEST"
        case .statusReply: return "STATUS_REPLY"
        }
    }
}

/// READY: what a worker serves.
public struct Ready: Codable, Sendable, Equatable {
    public var fingerprint: String
    public var model: String
    public var imageSize: Int
    public var gridSize: Int
    /// How logs and job summaries name this worker.
    public var name: String
    /// The arithmetic it can run (bf16 only where its CPU and oneDNN allow).
    public var precisions: [Precision]
    public init(fingerprint: String, model: String, imageSize: Int, gridSize: Int, name: String, precisions: [Precision] = [.fp32]) {
        self.fingerprint = fingerprint
        self.model = model
        self.imageSize = imageSize
        self.gridSize = gridSize
        self.name = name
        self.precisions = precisions
    }
}

/// The kinds of unit (`UnitWork` holds each one's data, `UnitReply` its answer).
public enum UnitKind: String, Codable, Sendable {
    case text
    case references
    case full
    case windows
}

/// The CONTEXT body; the message with its embeddings is `JobEmbeddings`.
public struct JobContext: Codable, Sendable, Equatable {
    public var job: UInt64
    public var referenceCount: Int
    public init(job: UInt64, referenceCount: Int) {
        self.job = job
        self.referenceCount = referenceCount
    }
}

/// The RESULT body: which unit it answers, and `error` instead of blobs when it failed. The
/// coordinator reads it first to find the unit; the answer itself is `UnitReply`.
public struct UnitResult: Codable, Sendable, Equatable {
    public var job: UInt64
    public var unit: Int
    public var error: String?
    public var seconds: Double
    public init(job: UInt64, unit: Int, error: String? = nil, seconds: Double = 0) {
        self.job = job
        self.unit = unit
        self.error = error
        self.seconds = seconds
    }
}

/// SUBMIT: a job. References and images follow as IMAGE messages after ACCEPTED.
public struct SubmitRequest: Codable, Sendable, Equatable {
    public var options: JobOptions
    public var referenceCount: Int
    public var imageCount: Int
    public var wantMaps: Bool
    /// Run only on workers with this model fingerprint (nil: the fingerprint most workers have).
    public var fingerprint: String?
    public init(options: JobOptions, referenceCount: Int, imageCount: Int, wantMaps: Bool, fingerprint: String? = nil) {
        self.options = options
        self.referenceCount = referenceCount
        self.imageCount = imageCount
        self.wantMaps = wantMaps
        self.fingerprint = fingerprint
    }
}

public struct Accepted: Codable, Sendable, Equatable {
    public var job: UInt64
    public var imageSize: Int
    public var fingerprint: String
    public var model: String
    /// Images the client may have sent and not yet had answered.
    public var credit: Int
    public init(job: UInt64, imageSize: Int, fingerprint: String, model: String, credit: Int) {
        self.job = job
        self.imageSize = imageSize
        self.fingerprint = fingerprint
        self.model = model
        self.credit = credit
    }
}

public struct Refused: Codable, Sendable, Equatable {
    public var reason: String
    public init(reason: String) { self.reason = reason }
}

/// The IMAGE body; the message with its pixels is `ImageUpload`. An image the client could not
/// decode is announced with `skipped` and no blob, so that the job still knows when it is
/// complete (the client writes its error row itself).
public struct ImageItem: Codable, Sendable, Equatable {
    public var job: UInt64
    public var index: Int
    public var reference: Bool
    public var skipped: Bool
    public init(job: UInt64, index: Int, reference: Bool, skipped: Bool = false) {
        self.job = job
        self.index = index
        self.reference = reference
        self.skipped = skipped
    }
}

/// The IMAGE_RESULT body; the message with its score and map is `ImageAnswer`.
public struct ImageOutcome: Codable, Sendable, Equatable {
    public var job: UInt64
    public var index: Int
    public var error: String?
    public init(job: UInt64, index: Int, error: String? = nil) {
        self.job = job
        self.index = index
        self.error = error
    }
}

/// JOB_DONE: the job's end; `error` when it failed or was cancelled. `retryable` when the
/// coordinator lost the job, not the job itself (it is stopping, or restarted and does not know
/// the job): the client submits what is not yet answered again.
public struct JobSummary: Codable, Sendable, Equatable {
    public var job: UInt64
    public var scored: Int
    public var failed: Int
    public var seconds: Double
    public var workers: [String]
    public var error: String?
    public var retryable: Bool
    public init(job: UInt64, scored: Int, failed: Int, seconds: Double, workers: [String], error: String? = nil, retryable: Bool = false) {
        self.job = job
        self.scored = scored
        self.failed = failed
        self.seconds = seconds
        self.workers = workers
        self.error = error
        self.retryable = retryable
    }
}

public struct StatusNote: Codable, Sendable, Equatable {
    public var job: UInt64
    public var message: String
    public init(job: UInt64, message: String) {
        self.job = job
        self.message = message
    }
}

/// CANCEL: names the job the client gives up.
public struct JobRef: Codable, Sendable, Equatable {
    public var job: UInt64
    public init(job: UInt64) { self.job = job }
}
