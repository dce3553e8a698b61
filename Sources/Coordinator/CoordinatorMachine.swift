import Foundation
import Logging
import Options
import Protocol
import Transport
import WinCLIP

/// The coordinator's timing and limits.
public struct CoordinatorSettings: Sendable, Equatable {
    /// Seconds between heartbeats to workers and clients.
    public var heartbeatInterval: Double = 1.0
    /// Silence after which a worker is taken for dead and its units re-queued.
    public var workerExpiry: Double = 5.0
    /// Silence after which a client's job is cancelled.
    public var clientExpiry: Double = 30.0
    /// Images a client may have outstanding per live worker (bounded coordinator memory).
    public var imagesInFlightPerWorker = 2
    /// Units a worker may hold at once: one computing, the rest queued on the worker, so that
    /// it never waits for a round trip between units.
    public var unitsPerWorker = 2
    /// Seconds between "still waiting for a worker" notes to a client.
    public var waitingNoteInterval: Double = 10
    /// A job with no live worker of its model for this long fails (instead of waiting forever).
    public var noWorkerTimeout: Double = 600
    /// When a unit counts as late (then another worker is asked too).
    var deadlines = UnitDeadlines.Settings()
    /// Missed deadlines, or bad answers proven wrong, after which a worker gets no more work
    /// until it reconnects (`quarantine_after`, K).
    public var quarantineAfter = 3
    /// Distinct workers a unit is tried on before its bad answers become an error row (or, for
    /// a setup unit, fail the job) (`unit_attempts`).
    public var unitAttempts = 3
    /// How long a setup unit retried after a bad answer waits for another worker to take it
    /// before the job fails.
    public var setupRetryWait: Double = 10
    // Security (CoordinatorMachine+Admission.swift, SetupVerification.swift).
    /// Compute setup embeddings on two workers and use them only when they agree.
    public var verifySetup = SetupVerificationPolicy.auto
    /// Name workers to clients by their self-declared host:pid (else key name or opaque id).
    public var revealWorkerHosts = false
    public var maxJobsPerClient = 4
    /// Reference images per job (bounds the largest frame, `FrameLimit`).
    public var maxReferences = 16
    /// The model this coordinator serves (`serve`: from model.config); READY is checked
    /// against it (ReadyCheck.swift). nil: only for plausibility.
    public var model: CoordinatorModel?
    public init() {}

    /// Deadline = factor x the running median compute time of the unit's kind, at least `floor`
    /// seconds (`initial` until a few units of the kind finished).
    public mutating func setDeadlines(factor: Double, floor: Double, initial: Double) {
        deadlines.factor = factor
        deadlines.floor = floor
        deadlines.initial = initial
    }
}

/// What the coordinator's I/O loop must do.
public enum CoordinatorAction: Equatable, Sendable {
    case send(PeerID, WireMessage)
    /// A fact for operators (a log line: CoordinatorDiagnostic+Message.swift).
    case diagnostic(CoordinatorDiagnostic)
    /// Something operators count (metrics; Observability/RackEvent.swift).
    case observe(RackEvent)
}

/// The coordinator's protocol logic, after the ZeroMQ guide's Paranoid Pirate queue, as a pure
/// state machine: it takes events (frames from a peer, ticks of the clock) with the time they
/// happened and returns actions (frames to send, log lines). No sockets, threads or clocks
/// inside, so tests drive it directly with a fake clock.
///
/// Workers announce their model (READY) and get units by readiness, up to
/// `unitsPerWorker` at a time; silent workers expire and their units go back to the front of
/// the queue. Jobs are served oldest first, each on workers of one model fingerprint.
public struct CoordinatorMachine: Sendable {
    public let settings: CoordinatorSettings
    var workers = WorkerRegistry()
    package var jobs: [JobID: CoordinatorJob] = [:]
    var jobOrder: [JobID] = []
    var nextJob: JobID
    var lastHeartbeat = -Double.infinity
    /// Text and reference embeddings of earlier jobs, per model fingerprint.
    var setupCache = SetupCache()
    var unitDeadlines: UnitDeadlines
    /// Role refusals logged, opaque worker names (CoordinatorMachine+Admission.swift).
    var admission = AdmissionState()
    /// Clock offsets for status snapshots (Observability/CoordinatorMachine+Status.swift).
    public var observability = ObservabilityClock()
    private var actions: [CoordinatorAction] = []

