import Datasets
import Foundation
import Logging
import Options
import Protocol
import Transport
import ImageInput

/// What a submit asks for.
public struct SubmitJob: Sendable {
    public var items: [DatasetItem]
    public var references: [URL]
    public var options: JobOptions
    public var saveMaps: Bool
    /// How image files are read (limits, 16-bit grey).
    public var decode: ImageDecodeOptions
    /// Run only on workers with this model fingerprint (nil: the one most workers have).
    public var fingerprint: String?
    public init(items: [DatasetItem], references: [URL], options: JobOptions, saveMaps: Bool,
                decode: ImageDecodeOptions = ImageDecodeOptions(), fingerprint: String? = nil) {
        self.items = items
        self.decode = decode
        self.references = references
        self.options = options
        self.saveMaps = saveMaps
        self.fingerprint = fingerprint
    }

    /// Maps travel back when they are saved or needed for the pixel metrics.
    var wantsMaps: Bool { saveMaps || items.contains { $0.label != nil } }
}

/// Where a submit's results go, image by image, as they arrive.
public protocol SubmitSink: AnyObject {
    /// The job was accepted: the model's input size is now known.
    func accepted(_ accepted: Accepted)
    /// One image answered, with its decoded picture when maps are saved (for overlays).
    func image(_ item: DatasetItem, _ outcome: ScoringOutcome, picture: RGBImage?) throws
    func note(_ message: String)
}

/// The client side of a job over ZeroMQ: a DEALER socket owned by the calling thread, driven
/// by `SubmitMachine`. Images are decoded and preprocessed here, within the credit the
/// coordinator grants; a file that cannot be decoded is answered here, as an error row.
public struct SubmitClient: Sendable {
    public let context: ZMQContext
    public let endpoint: String
    public let logger: Logger
    public var settings = SubmitSettings()
    /// How to authenticate to the coordinator (docs/security.md).
    public var security = PeerSecurity.none
    /// Largest frame accepted from the coordinator (`FrameLimit`).
    public var maxFrameBytes: Int64 = FrameLimit.unknownModel

    public init(context: ZMQContext, endpoint: String, logger: Logger) {
        self.context = context
        self.endpoint = endpoint
        self.logger = logger
    }

    /// A DEALER to the coordinator, with its CURVE keys and a watch on the handshake (so that a
    /// refused key or a security.mode mismatch is reported at once, not as a silent coordinator).
    func connect() throws -> (socket: ZMQSocket, watch: HandshakeWatch?) {
        let socket = try ZMQSocket(context, .dealer)
        try socket.setMaxMessageSize(maxFrameBytes)
        try socket.setLiveness(interval: settings.heartbeatInterval, timeout: settings.silenceTimeout)
        try security.apply(to: socket)
        let watch = try HandshakeWatch.watch(socket, context: context, endpoint: endpoint, role: .client, key: security.publicKey)
        try socket.connect(endpoint)
        return (socket, watch)
    }

    /// Connections lost mid-handshake this many times in a row (libzmq retries every 100 ms):
    /// the submit gives up with the reason. One may be a coordinator restarting.
    static let handshakeFailuresToGiveUp = 3

    public func run(_ job: SubmitJob, sink: SubmitSink, stop: StopSignal = StopSignal()) throws -> JobSummary {
        var (socket, watch) = try connect()
        defer {
            watch = nil  // its monitor socket closes before the context can go
            socket.close()
        }
        let request = SubmitRequest(options: job.options, referenceCount: job.references.count, imageCount: job.items.count,
                                    wantMaps: job.wantsMaps, fingerprint: job.fingerprint)
        var machine = SubmitMachine(request: request, settings: settings, at: monotonicSeconds())
        var preprocess: CLIPPreprocess?
        var pictures: [Int: RGBImage] = [:]  // decoded images awaiting their map (--save-maps), within the credit
        var actions = machine.start()
        var stopSent = false
        let wait = max(1, Int(settings.heartbeatInterval * 500))
        while true {
            while !actions.isEmpty {
                let action = actions.removeFirst()
                switch action {
                case .send(let message):
                    try socket.send(message.frames)
                case .accepted(let accepted):
                    preprocess = CLIPPreprocess(imageSize: accepted.imageSize)
                    sink.accepted(accepted)
                case .load(let index, let reference):
                    let url = reference ? job.references[index] : job.items[index].url
                    let pixels: Result<Data, SubmitError>
                    do {
                        let image = try ImageLoader.load(path: url.path, options: job.decode)
                        pixels = .success(FloatBlob.encode(preprocess!(image)))
                        if job.saveMaps && !reference { pictures[index] = image }
                    } catch {
                        pixels = .failure(SubmitError("\(error)"))
                    }
                    actions += machine.loaded(index: index, reference: reference, pixels)
                case .deliver(let index, let outcome):
                    try sink.image(job.items[index], outcome, picture: pictures.removeValue(forKey: index))
                case .reconnect:
                    // A fresh socket: nothing of the lost job's connection is left in flight.
                    watch = nil
                    socket.close()
                    (socket, watch) = try connect()
                    pictures.removeAll()
                case .diagnostic(let diagnostic):
                    sink.note(diagnostic.message(endpoint: endpoint))
                case .finished(let result):
                    return try result.mapError { $0.naming(endpoint: endpoint) }.get()
                }
            }
            if let frames = try socket.receive(timeoutMs: wait) {
                actions += machine.received(frames, at: monotonicSeconds())
            }
            if let diagnosis = watch?.update(), diagnosis.isHopeless(after: Self.handshakeFailuresToGiveUp), let failure = diagnosis.lastFailure {
                throw SubmitError(failure.description)
            }
            actions += machine.tick(at: monotonicSeconds())
            if stop.isRequested && !stopSent {
                stopSent = true
                actions += machine.stop()
            }
        }
    }
}
