import Foundation
import Logging
import Protocol
import WinCLIP

/// What a submit asks for.
public struct SubmitJob: Sendable {
    public var datasetRoot: URL
    public var items: [DatasetItem]
    public var className: String
    public var references: [URL]
    public var options: ScoringOptions
    public var saveMaps: Bool
    public var fingerprint: String?
    public init(datasetRoot: URL, items: [DatasetItem], className: String, references: [URL], options: ScoringOptions,
                saveMaps: Bool, fingerprint: String? = nil) {
        self.datasetRoot = datasetRoot
        self.items = items
        self.className = className
        self.references = references
        self.options = options
        self.saveMaps = saveMaps
        self.fingerprint = fingerprint
    }
}

/// Where a submit's results go, image by image, as they arrive.
public protocol SubmitSink: AnyObject {
    /// The job was accepted: the model's input size is now known.
    func accepted(_ accepted: Accepted)
    /// One image answered: a score and, when asked, its map [S, S] and the decoded picture
    /// (kept from sending, for overlays); or an error.
    func image(_ item: DatasetItem, score: Float?, map: [Float]?, picture: RGBImage?, error: String?) throws
    func note(_ message: String)
}

public struct SubmitError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The client side of a job: sends SUBMIT, the reference images and the images (decoded and
/// preprocessed here, within the credit the coordinator grants), and hands each IMAGE_RESULT
/// to the sink. A file that cannot be decoded is answered here, as an error row.
public final class SubmitClient {
    let context: ZMQContext
    let endpoint: String
    let logger: Logger
    /// How long to wait for the coordinator's first answer before giving up.
    public var connectTimeout: Double = 60
    /// Silence from the coordinator, once the job runs, after which the job is given up.
    public var silenceTimeout: Double = 30
    public var heartbeatInterval: Double = 1

    public init(context: ZMQContext, endpoint: String, logger: Logger) {
        self.context = context
        self.endpoint = endpoint
        self.logger = logger
    }

    public func run(_ job: SubmitJob, sink: SubmitSink, stop: StopSignal = StopSignal()) throws -> JobSummary {
        let socket = try ZMQSocket(context, .dealer)
        try socket.setMaxMessageSize(256 << 20)
        try socket.connect(endpoint)
        defer { socket.close() }
        let wantMaps = job.saveMaps || job.items.contains { $0.label != nil }
        let request = SubmitRequest(className: job.className, options: job.options, referenceCount: job.references.count,
                                    imageCount: job.items.count, wantMaps: wantMaps, fingerprint: job.fingerprint)
        try socket.send(WireMessage(.submit, request).frames)

        var accepted: Accepted?
        var lastHeard = now(), lastBeat = now()
        var next = 0           // next item to send
        var outstanding = 0    // sent, not yet answered
        var preprocess: CLIPPreprocess?
        var pictures: [Int: RGBImage] = [:]  // decoded images awaiting their map (--save-maps), within the credit
        let started = now()

        func sendHeartbeat() throws {
            if now() - lastBeat >= heartbeatInterval {
                try socket.send(WireMessage(type: .heartbeat).frames, dontWait: true)
                lastBeat = now()
            }
        }

        while true {
            if stop.isRequested { throw SubmitError("interrupted; results written so far are kept") }
            // Feed images within the credit.
            if let a = accepted, let pre = preprocess {
                while next < job.items.count && outstanding < a.credit {
                    let item = job.items[next]
                    let index = next
                    next += 1
                    do {
                        let image = try ImageLoader.load(path: item.url.path)
                        let pixels = pre(image)
                        try socket.send(WireMessage(.image, ImageItem(job: a.job, index: index, reference: false), blobs: [FloatBlob.encode(pixels)]).frames)
                        outstanding += 1
                        if job.saveMaps { pictures[index] = image }
                    } catch {
                        try sink.image(item, score: nil, map: nil, picture: nil, error: "\(error)")
                        try socket.send(WireMessage(.image, ImageItem(job: a.job, index: index, reference: false, skipped: true)).frames)
                    }
                    try sendHeartbeat()
                }
            }
            guard let frames = try socket.receive(timeoutMs: 100) else {
                try sendHeartbeat()
                let silence = now() - lastHeard
                if accepted == nil && silence > connectTimeout {
                    throw SubmitError("no answer from the coordinator at \(endpoint) within \(Int(connectTimeout)) s; is `winclip-coord serve` running there?")
                }
                if accepted != nil && silence > silenceTimeout {
                    throw SubmitError("the coordinator at \(endpoint) went silent for \(Int(silence)) s; results written so far are kept")
                }
                continue
            }
            lastHeard = now()
            try sendHeartbeat()
            let message: WireMessage
            do { message = try WireMessage(frames: frames) } catch {
                logger.warning("submit: dropped a malformed message: \(error)")
                continue
            }
            switch message.type {
            case .accepted:
                let a = try message.decode(Accepted.self)
                accepted = a
                preprocess = CLIPPreprocess(imageSize: a.imageSize)
                sink.accepted(a)
                logger.info("job \(a.job) accepted: model \(a.model) [\(a.fingerprint)]")
                for (i, url) in job.references.enumerated() {
                    let image: RGBImage
                    do { image = try ImageLoader.load(path: url.path) } catch {
                        throw SubmitError("reference image \(url.path) cannot be used: \(error)")
                    }
                    try socket.send(WireMessage(.image, ImageItem(job: a.job, index: i, reference: true), blobs: [FloatBlob.encode(preprocess!(image))]).frames)
                }
            case .refused:
                throw SubmitError("the coordinator refused the job: \(try message.decode(Refused.self).reason)")
            case .status:
                sink.note(try message.decode(StatusNote.self).message)
            case .imageResult:
                let outcome = try message.decode(ImageOutcome.self)
                guard outcome.index >= 0, outcome.index < job.items.count else { continue }
                outstanding -= 1
                var map: [Float]?
                if outcome.error == nil, wantMaps, let s = accepted?.imageSize {
                    map = try message.floats(0, count: s * s)
                }
                let picture = pictures.removeValue(forKey: outcome.index)
                try sink.image(job.items[outcome.index], score: outcome.score, map: map, picture: picture, error: outcome.error)
            case .jobDone:
                var summary = try message.decode(JobSummary.self)
                if let error = summary.error { throw SubmitError("job failed: \(error)") }
                summary.seconds = now() - started
                return summary
            case .heartbeat:
                break
            default:
                logger.warning("submit: unexpected \(message.type)")
            }
        }
    }
}