    /// `firstJobID` seeds the job ids (a restarted coordinator should not reuse the last one's).
    public init(settings: CoordinatorSettings = CoordinatorSettings(), firstJobID: JobID = 1) {
        self.settings = settings
        nextJob = firstJobID
        unitDeadlines = UnitDeadlines(settings: settings.deadlines)
    }

    // MARK: - Events

    /// A message from a peer (its routing id and the frames after it), with the identity the
    /// transport authenticated (`.anyone` without authentication).
    public mutating func receive(_ frames: [Data], from peer: PeerID, as identity: PeerIdentity = .anyone, at now: Double) -> [CoordinatorAction] {
        let message: WireMessage
        do { message = try WireMessage(frames: frames) } catch {
            diagnose(.malformedMessage(from: describe(peer, as: identity), error: "\(error)"))
            return takeActions()
        }
        guard admit(message.type, from: peer, as: identity) else { return takeActions() }
        do {
            switch message.type {
            case .ready:
                let ready = try message.decode(Ready.self)
                if let problem = ReadyCheck.problem(ready, model: settings.model) {
                    refuseReady(ready, from: peer, problem)
                } else {
                    workerReady(peer, ready, as: identity, at: now)
                }
            case .heartbeat: heartbeat(from: peer, message, at: now)
            case .result: try unitResult(peer, message, at: now)
            case .bye: workerLeft(peer, .saidGoodbye)
            case .submit: submit(peer, try message.decode(SubmitRequest.self), as: identity, at: now)
            case .image: try image(peer, message, at: now)
            case .cancel: cancel(peer, try message.decode(JobRef.self), at: now)
            case .statusRequest: statusRequested(by: peer, as: identity, at: now)
            default: diagnose(.unexpectedMessage(message.type, from: describe(peer, as: identity)))
            }
        } catch {
            diagnose(.rejectedMessage(message.type, from: describe(peer, as: identity), error: "\(error)"))
        }
        dispatch(at: now)
        return takeActions()
    }

    /// Housekeeping: expiries, waiting jobs, heartbeats, dispatch.
    public mutating func tick(at now: Double) -> [CoordinatorAction] {
        for w in workers.all where now - w.lastSeen > settings.workerExpiry {
            workerLeft(w.peer, .silent(seconds: Int(now - w.lastSeen)))
        }
        for id in jobOrder {
            guard let job = jobs[id] else { continue }
            if now - job.lastClientSeen > settings.clientExpiry {
                finish(id, .cancelled(.clientSilent(seconds: Int(now - job.lastClientSeen))), at: now)
                continue
            }
            if job.phase == .waitingForWorkers { tryAccept(id, at: now) }
            checkWorkersExist(id, at: now)
        }
        checkDeadlines(at: now)
        giveUpStrandedRetries(at: now)
        abandonUnbreakableTies(at: now)
        noteForeignWorkers()
        relaxSetupChecks(at: now)
        dispatch(at: now)
        if now - lastHeartbeat >= settings.heartbeatInterval {
            lastHeartbeat = now
            for w in workers.all { send(w.peer, WireMessage(type: .heartbeat)) }
            for job in jobs.values { send(job.client, WireMessage(type: .heartbeat)) }
        }
        return takeActions()
    }

    /// The coordinator is stopping: every job fails with `reason` and workers are told to go
    /// (they reconnect to the next coordinator on the same endpoint).
    public mutating func shutdown(reason: String, at now: Double) -> [CoordinatorAction] {
        for id in jobOrder { finish(id, .failed(reason, retryable: true), at: now) }
        for w in workers.all { send(w.peer, WireMessage(type: .bye)) }
        return takeActions()
    }

    // MARK: - What tests and logs look at

    /// How logs name a peer: a worker by its name, a client by its job, else by its key; never
    /// by its routing id (a peer that reads ids in a log could take its neighbours').
    public func describe(_ peer: PeerID, as identity: PeerIdentity = .anyone) -> String {
        if let w = workers[peer] { return "worker \(w.logName)" }
        if let id = jobOrder.first(where: { jobs[$0]?.client == peer }) { return "the client of job \(id)" }
        return identity == .anyone ? "an unregistered peer" : "\(identity)"
    }

