import Foundation
import Protocol
import WinCLIP

/// One unit of a job, waiting or in flight.
struct UnitTask {
    var spec: UnitSpec
    var blobs: [Data]
}

/// One image's units in flight: their partial scores, or the first error.
final class ImageWork {
    let index: Int
    var assembly: ImageAssembly
    /// Units not yet answered; the image is answered when none is left.
    var outstanding: Int
    var error: String?

    init(index: Int, plan: ImagePlan, fewShot: Bool) {
        self.index = index
        assembly = ImageAssembly(plan: plan, fewShot: fewShot)
        outstanding = plan.units.count
    }
}

/// A job's state on the coordinator:
///
///     waitingForWorkers -> references -> setup -> scoring -> (JOB_DONE sent, removed)
///
/// waitingForWorkers: no live worker with a usable model yet. references: ACCEPTED sent, the
/// client is sending its K reference images. setup: the text unit (and the references unit)
/// run on workers. scoring: image units flow; images complete in any order.
final class CoordinatorJob {
    enum Phase: String { case waitingForWorkers, references, setup, scoring }

    let id: UInt64
    let client: Data
    let request: SubmitRequest
    let started = now()
    var phase = Phase.waitingForWorkers
    var lastClientSeen = now()
    var lastWaitingNote = 0.0

    // Fixed when the job is accepted.
    var fingerprint = ""
    var model = ""
    var imageSize = 0
    var gridSize = 0
    var assembler: ScoreAssembler?
    var plan: ImagePlan?

    var referencePixels: [Int: Data] = [:]
    var text: TextEmbeddings?
    var references: ReferenceEmbeddings?
    var referenceKey = ""
    /// Text embeddings depend on the model and the class name only.
    var textKey: String { "\(fingerprint)\u{0}\(request.className)" }
    var contextMessage: WireMessage?

    var pending: [UnitTask] = []
    var inFlight: [Int: (task: UnitTask, worker: Data)] = [:]
    var images: [Int: ImageWork] = [:]
    var waitingImages: [Int: Data] = [:]  // received before setup finished
    var nextUnit = 0
    var answered = 0
    var failed = 0
    var workersUsed: Set<String> = []
    var notedWorkers: Set<Data> = []

    init(id: UInt64, client: Data, request: SubmitRequest) {
        self.id = id
        self.client = client
        self.request = request
    }

    var fewShot: Bool { request.referenceCount > 0 }

    func makeUnit(_ kind: UnitKind, image: Int? = nil, scaleIndex: Int? = nil, start: Int? = nil, count: Int? = nil, blobs: [Data]) -> UnitTask {
        defer { nextUnit += 1 }
        return UnitTask(
            spec: UnitSpec(job: id, unit: nextUnit, kind: kind, options: request.options,
                           className: kind == .text ? request.className : nil, image: image, scaleIndex: scaleIndex,
                           windowStart: start, windowCount: count, fewShot: fewShot && (kind == .full || kind == .windows)),
            blobs: blobs)
    }

    /// The units of one image, as the job's plan cuts it.
    func enqueueImage(index: Int, pixels: Data) {
        let plan = plan!
        for unit in plan.units {
            switch unit {
            case .full:
                pending.append(makeUnit(.full, image: index, blobs: [pixels]))
            case .windows(let s, let range):
                pending.append(makeUnit(.windows, image: index, scaleIndex: s, start: range.lowerBound, count: range.count, blobs: [pixels]))
            }
        }
        images[index] = ImageWork(index: index, plan: plan, fewShot: fewShot)
    }

    var isComplete: Bool { phase == .scoring && answered == request.imageCount }
}
