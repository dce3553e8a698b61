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
    /// Something the user should know (the I/O loop makes the sentence, naming its endpoint).
    case diagnostic(SubmitDiagnostic)
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
    package private(set) var phase: Phase
    /// The job's images not yet answered.
    private var remaining: Set<Int>
    private var lastHeard: Double
    private var lastBeat: Double
    private let started: Double
    /// The wait before the next resubmission; doubles per loss up to the maximum, back to the
    /// first once a coordinator accepts the job.
    private var delay: Double
    private var scored = 0, failed = 0
    private var workers: Set<String> = []
    /// Submissions so far (1 + the times the job came back after a loss).
    public private(set) var attempts = 1

    public init(request: SubmitRequest, settings: SubmitSettings = SubmitSettings(), at now: Double) {
        self.request = request
        self.settings = settings
        phase = .submitting(Attempt(images: Array(0..<request.imageCount)), .unheard(noticeAt: now + settings.waitingNoticeAfter))
        remaining = Set(0..<request.imageCount)
        lastHeard = now
        lastBeat = now
        started = now
        delay = settings.resubmitDelay
    }

    /// The coordinator's acceptance of the running job.
    private var accepted: Accepted? {
        if case .running(_, let a) = phase { return a }
        return nil
    }
    public var job: UInt64? { accepted?.job }
    public var imageSize: Int? { accepted?.imageSize }
    public var isOver: Bool {
        if case .over = phase { return true }
        return false
    }

    public mutating func start() -> [SubmitAction] { [.send(submitMessage())] }

    private func submitMessage() -> WireMessage {
        var r = request
        if case .submitting(let attempt, _) = phase { r.imageCount = attempt.images.count }
        return WireMessage(.submit, r)
    }

    public mutating func received(_ frames: [Data], at now: Double) -> [SubmitAction] {
        switch phase {
        case .over, .resubmitting: return []
        case .submitting(let attempt, .unheard): phase = .submitting(attempt, .heard)
        case .submitting, .running: break
        }
        lastHeard = now
        let message: WireMessage
        do { message = try WireMessage(frames: frames) } catch {
            return [.diagnostic(.malformedMessage(error: "\(error)"))]
        }
        do {
            switch message.type {
            case .accepted:
                guard case .submitting(let attempt, let contact) = phase else { return [] }
                let a = try message.decode(Accepted.self)
                phase = .running(attempt, a)
                delay = settings.resubmitDelay
                var actions: [SubmitAction] = [.accepted(a)]
                if case .resubmitted = contact { actions.append(.diagnostic(.resubmitted(job: a.job, images: attempt.images.count))) }
                actions += (0..<request.referenceCount).map { .load(index: $0, reference: true) }
                return actions + feed()
            case .refused:
                return finish(.failure(SubmitError(reason: .refused(try message.decode(Refused.self).reason))))
            case .status:
                return [.diagnostic(.coordinatorStatus(try message.decode(StatusNote.self).message))]
            case .imageResult:
                let outcome = try message.decode(ImageOutcome.self)
                guard case .running(let attempt, let a) = phase, outcome.job == a.job, outcome.index >= 0, outcome.index < attempt.images.count else {
                    return [.diagnostic(.unknownImage(index: outcome.index, job: outcome.job))]
                }
                let image = attempt.images[outcome.index]
                guard remaining.contains(image) else { return [] }
                let verdict: ScoringOutcome
                switch try ImageAnswer(decoding: message, imageSize: a.imageSize).verdict {
                case .failed(let error): verdict = .failed(error)
                case .scored(let score, let map): verdict = .scored(score: score, map: map)
                }
                return answer(image, verdict) + feed()
            case .jobDone:
                let summary = try message.decode(JobSummary.self)
                if let a = accepted, a.job != summary.job { return [] }
                workers.formUnion(summary.workers)
                if let error = summary.error {
                    if summary.retryable { return lose(.gaveUp(reason: error), at: now) }
                    return finish(.failure(SubmitError(reason: .jobFailed(error))))
                }
                if !remaining.isEmpty { return lose(.endedUnanswered(images: remaining.count), at: now) }
                return finish(.success(JobSummary(job: summary.job, scored: scored, failed: failed, seconds: now - started,
                                                  workers: workers.sorted())))
            case .bye:
                return lose(.coordinatorStopped, at: now)
            case .heartbeat:
                return []
            default:
                return [.diagnostic(.unexpectedMessage(message.type))]
            }
        } catch {
            return [.diagnostic(.malformedPayload(message.type, error: "\(error)"))]
        }
    }

    /// An image was decoded (its pixels [3, S, S] as a float32 blob) or could not be.
    /// `index` is the job's image index (as in `load`).
    public mutating func loaded(index: Int, reference: Bool, _ pixels: Result<Data, SubmitError>) -> [SubmitAction] {
        guard case .running(let attempt, let a) = phase else { return [] }
        switch (reference, pixels) {
        case (true, .success(let blob)):
            return [.send(ImageUpload(job: a.job, index: index, reference: true, content: .pixels(blob)).encode())]
        case (true, .failure(let error)):
            return finish(.failure(SubmitError(reason: .unusableReference(index: index, error: error.description))))
        case (false, .success(let blob)):
            guard let position = attempt.positions[index] else { return [] }
            return [.send(ImageUpload(job: a.job, index: position, reference: false, content: .pixels(blob)).encode())]
        case (false, .failure(let error)):
            // Answered here: the coordinator only counts it.
            guard let position = attempt.positions[index] else { return [] }
            return answer(index, .failed(error.description))
                + [.send(ImageUpload(job: a.job, index: position, reference: false, content: .skipped).encode())] + feed()
        }
    }

    public mutating func tick(at now: Double) -> [SubmitAction] {
        switch phase {
        case .over:
            return []
        case .resubmitting(let at, let lostSince):
            guard now >= at else { return [] }
            return resubmit(lostSince: lostSince, at: now)
        case .submitting, .running:
            break
        }
        var actions: [SubmitAction] = []
        if now - lastBeat >= settings.heartbeatInterval {
            // The job id tells a restarted coordinator, which does not know it, to say so.
            actions.append(.send(accepted.map { WireMessage(.heartbeat, JobRef(job: $0.job)) } ?? WireMessage(type: .heartbeat)))
            lastBeat = now
        }
        let silence = now - lastHeard
        switch phase {
        case .submitting(let attempt, .unheard(let noticeAt)):
            if now >= noticeAt && silence <= settings.connectTimeout {
                actions.append(.diagnostic(.waitingForCoordinator(seconds: Int((now - started).rounded()))))
                phase = .submitting(attempt, .unheard(noticeAt: now + settings.waitingNoticeInterval))
            }
            if silence > settings.connectTimeout { return finish(.failure(.noAnswer(within: Int(settings.connectTimeout)))) }
        case .submitting(_, .heard):
            if silence > settings.connectTimeout { return finish(.failure(.noAnswer(within: Int(settings.connectTimeout)))) }
        case .submitting(_, .resubmitted):
            if silence > settings.silenceTimeout { return lose(.noAnswerYet, at: now) }
        case .running:
            if silence > settings.silenceTimeout { return lose(.silent(seconds: Int(silence)), at: now) }
        case .resubmitting, .over:
            break
        }
        return actions
    }

    /// The user stopped the client: the coordinator drops the job's work at once.
    public mutating func stop() -> [SubmitAction] {
        guard !isOver else { return [] }
        var actions: [SubmitAction] = []
        if let job { actions.append(.send(WireMessage(.cancel, JobRef(job: job)))) }
        return actions + finish(.failure(SubmitError(reason: .interrupted)))
    }

    // MARK: - Steps

    private mutating func answer(_ image: Int, _ verdict: ScoringOutcome) -> [SubmitAction] {
        remaining.remove(image)
        if case .running(var attempt, let a) = phase {
            attempt.outstanding -= 1
            phase = .running(attempt, a)
        }
        if case .failed = verdict { failed += 1 } else { scored += 1 }
        return [.deliver(index: image, verdict)]
    }

    /// The coordinator lost the job: submit again after a delay, unless the grace period is over.
    private mutating func lose(_ why: JobLoss, at now: Double) -> [SubmitAction] {
        var since = now
        if case .submitting(_, .resubmitted(let lostSince)) = phase { since = lostSince }
        if now - since > settings.reconnectGrace {
            return finish(.failure(SubmitError(reason: .notTakenBack(why, graceSeconds: Int(settings.reconnectGrace)))))
        }
        phase = .resubmitting(at: now + delay, lostSince: since)
        let lost = SubmitDiagnostic.lost(why, unanswered: remaining.count, resubmitIn: delay)
        delay = min(delay * 2, settings.maxResubmitDelay)
        return [.diagnostic(lost)]
    }

    private mutating func resubmit(lostSince: Double, at now: Double) -> [SubmitAction] {
        phase = .submitting(Attempt(images: remaining.sorted()), .resubmitted(lostSince: lostSince))
        attempts += 1
        lastHeard = now
        lastBeat = now
        return [.reconnect, .send(submitMessage())]
    }

    /// More images to load, within the credit.
    private mutating func feed() -> [SubmitAction] {
        guard case .running(var attempt, let a) = phase else { return [] }
        var actions: [SubmitAction] = []
        while attempt.nextImage < attempt.images.count && attempt.outstanding < a.credit {
            actions.append(.load(index: attempt.images[attempt.nextImage], reference: false))
            attempt.nextImage += 1
            attempt.outstanding += 1
        }
        phase = .running(attempt, a)
        return actions
    }

    private mutating func finish(_ result: Result<JobSummary, SubmitError>) -> [SubmitAction] {
        phase = .over(result)
        return [.finished(result)]
    }
}