    public var workerCount: Int { workers.count }
    public var jobCount: Int { jobs.count }
    public func phase(of job: JobID) -> JobPhase? { jobs[job]?.phase }
    /// Units waiting and in flight, per job.
    public func unitCounts(of job: JobID) -> (pending: Int, inFlight: Int)? {
        jobs[job].map { ($0.pending.count, $0.inFlight.count) }
    }

    // MARK: - Workers

    mutating func workerReady(_ peer: PeerID, _ info: Ready, as identity: PeerIdentity = .anyone, at now: Double) {
        var name = workers[peer]?.publicName
        if workers[peer] != nil {
            requeue(peer, .announcedAgain)  // it reconnected and forgot its units
        }
        // The same process (same key, same host:pid) on a new connection, after a coordinator
        // restart or its own reconnect: the old registration is a ghost that would take units
        // and never answer. It is replaced, and the process keeps its name.
        if !info.name.isEmpty, let ghost = workers.all.first(where: { $0.peer != peer && $0.identity == identity && $0.info.name == info.name }) {
            name = name ?? ghost.publicName
            workerLeft(ghost.peer, .reconnected)
        }
        let shownName = name ?? publicName(for: info, identity: identity)
        var record = WorkerRecord(peer: peer, info: info, lastSeen: now, idleSince: now, identity: identity, publicName: shownName)
        record.joined = now
        workers[peer] = record
        diagnose(.workerJoined(worker: record.logName, model: info.model, imageSize: info.imageSize, fingerprint: info.fingerprint, workers: workers.count))
        send(peer, WireMessage(type: .heartbeat))
        for id in jobOrder where jobs[id]?.phase == .waitingForWorkers { tryAccept(id, at: now) }
    }

    mutating func heartbeat(from peer: PeerID, _ message: WireMessage, at now: Double) {
        if workers[peer] != nil { workers[peer]?.lastSeen = now; return }
        for id in jobOrder where jobs[id]?.client == peer { jobs[id]?.lastClientSeen = now }
        // A client beating for a job this coordinator does not know (it restarted, or dropped
        // the job): tell it, so that it submits again at once.
        if let ref = try? message.decode(JobRef.self), jobs[ref.job]?.client != peer {
            send(peer, WireMessage(.jobDone, JobSummary(job: ref.job, scored: 0, failed: 0, seconds: 0, workers: [],
                                                        error: "this coordinator does not know job \(ref.job) (it restarted?)", retryable: true)))
        }
    }

    mutating func workerLeft(_ peer: PeerID, _ why: WorkerDeparture) {
        guard workers[peer] != nil else { return }
        requeue(peer, why)
        guard let w = workers.remove(peer) else { return }
        diagnose(.workerLeft(worker: w.logName, why, workersLeft: workers.count))
    }

    /// Puts a worker's in-flight units back at the front of their jobs' queues (those another
    /// worker also holds stay with that one).
    mutating func requeue(_ peer: PeerID, _ why: WorkerDeparture) {
        guard var w = workers[peer] else { return }
        for ref in w.inFlight.reversed().map(\.ref) {
            guard let kind = jobs[ref.job]?.release(ref.unit, heldBy: peer) else { continue }
            diagnose(.unitRequeued(job: ref.job, unit: ref.unit, kind: kind, worker: w.logName, why))
            observe(.unitRequeued(kind))
        }
        w.inFlight.removeAll()
        w.contexts.removeAll()
        w.headStartedAt = nil
        workers[peer] = w
    }

    // MARK: - Jobs

    /// REFUSED to a SUBMIT, and the fact for the log.
    mutating func refuse(_ peer: PeerID, _ refusal: JobRefusal) {
        diagnose(.jobRefused(peer: describe(peer), refusal))
        send(peer, WireMessage(.refused, Refused(reason: refusal.message)))
    }

