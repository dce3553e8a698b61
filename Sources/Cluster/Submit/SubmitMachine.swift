import Foundation
import Protocol

/// One image's answer: its score (and map when one was made), or why it has none.
public enum ScoringOutcome: Sendable, Equatable {
    case scored(score: Float, map: [Float]?)
    case failed(String)
}

/// A submit client's timing.
public struct SubmitSettings: Sendable, Equatable {
    /// How long to wait for the coordinator's first answer before giving up.
    public var connectTimeout: Double = 60
    /// Silence from the coordinator, once the job runs, after which the job is given up.
    public var silenceTimeout: Double = 30
    public var heartbeatInterval: Double = 1
    public init() {}
}

/// What the submit client's I/O loop must do.
public enum SubmitAction: Equatable, Sendable {
    case send(WireMessage)
    /// The job runs: the model's input size is known.
    case accepted(Accepted)
    /// Decode and preprocess image `index` (a reference image when `reference`) and report it
    /// with `loaded`.
    case load(index: Int, reference: Bool)
    /// Image `index` is answered.
    case deliver(index: Int, ScoringOutcome)
    /// Something the user should know.
    case note(String)
    /// The job is over: its summary, or why it failed.
    case finished(Result<JobSummary, SubmitError>)
}

/// The client side of a job as a pure state machine: SUBMIT, then (once ACCEPTED) the reference
/// images and the images to score, never more than the coordinator's credit unanswered, each
/// answer delivered as it arrives, heartbeats while waiting, and timeouts when the
/// coordinator goes silent. Image decoding happens outside (the `load` action).
public struct SubmitMachine: Sendable {
    public let request: SubmitRequest
    public let settings: SubmitSettings
    private var accepted: Accepted?
    private var nextImage = 0
    /// Images being loaded, sent or computed: at most the credit.
    private var outstanding = 0
    private var referencesSent = 0
    private var answered: Set<Int> = []
    private var lastHeard: Double
    private var lastBeat: Double
    private var started: Double
    private var over = false

    public init(request: SubmitRequest, settings: SubmitSettings = SubmitSettings(), at now: Double) {
        self.request = request
        self.settings = settings
        lastHeard = now
        lastBeat = now
        started = now
    }

    public var job: JobID? { accepted?.job }
    public var imageSize: Int? { accepted?.imageSize }
    public var isOver: Bool { over }

    public mutating func start() -> [SubmitAction] { [.send(WireMessage(.submit, request))] }

    public mutating func received(_ frames: [Data], at now: Double) -> [SubmitAction] {
        guard !over else { return [] }
        lastHeard = now
        let message: WireMessage
        do { message = try WireMessage(frames: frames) } catch {
            return [.note("dropped a malformed message from the coordinator: \(error)")]
        }
        do {
            switch message.type {
            case .accepted:
                guard accepted == nil else { return [] }
                let a = try message.decode(Accepted.self)
                accepted = a
                var actions: [SubmitAction] = [.accepted(a)] + (0..<request.referenceCount).map { .load(index: $0, reference: true) }
                actions += feed()
                return actions
            case .refused:
                return finish(.failure(SubmitError("the coordinator refused the job: \(try message.decode(Refused.self).reason)")))
            case .status:
                return [.note(try message.decode(StatusNote.self).message)]
            case .imageResult:
                let outcome = try message.decode(ImageOutcome.self)
                guard let a = accepted, outcome.job == a.job, outcome.index >= 0, outcome.index < request.imageCount,
                      !answered.contains(outcome.index) else {
                    return [.note("ignored an answer for unknown image \(outcome.index)")]
                }
                let verdict: ScoringOutcome
                if let error = outcome.error {
                    verdict = .failed(error)
                } else {
                    let score = try message.floats(0, count: 1)[0]
                    let map = message.blobs.count > 1 ? try message.floats(1, count: a.imageSize * a.imageSize) : nil
                    verdict = .scored(score: score, map: map)
                }
                answered.insert(outcome.index)
                outstanding -= 1
                return [.deliver(index: outcome.index, verdict)] + feed()
            case .jobDone:
                var summary = try message.decode(JobSummary.self)
                if let error = summary.error { return finish(.failure(SubmitError("job failed: \(error)"))) }
                summary.seconds = now - started
                return finish(.success(summary))
            case .bye:
                return finish(.failure(SubmitError("the coordinator stopped before the job finished; results written so far are kept")))
            case .heartbeat:
                return []
            default:
                return [.note("unexpected \(message.type) from the coordinator")]
            }
        } catch {
            return [.note("dropped a malformed \(message.type) from the coordinator: \(error)")]
        }
    }

    /// An image was decoded (its pixels [3, S, S] as a float32 blob) or could not be.
    public mutating func loaded(index: Int, reference: Bool, _ pixels: Result<Data, SubmitError>) -> [SubmitAction] {
        guard !over, let a = accepted else { return [] }
        switch (reference, pixels) {
        case (true, .success(let blob)):
            referencesSent += 1
            return [.send(WireMessage(.image, ImageItem(job: a.job, index: index, reference: true), blobs: [blob]))]
        case (true, .failure(let error)):
            return finish(.failure(SubmitError("reference image \(index + 1) cannot be used: \(error)")))
        case (false, .success(let blob)):
            return [.send(WireMessage(.image, ImageItem(job: a.job, index: index, reference: false), blobs: [blob]))]
        case (false, .failure(let error)):
            // Answered here: the coordinator only counts it.
            answered.insert(index)
            outstanding -= 1
            return [.deliver(index: index, .failed(error.description)),
                    .send(WireMessage(.image, ImageItem(job: a.job, index: index, reference: false, skipped: true)))] + feed()
        }
    }

    public mutating func tick(at now: Double) -> [SubmitAction] {
        guard !over else { return [] }
        var actions: [SubmitAction] = []
        if now - lastBeat >= settings.heartbeatInterval {
            actions.append(.send(WireMessage(type: .heartbeat)))
            lastBeat = now
        }
        let silence = now - lastHeard
        if accepted == nil && silence > settings.connectTimeout {
            return finish(.failure(SubmitError("no answer from the coordinator within \(Int(settings.connectTimeout)) s; is `winclip-coord serve` running there?")))
        }
        if accepted != nil && silence > settings.silenceTimeout {
            return finish(.failure(SubmitError("the coordinator went silent for \(Int(silence)) s; results written so far are kept")))
        }
        return actions
    }

    /// The user stopped the client: the coordinator drops the job's work at once.
    public mutating func stop() -> [SubmitAction] {
        guard !over else { return [] }
        var actions: [SubmitAction] = []
        if let job { actions.append(.send(WireMessage(.cancel, JobRef(job: job)))) }
        return actions + finish(.failure(SubmitError("interrupted; results written so far are kept")))
    }

    /// More images to load, within the credit.
    private mutating func feed() -> [SubmitAction] {
        guard let a = accepted else { return [] }
        var actions: [SubmitAction] = []
        while nextImage < request.imageCount && outstanding < a.credit {
            actions.append(.load(index: nextImage, reference: false))
            nextImage += 1
            outstanding += 1
        }
        return actions
    }

    private mutating func finish(_ result: Result<JobSummary, SubmitError>) -> [SubmitAction] {
        over = true
        return [.finished(result)]
    }
}

public struct SubmitError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
