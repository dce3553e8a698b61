import Foundation
import Protocol
import Transport
import WinCLIP

/// The life of a job on the coordinator. Every change goes through `CoordinatorJob.move(to:)`,
/// which allows only these transitions:
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
struct PinnedModel: Equatable {
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
    var blobs: [Data]
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
struct CoordinatorJob {
    let id: JobID
    let client: PeerID
    let request: SubmitRequest
    let started: Double
    private(set) var phase = JobPhase.waitingForWorkers
    var lastClientSeen: Double
    var lastWaitingNote = -Double.infinity
    var model: PinnedModel?

    // Setup.
    var referencePixels: [Int: Data] = [:]
    var text: TextEmbeddings?
    var references: ReferenceEmbeddings?
    var referenceKey = ""
    var contextMessage: WireMessage?

    // Units and images.
    var pending = UnitQueue()
    var inFlight: [Int: InFlightUnit] = [:]
    /// Units that got bad answers and are not settled yet (UnitAttempts.swift).
    var attempts: [Int: UnitAttempts] = [:]
    var images: [Int: ImageWork] = [:]
    /// Images received before setup finished (at most the client's credit).
    var waitingImages: [Int: Data] = [:]
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
    /// Setup computed on two workers that must agree.
    var verifySetup = false
    var setupChecks: [UnitKind: SetupCheck] = [:]

    init(id: JobID, client: PeerID, request: SubmitRequest, now: Double) {
        self.id = id
        self.client = client
        self.request = request
        started = now
        lastClientSeen = now
    }

    var fewShot: Bool { request.referenceCount > 0 }
    var isComplete: Bool { phase == .scoring && answered == request.imageCount }
    /// Text embeddings depend on the model, the class name and the prompts only.
    var textKey: String {
        "\(model?.fingerprint ?? "")\u{0}\(request.options.className ?? "")\u{0}\(request.options.prompts.map { "\($0)" } ?? "anomalib")"
    }

    mutating func move(to next: JobPhase) {
        precondition(phase.canMove(to: next), "job \(id): no transition from \(phase) to \(next)")
        phase = next
    }

    mutating func makeUnit(_ kind: UnitKind, image: Int? = nil, scaleIndex: Int? = nil, windows: Range<Int>? = nil, blobs: [Data]) -> UnitTask {
        defer { nextUnit += 1 }
        return UnitTask(
            spec: UnitSpec(job: id, unit: nextUnit, kind: kind, options: request.options, image: image, scaleIndex: scaleIndex,
                           windowStart: windows?.lowerBound, windowCount: windows?.count,
                           fewShot: fewShot && (kind == .full || kind == .windows)),
            blobs: blobs)
    }

    /// Queues the units of one image (the plan's first units; more may follow its full pass).
    mutating func enqueueImage(index: Int, pixels: Data) {
        let model = model!
        let assembly = ImageAssembly(plan: model.plan, fewShot: fewShot, mapPolicy: model.mapPolicy)
        let units = assembly.initialUnits
        images[index] = ImageWork(index: index, assembly: assembly, outstanding: units.count)
        enqueue(units, image: index, pixels: pixels)
    }

    mutating func enqueue(_ units: [ImageUnit], image index: Int, pixels: Data) {
        for unit in units {
            switch unit {
            case .full:
                pending.append(makeUnit(.full, image: index, blobs: [pixels]))
            case .windows(let s, let range):
                pending.append(makeUnit(.windows, image: index, scaleIndex: s, windows: range, blobs: [pixels]))
            }
        }
    }
}