    mutating func submit(_ peer: PeerID, _ request: SubmitRequest, as identity: PeerIdentity = .anyone, at now: Double) {
        let refusal: JobRefusal?
        do {
            try request.options.validate(referenceCount: request.referenceCount)
            if request.imageCount < 0 {
                refusal = .negativeImageCount(request.imageCount)
            } else if request.options.className == nil {
                refusal = .noClassName
            } else if let limit = submitLimitRefusal(request, from: peer, as: identity) {
                observe(.peerRefused(.limit))
                refusal = limit
            } else {
                refusal = nil
            }
        } catch {
            refusal = .invalidOptions("\(error)")
        }
        if let refusal {
            refuse(peer, refusal)
            return
        }
        nextJob += 1
        let id = nextJob
        var job = CoordinatorJob(id: id, client: peer, request: request, now: now)
        job.owner = identity
        jobs[id] = job
        jobOrder.append(id)
        diagnose(.jobSubmitted(id, request))
        tryAccept(id, at: now)
    }

    mutating func cancel(_ peer: PeerID, _ ref: JobRef, at now: Double) {
        guard jobs[ref.job]?.client == peer else { return }
        finish(ref.job, .cancelled(.byClient), at: now)
    }

    /// Pins a waiting job to a model fingerprint and answers ACCEPTED (or REFUSED).
    mutating func tryAccept(_ id: JobID, at now: Double) {
        guard var job = jobs[id], job.phase == .waitingForWorkers else { return }
        let precision = job.request.options.precision
        let fingerprint: String?
        if let wanted = job.request.fingerprint {
            fingerprint = workers.with(fingerprint: wanted, precision: precision).isEmpty ? nil : wanted
        } else {
            fingerprint = workers.majorityFingerprint(precision: precision)
        }
        guard let fingerprint, let sample = workers.with(fingerprint: fingerprint, precision: precision).first else {
            if now - job.lastWaitingNote >= settings.waitingNoteInterval {
                var what = job.request.fingerprint.map { "a worker with model fingerprint \($0)" } ?? "a worker"
                if precision != .fp32 { what += " that can run \(precision.rawValue) (AVX512_BF16 or AMX, and libdnnl)" }
                send(job.client, WireMessage(.status, StatusNote(job: id, message: "waiting for \(what) to connect to the coordinator")))
                jobs[id]?.lastWaitingNote = now
            }
            return
        }
        let options = job.request.options
        let model: PinnedModel
        do {
            try options.validate(referenceCount: job.request.referenceCount, gridSize: sample.info.gridSize)
            let plan = try ImagePlan(gridSize: sample.info.gridSize, imageSize: sample.info.imageSize,
                                     scales: options.scales, attention: options.windowAttention)
            model = PinnedModel(fingerprint: fingerprint, name: sample.info.model, imageSize: sample.info.imageSize,
                                gridSize: sample.info.gridSize, plan: plan, mapPolicy: MapPolicy(options: options))
        } catch {
            finish(id, .failed("\(error) (model \(sample.info.model))"), at: now)
            return
        }
        let live = workers.with(fingerprint: fingerprint, precision: precision).count
        let credit = max(4, settings.imagesInFlightPerWorker * live)
        job.accept(on: model, credit: credit)
        send(job.client, WireMessage(.accepted, Accepted(job: id, imageSize: sample.info.imageSize, fingerprint: fingerprint,
                                                         model: sample.info.model, credit: credit)))
        diagnose(.jobAccepted(id, model: sample.info.model, fingerprint: fingerprint, workers: live, unitsPerImage: model.plan.units.count))
        jobs[id] = job
        // Workers of other models are named to the client now, not at the next tick (a short
        // job could end before it).
        noteForeignWorkers(of: id, model: model)
        if !job.fewShot { startSetup(id, model: model, at: now) }
    }

