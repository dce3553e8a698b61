import Foundation
import Options

/// The message types. Workers and clients are DEALER sockets connected to the coordinator's
/// ROUTER; every message is a `WireMessage` (docs/protocol.md).
public enum MessageType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    // worker <-> coordinator
    case ready = 1        // W->C  Ready: I serve this model (sent at start and after every reconnect)
    case heartbeat = 2    // both  {}: I am alive (clients send it too, with their job once accepted)
    case unit = 3         // C->W  UnitSpec + pixel blobs: compute this
    case context = 4      // C->W  JobContext + embedding blobs: a job's text and reference embeddings
    case result = 5       // W->C  UnitResult + score blobs
    case bye = 6          // W->C  I am leaving (after my units); C->W, C->Cl: the coordinator is leaving
    // client <-> coordinator
    case submit = 10      // Cl->C SubmitRequest: start a job
    case accepted = 11    // C->Cl Accepted: the job runs; send references, then images
    case refused = 12     // C->Cl Refused: the job cannot run, and why
    case image = 13       // Cl->C ImageItem + pixel blob: a reference image or an image to score
    case imageResult = 14 // C->Cl ImageOutcome (+ map blob): one image's score and map
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

public enum UnitKind: String, Codable, Sendable {
    case text        // options.className -> blobs [normal, anomalous]
    case references  // K pixel blobs -> blobs [patch tokens, windows of scale 0, ...]
    case full        // 1 pixel blob -> blobs [image score (1 float), few-shot patch scores when few-shot]
    case windows     // 1 pixel blob -> blobs [zero-shot scores, few-shot scores when few-shot]
}

/// UNIT: one piece of work.
public struct UnitSpec: Codable, Sendable, Equatable {
    public var job: UInt64
    public var unit: Int
    public var kind: UnitKind
    public var options: JobOptions
    public var image: Int?
    public var scaleIndex: Int?
    public var windowStart: Int?
    public var windowCount: Int?
    public var fewShot: Bool
    public init(job: UInt64, unit: Int, kind: UnitKind, options: JobOptions, image: Int? = nil,
                scaleIndex: Int? = nil, windowStart: Int? = nil, windowCount: Int? = nil, fewShot: Bool = false) {
        self.job = job
        self.unit = unit
        self.kind = kind
        self.options = options
        self.image = image
        self.scaleIndex = scaleIndex
        self.windowStart = windowStart
        self.windowCount = windowCount
        self.fewShot = fewShot
    }
}

/// CONTEXT: blobs [normal, anomalous] and, few-shot, [patch tokens, windows of each scale].
public struct JobContext: Codable, Sendable, Equatable {
    public var job: UInt64
    public var referenceCount: Int
    public init(job: UInt64, referenceCount: Int) {
        self.job = job
        self.referenceCount = referenceCount
    }
}

/// RESULT: the unit's outcome; `error` instead of blobs when it failed. Scores travel in blobs
/// (raw float32), never in the JSON body, so that any value, NaN included, reaches the
/// coordinator, which decides what to do with it.
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

/// IMAGE: blob [3, S, S] preprocessed pixels.
/// An image the client could not decode is announced with `skipped` and no blob, so that the
/// job still knows when it is complete (the client writes its error row itself).
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

/// IMAGE_RESULT: the image's score (blob [1], then blob [S, S] map when the job wants maps
/// and made one for this image), or the error that stopped it.
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
