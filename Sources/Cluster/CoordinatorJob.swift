import Foundation
import Protocol
import WinCLIP

/// One unit of a job, waiting or in flight.
struct UnitTask {
    var spec: UnitSpec
    var blobs: [Data]
}

/// The partial scores of one image, filled as its units complete.
final class ImageWork {
    let index: Int
    let pixels: Data
    var remaining: Int
    var imageScore: Float?
    var zeroShot: [[Float]]
    var fewShotPatches: [Float]?
    var fewShot: [[Float]]?
    var error: String?

    init(index: Int, pixels: Data, units: Int, windowsPerScale: [Int], fewShot: Bool) {
        self.index = index
        self.pixels = pixels
        remaining = units
        zeroShot = windowsPerScale.map { [Float](repeating: .nan, count: $0) }
        if fewShot {
            self.fewShot = windowsPerScale.map { [Float](repeating: .nan, count: $0) }
        }
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
    var windowsPerScale: [Int] = []

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

    /// The units of one image: the full pass and the window batches of every scale.
    func enqueueImage(index: Int, pixels: Data) {
        var units: [UnitTask] = [makeUnit(.full, image: index, blobs: [pixels])]
        for (s, n) in windowsPerScale.enumerated() {
            let batch = request.windowBatch > 0 ? request.windowBatch : n
            var start = 0
            while start < n {
                let count = min(batch, n - start)
                units.append(makeUnit(.windows, image: index, scaleIndex: s, start: start, count: count, blobs: [pixels]))
                start += count
            }
        }
        images[index] = ImageWork(index: index, pixels: pixels, units: units.count, windowsPerScale: windowsPerScale, fewShot: fewShot)
        pending += units
    }

    var isComplete: Bool { phase == .scoring && answered == request.imageCount }
}