    mutating func image(_ peer: PeerID, _ message: WireMessage, at now: Double) throws {
        let item = try message.decode(ImageItem.self)
        guard let job = jobs[item.job], job.client == peer, let model = job.model else {
            send(peer, WireMessage(.jobDone, JobSummary(job: item.job, scored: 0, failed: 0, seconds: 0, workers: [],
                                                        error: "this coordinator does not know job \(item.job) (it restarted?)", retryable: true)))
            throw ProtocolError("IMAGE for unknown job \(item.job)")
        }
        jobs[item.job]?.lastClientSeen = now
        if item.reference {
            guard job.phase == .references, item.index >= 0, item.index < job.request.referenceCount, !item.skipped else {
                throw ProtocolError("unexpected reference image \(item.index) for job \(job.id)")
            }
        } else {
            guard item.index >= 0, item.index < job.request.imageCount, !job.holds(image: item.index) else {
                throw ProtocolError("image index \(item.index) out of range or repeated for job \(job.id)")
            }
            guard item.skipped || job.unansweredImages < job.credit else {
                throw ProtocolError("IMAGE \(item.index) of job \(job.id) exceeds the credit of \(job.credit) unanswered images")
            }
            if item.skipped {
                // The client could not decode it and wrote its error row itself.
                jobs[item.job]?.answered += 1
                jobs[item.job]?.failed += 1
                observe(.imageAnswered(scored: false))
                if jobs[item.job]?.isComplete == true { finish(item.job, .done, at: now) }
                return
            }
        }
        guard case .pixels(let pixels) = try ImageUpload(decoding: message, imageSize: model.imageSize).content else {
            throw ProtocolError("IMAGE \(item.index) of job \(job.id) carries no pixels")
        }
        guard jobs[item.job]?.receive(image: item.index, pixels: pixels, reference: item.reference) == true else {
            throw ProtocolError("IMAGE \(item.index) of job \(job.id) in phase \(job.phase)")
        }
        if item.reference, jobs[item.job]?.referencesState?.pixels.count == job.request.referenceCount {
            startSetup(item.job, model: model, at: now)
        }
    }

    /// Setup starts (a zero-shot job once accepted, a few-shot one once its K references are in):
    /// embeddings from the cache, or units queued for them.
    mutating func startSetup(_ id: JobID, model: PinnedModel, at now: Double) {
        guard var job = jobs[id] else { return }
        let collected = job.referencesState
        var setup = SetupState(model: model, verify: verifiesSetup(fingerprint: model.fingerprint), waitingImages: collected?.waitingImages ?? [:])
        if let cached = setupCache.text(SetupCache.textKey(fingerprint: model.fingerprint, options: job.request.options), verified: setup.verify) {
            setup.text = cached
            diagnose(.setupFromCache(id, .text, className: job.request.options.className ?? ""))
        } else {
            queueSetup(.text, setup: &setup, job: &job)
        }
        if job.fewShot {
            // All K are there: startSetup runs when the K-th arrives (indices are range-checked).
            let pixels = (0..<job.request.referenceCount).compactMap { collected?.pixels[$0] }
            setup.referenceKey = SetupCache.referenceKey(fingerprint: model.fingerprint, options: job.request.options, pixels: pixels)
            if let cached = setupCache.references(setup.referenceKey, verified: setup.verify) {
                setup.references = cached
                diagnose(.setupFromCache(id, .references, className: job.request.options.className ?? ""))
            } else {
                queueSetup(.references(pixels: pixels), setup: &setup, job: &job)
            }
        }
        job.beginSetup(setup)
        jobs[id] = job
        noteSetupVerification(id)
        setupFinished(id, at: now)
    }

    /// Moves a job to scoring once its text (and reference) embeddings are there.
    mutating func setupFinished(_ id: JobID, at now: Double) {
        guard let job = jobs[id], let setup = job.setup, let text = setup.text, !job.fewShot || setup.references != nil else { return }
        let context = JobEmbeddings(job: id, text: TextVectors(normal: text.normal, anomalous: text.anomalous),
                                    references: setup.references.map { ReferenceVectors(count: $0.count, patchTokens: $0.patchTokens, windows: $0.windows) }).encode()
        jobs[id]?.beginScoring(context: context)
        diagnose(.setupReady(id, fewShot: job.fewShot))
        if jobs[id]?.isComplete == true { finish(id, .done, at: now) }
    }

