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
    /// Silence from the coordinator after which the connection is taken for lost (the job is
    /// submitted again, for what is not yet answered).
    public var silenceTimeout: Double = 10
    /// How long a lost job keeps trying to come back (coordinator restarts, connection resets)
    /// before the submit gives up.
    public var reconnectGrace: Double = 300
    /// First wait before submitting again; doubles up to `maxResubmitDelay`.
    public var resubmitDelay: Double = 1
    public var maxResubmitDelay: Double = 15
    public var heartbeatInterval: Double = 1
    /// Silence at the first contact after which the user is told which endpoint the submit is
    /// waiting for (well within 10 s), then again every `waitingNoticeInterval`.
    public var waitingNoticeAfter: Double = 5
    public var waitingNoticeInterval: Double = 15
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
    /// Close the socket and open a new one (then the machine submits again).
    case reconnect
    /// Something the user should know.
    case note(String)
    /// Nothing heard from the coordinator since the first SUBMIT, `seconds` ago; the submit keeps
    /// trying (the I/O loop names the endpoint it waits for).
    case waitingForCoordinator(seconds: Int)
    /// The job is over: its summary, or why it failed.
    case finished(Result<JobSummary, SubmitError>)
}

/// The client side of a job as a pure state machine: SUBMIT, then (once ACCEPTED) the reference
/// images and the images to score, never more than the coordinator's credit unanswered, each
/// answer delivered once as it arrives, heartbeats while waiting. When the coordinator is lost
/// (it stopped, restarted, went silent, or the connection was reset) the machine reconnects
/// and submits again what is not yet answered, within a grace period, without user action.
/// Image decoding happens outside (the `load` action).
public struct SubmitMachine: Sendable {
    public let request: SubmitRequest
    public let settings: SubmitSettings

    /// One submission to one coordinator: the images it carries (its index -> the job's).
    package struct Attempt {
        package var number: Int
        package var images: [Int]
        /// The job's image index -> this attempt's.
        package var positions: [Int: Int]
        package var accepted: Accepted?
        package var nextImage = 0
        /// Images being loaded, sent or computed: at most the credit.
        package var outstanding = 0
        package var submittedAt: Double
    }

    private var attempt: Attempt
    /// The job's images not yet answered.
    private var remaining: Set<Int>
    private var lastHeard: Double
    private var lastBeat: Double
    private let started: Double
    /// When the job was lost and is waiting to be submitted again.
    private var resubmitAt: Double?
    /// Since when the job has been lost without a coordinator taking it back.
    private var lostSince: Double?
    private var delay: Double
    private var scored = 0, failed = 0
    private var workers: Set<String> = []
    private var over = false
    /// Whether the coordinator has said anything yet, and when to say that it has not.
    private var heardFromCoordinator = false
    private var nextWaitingNotice: Double

    public init(request: SubmitRequest, settings: SubmitSettings = SubmitSettings(), at now: Double) {
        self.request = request
        self.settings = settings
        attempt = Attempt(number: 1, images: Array(0..<request.imageCount), positions: [:], submittedAt: now)
        attempt.positions = Self.positions(of: attempt.images)
        remaining = Set(0..<request.imageCount)
        lastHeard = now
        lastBeat = now
        started = now
        delay = settings.resubmitDelay
        nextWaitingNotice = now + settings.waitingNoticeAfter
    }

    public var job: JobID? { attempt.accepted?.job }
    public var imageSize: Int? { attempt.accepted?.imageSize }
    public var isOver: Bool { over }
    /// Submissions so far (1 + the times the job came back after a loss).
    public var attempts: Int { attempt.number }

    public mutating func start() -> [SubmitAction] { [.send(submitMessage())] }

    private func submitMessage() -> WireMessage {
        var r = request
        r.imageCount = attempt.images.count
        return WireMessage(.submit, r)
    }