    /// Ends a job: JOB_DONE (and REFUSED if it never started) to its client, then it is removed.
    mutating func finish(_ id: JobID, _ ending: JobEnding, at now: Double) {
        guard let job = jobs.removeValue(forKey: id) else { return }
        jobOrder.removeAll { $0 == id }
        let wasWaiting = job.phase == .waitingForWorkers
        precondition(job.phase.canMove(to: ending.phase), "job \(id): no transition from \(job.phase) to \(ending.phase)")
        var retryable = false
        if case .failed(_, let again) = ending { retryable = again }
        let summary = JobSummary(job: id, scored: job.answered - job.failed, failed: job.failed, seconds: now - job.started,
                                 workers: job.workersUsed.sorted(), error: ending.error, retryable: retryable)
        switch ending {
        case .done:
            diagnose(.jobDone(id, scored: summary.scored, failed: summary.failed, seconds: summary.seconds))
        case .cancelled(let why):
            diagnose(.jobCancelled(id, why))
        case .failed(let reason, _):
            diagnose(.jobFailed(id, reason: reason))
            if wasWaiting && !retryable { send(job.client, WireMessage(.refused, Refused(reason: reason))) }
        }
        send(job.client, WireMessage(.jobDone, summary))
        workers.forgetContext(of: id)
    }

    // MARK: - Dispatch

    /// Tells a job's client, once per worker, why a connected worker is not used for it.
    mutating func noteForeignWorkers() {
        for id in jobOrder {
            guard let model = jobs[id]?.model else { continue }
            noteForeignWorkers(of: id, model: model)
        }
    }

    mutating func noteForeignWorkers(of id: JobID, model: PinnedModel) {
        guard let job = jobs[id] else { return }
        for w in workers.all where w.info.fingerprint != model.fingerprint && !job.notedWorkers.contains(w.peer) {
            jobs[id]?.notedWorkers.insert(w.peer)
            tellClient(job, .workerNotUsed(job: id, worker: w.publicName, fingerprint: w.info.fingerprint, model: w.info.model,
                                           jobFingerprint: model.fingerprint, jobModel: model.name))
        }
    }

    /// Hands units to workers with room, the least loaded and longest idle first, oldest job
    /// first; one unit per worker per round, so that a prefetch never starves another worker.
    mutating func dispatch(at now: Double) {
        var assigned = true
        while assigned && hasDispatchableUnits {
            assigned = false
            var available = workers.available(prefetch: settings.unitsPerWorker)
            for id in jobOrder where !available.isEmpty {
                guard let job = jobs[id], job.phase == .setup || job.phase == .scoring, let model = job.model else { continue }
                while let (t, i) = placement(of: id, among: available, fingerprint: model.fingerprint),
                      let task = jobs[id]?.pending.remove(at: t) {
                    let peer = available.remove(at: i)
                    let kind = task.spec.kind
                    if (kind == .full || kind == .windows), let context = job.scoring?.context, workers[peer]?.contexts.insert(id).inserted == true {
                        send(peer, context)
                    }
                    send(peer, task.spec.encode())
                    jobs[id]?.handOut(task, to: peer, at: now)
                    workers[peer]?.hold(HeldUnit(ref: UnitRef(job: id, unit: task.spec.unit), kind: kind, dispatchedAt: now), at: now)
                    assigned = true
                }
            }
        }
    }

    /// Some job that may dispatch has a unit waiting (else `dispatch` need not rank the workers).
    var hasDispatchableUnits: Bool {
        jobOrder.contains { id in
            guard let job = jobs[id] else { return false }
            return (job.phase == .setup || job.phase == .scoring) && job.model != nil && !job.pending.isEmpty
        }
    }

    // MARK: - Actions

    mutating func send(_ peer: PeerID, _ message: WireMessage) { actions.append(.send(peer, message)) }
    mutating func diagnose(_ diagnostic: CoordinatorDiagnostic) { actions.append(.diagnostic(diagnostic)) }
    /// A diagnostic that the job's client is told about too (a STATUS note).
    mutating func tellClient(_ job: CoordinatorJob, _ diagnostic: CoordinatorDiagnostic) {
        diagnose(diagnostic)
        if let note = diagnostic.clientNote { send(job.client, WireMessage(.status, StatusNote(job: job.id, message: note))) }
    }
    mutating func observe(_ event: RackEvent) { actions.append(.observe(event)) }
    mutating func takeActions() -> [CoordinatorAction] {
        defer { actions.removeAll(keepingCapacity: true) }
        return actions
    }
}