    public mutating func received(_ frames: [Data], at now: Double) -> [SubmitAction] {
        guard !over, resubmitAt == nil else { return [] }
        lastHeard = now
        heardFromCoordinator = true
        let message: WireMessage
        do { message = try WireMessage(frames: frames) } catch {
            return [.note("dropped a malformed message from the coordinator: \(error)")]
        }
        do {
            switch message.type {
            case .accepted:
                guard attempt.accepted == nil else { return [] }
                let a = try message.decode(Accepted.self)
                attempt.accepted = a
                lostSince = nil
                delay = settings.resubmitDelay
                var actions: [SubmitAction] = [.accepted(a)]
                if attempt.number > 1 { actions.append(.note("job resubmitted as job \(a.job) with the \(attempt.images.count) image(s) not yet answered")) }
                actions += (0..<request.referenceCount).map { .load(index: $0, reference: true) }
                return actions + feed()
            case .refused:
                return finish(.failure(SubmitError("the coordinator refused the job: \(try message.decode(Refused.self).reason)")))
            case .status:
                return [.note(try message.decode(StatusNote.self).message)]
            case .imageResult:
                let outcome = try message.decode(ImageOutcome.self)
                guard let a = attempt.accepted, outcome.job == a.job, outcome.index >= 0, outcome.index < attempt.images.count else {
                    return [.note("ignored an answer for unknown image \(outcome.index) of job \(outcome.job)")]
                }
                let image = attempt.images[outcome.index]
                guard remaining.contains(image) else { return [] }
                let verdict: ScoringOutcome
                if let error = outcome.error {
                    verdict = .failed(error)
                } else {
                    let score = try message.floats(0, count: 1)[0]
                    let map = message.blobs.count > 1 ? try message.floats(1, count: a.imageSize * a.imageSize) : nil
                    verdict = .scored(score: score, map: map)
                }
                return answer(image, verdict) + feed()
            case .jobDone:
                let summary = try message.decode(JobSummary.self)
                guard summary.job == attempt.accepted?.job || attempt.accepted == nil else { return [] }
                workers.formUnion(summary.workers)
                if let error = summary.error {
                    if summary.retryable { return lose("the coordinator gave the job up (\(error))", at: now) }
                    return finish(.failure(SubmitError("job failed: \(error)")))
                }
                if !remaining.isEmpty { return lose("the coordinator ended the job with \(remaining.count) image(s) unanswered", at: now) }
                return finish(.success(JobSummary(job: summary.job, scored: scored, failed: failed, seconds: now - started,
                                                  workers: workers.sorted())))
            case .bye:
                return lose("the coordinator stopped", at: now)
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
    /// `index` is the job's image index (as in `load`).
    public mutating func loaded(index: Int, reference: Bool, _ pixels: Result<Data, SubmitError>) -> [SubmitAction] {
        guard !over, resubmitAt == nil, let a = attempt.accepted else { return [] }
        switch (reference, pixels) {
        case (true, .success(let blob)):
            return [.send(WireMessage(.image, ImageItem(job: a.job, index: index, reference: true), blobs: [blob]))]
        case (true, .failure(let error)):
            return finish(.failure(SubmitError("reference image \(index + 1) cannot be used: \(error)")))
        case (false, .success(let blob)):
            guard let position = attempt.positions[index] else { return [] }
            return [.send(WireMessage(.image, ImageItem(job: a.job, index: position, reference: false), blobs: [blob]))]
        case (false, .failure(let error)):
            // Answered here: the coordinator only counts it.
            guard let position = attempt.positions[index] else { return [] }
            return answer(index, .failed(error.description))
                + [.send(WireMessage(.image, ImageItem(job: a.job, index: position, reference: false, skipped: true)))] + feed()
        }
    }

    public mutating func tick(at now: Double) -> [SubmitAction] {
        guard !over else { return [] }
        if let at = resubmitAt {
            guard now >= at else { return [] }
            return resubmit(at: now)
        }
        var actions: [SubmitAction] = []
        if now - lastBeat >= settings.heartbeatInterval {
            // The job id tells a restarted coordinator, which does not know it, to say so.
            actions.append(.send(attempt.accepted.map { WireMessage(.heartbeat, JobRef(job: $0.job)) } ?? WireMessage(type: .heartbeat)))
            lastBeat = now
        }
        let silence = now - lastHeard
        if !heardFromCoordinator && now >= nextWaitingNotice && silence <= settings.connectTimeout {
            actions.append(.waitingForCoordinator(seconds: Int((now - started).rounded())))
            nextWaitingNotice = now + settings.waitingNoticeInterval
        }
        if attempt.accepted == nil && attempt.number == 1 && silence > settings.connectTimeout {
            return finish(.failure(.noAnswer(within: Int(settings.connectTimeout))))
        }
        if attempt.accepted != nil && silence > settings.silenceTimeout {
            return lose("the coordinator went silent for \(Int(silence)) s", at: now)
        }
        if attempt.accepted == nil && attempt.number > 1 && silence > settings.silenceTimeout {
            return lose("no answer from the coordinator yet", at: now)
        }
        return actions
    }

    /// The user stopped the client: the coordinator drops the job's work at once.
    public mutating func stop() -> [SubmitAction] {
        guard !over else { return [] }
        var actions: [SubmitAction] = []
        if let job, resubmitAt == nil { actions.append(.send(WireMessage(.cancel, JobRef(job: job)))) }
        return actions + finish(.failure(SubmitError("interrupted; results written so far are kept")))
    }

    // MARK: - Steps

    private mutating func answer(_ image: Int, _ verdict: ScoringOutcome) -> [SubmitAction] {
        remaining.remove(image)
        attempt.outstanding -= 1
        if case .failed = verdict { failed += 1 } else { scored += 1 }
        return [.deliver(index: image, verdict)]
    }

    /// The coordinator lost the job: submit again after a delay, unless the grace period is over.
    private mutating func lose(_ why: String, at now: Double) -> [SubmitAction] {
        let since = lostSince ?? now
        lostSince = since
        if now - since > settings.reconnectGrace {
            return finish(.failure(SubmitError("\(why), and no coordinator took the job back within \(Int(settings.reconnectGrace)) s; results written so far are kept (continue with --resume)")))
        }
        resubmitAt = now + delay
        let note = "\(why); submitting the \(remaining.count) image(s) not yet answered again in \(String(format: "%.0f", delay)) s"
        delay = min(delay * 2, settings.maxResubmitDelay)
        return [.note(note)]
    }

    private mutating func resubmit(at now: Double) -> [SubmitAction] {
        resubmitAt = nil
        let images = remaining.sorted()
        attempt = Attempt(number: attempt.number + 1, images: images, positions: Self.positions(of: images), submittedAt: now)
        lastHeard = now
        lastBeat = now
        return [.reconnect, .send(submitMessage())]
    }

    /// More images to load, within the credit.
    private mutating func feed() -> [SubmitAction] {
        guard let a = attempt.accepted else { return [] }
        var actions: [SubmitAction] = []
        while attempt.nextImage < attempt.images.count && attempt.outstanding < a.credit {
            actions.append(.load(index: attempt.images[attempt.nextImage], reference: false))
            attempt.nextImage += 1
            attempt.outstanding += 1
        }
        return actions
    }

    private static func positions(of images: [Int]) -> [Int: Int] {
        Dictionary(uniqueKeysWithValues: images.enumerated().map { ($1, $0) })
    }

    private mutating func finish(_ result: Result<JobSummary, SubmitError>) -> [SubmitAction] {
        over = true
        return [.finished(result)]
    }
}

public struct SubmitError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    /// The coordinator never answered the first contact within this many seconds (the client
    /// names its endpoint, which the machine does not know); nil for any other failure.
    public let noAnswerWithin: Int?
    public init(_ description: String) {
        self.description = description
        noAnswerWithin = nil
    }

    /// No answer at all from the coordinator within `seconds`.
    public static func noAnswer(within seconds: Int) -> SubmitError { SubmitError(noAnswerWithin: seconds, endpoint: nil) }

    private init(noAnswerWithin seconds: Int, endpoint: String?) {
        let coordinator = endpoint.map { "the coordinator at \($0)" } ?? "the coordinator"
        description = "no answer from \(coordinator) within \(seconds) s; is `winclip-coord serve` running there, and is that its endpoint?"
        noAnswerWithin = seconds
    }

    /// The same error naming the endpoint the client was waiting for.
    public func naming(endpoint: String) -> SubmitError {
        guard let seconds = noAnswerWithin else { return self }
        return SubmitError(noAnswerWithin: seconds, endpoint: endpoint)
    }
}
