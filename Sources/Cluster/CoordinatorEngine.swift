import Foundation
import Logging
import Protocol
import WinCLIP

/// The coordinator, after the ZeroMQ guide's Paranoid Pirate queue: one ROUTER socket that
/// workers and submitting clients connect to. Workers announce their model (READY) and get
/// units by readiness, one at a time; silent workers expire and their units go back to the
/// front of the queue. Jobs are served oldest first, each on workers of one model fingerprint.
public final class CoordinatorEngine: @unchecked Sendable {
    public struct Settings: Sendable {
        public var endpoint: String
        public var heartbeatInterval: Double = 1.0
        /// Silence after which a worker is taken for dead and its units re-queued.
        public var workerExpiry: Double = 5.0
        /// Silence after which a client's job is cancelled.
        public var clientExpiry: Double = 30.0
        /// Images a client may have outstanding per live worker (bounded coordinator memory).
        public var imagesInFlightPerWorker = 2
        public init(endpoint: String) { self.endpoint = endpoint }
    }

    final class WorkerRecord {
        let identity: Data
        var info: Ready
        var lastSeen = now()
        var idleSince = now()
        var inFlight: [(job: UInt64, unit: Int)] = []
        var contexts: Set<UInt64> = []
        init(identity: Data, info: Ready) {
            self.identity = identity
            self.info = info
        }
    }

    let settings: Settings
    let logger: Logger
    let socket: ZMQSocket
    var workers: [Data: WorkerRecord] = [:]
    var jobs: [UInt64: CoordinatorJob] = [:]
    var jobOrder: [UInt64] = []
    var nextJob: UInt64
    var lastHeartbeat = 0.0
    /// Text and reference embeddings of earlier jobs, per model fingerprint.
    let setupCache = SetupCache()

    /// Binds at once, so that a bad endpoint fails before any work.
    public init(context: ZMQContext, settings: Settings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        socket = try ZMQSocket(context, .router)
        try socket.setInt(33, 1)  // ZMQ_ROUTER_MANDATORY: a send to a vanished peer is an error, not silence
        try socket.setMaxMessageSize(256 << 20)
        try socket.bind(settings.endpoint)
        nextJob = UInt64(Date().timeIntervalSince1970 * 1000) & 0xFFFF_FFFF
    }

    public var boundEndpoint: String { socket.lastEndpoint }

    public func run(stop: StopSignal) {
        logger.info("coordinator listening on \(boundEndpoint)")
        while !stop.isRequested {
            do {
                if let frames = try socket.receive(timeoutMs: 20) { handle(frames) }
                // Drain what else is waiting before housekeeping.
                var drained = 0
                while drained < 100, let frames = try socket.receive(timeoutMs: 0) { handle(frames); drained += 1 }
            } catch {
                if (error as? ZMQError)?.code == 156384765 /* ETERM */ { return }
                logger.error("coordinator: \(error)")
            }
            tick()
        }
        logger.info("coordinator stopping")
        socket.close()
    }

    // MARK: - Messages

    func handle(_ frames: [Data]) {
        guard frames.count >= 2 else { return }
        let peer = frames[0]
        let message: WireMessage
        do { message = try WireMessage(frames: Array(frames.dropFirst())) } catch {
            logger.warning("coordinator: dropped a malformed message from peer \(peer.hexPrefix): \(error)")
            return
        }
        do {
            switch message.type {
            case .ready: try workerReady(peer, try message.decode(Ready.self))
            case .heartbeat: heartbeat(from: peer)
            case .result: try unitResult(peer, message)
            case .bye: workerLeft(peer, reason: "said goodbye")
            case .submit: submit(peer, try message.decode(SubmitRequest.self))
            case .image: try image(peer, message)
            default: logger.warning("coordinator: unexpected \(message.type) from \(peer.hexPrefix)")
            }
        } catch {
            logger.warning("coordinator: rejected \(message.type) from \(peer.hexPrefix): \(error)")
        }
    }

    func send(_ peer: Data, _ message: WireMessage) {
        do { try socket.send([peer] + message.frames, dontWait: true) } catch {
            logger.warning("coordinator: cannot send \(message.type) to \(peer.hexPrefix): \(error)")
        }
    }

    func workerReady(_ peer: Data, _ info: Ready) throws {
        if let old = workers[peer] {
            requeue(old, reason: "announced itself again")  // it reconnected and forgot its units
        }
        let record = WorkerRecord(identity: peer, info: info)
        workers[peer] = record
        logger.info("worker \(info.name) joined: model \(info.model), input \(info.imageSize), fingerprint \(info.fingerprint); \(workers.count) worker(s)")
        send(peer, WireMessage(type: .heartbeat))
    }

    func heartbeat(from peer: Data) {
        if let w = workers[peer] { w.lastSeen = now(); return }
        for job in jobs.values where job.client == peer { job.lastClientSeen = now() }
    }

    func workerLeft(_ peer: Data, reason: String) {
        guard let w = workers.removeValue(forKey: peer) else { return }
        requeue(w, reason: reason)
        logger.info("worker \(w.info.name) \(reason); \(workers.count) worker(s) left")
    }

    /// Puts a worker's in-flight units back at the front of their jobs' queues.
    func requeue(_ w: WorkerRecord, reason: String) {
        for (jobID, unit) in w.inFlight {
            guard let job = jobs[jobID], let entry = job.inFlight.removeValue(forKey: unit) else { continue }
            job.pending.insert(entry.task, at: 0)
            logger.warning("unit \(unit) of job \(jobID) re-queued: worker \(w.info.name) \(reason)")
        }
        w.inFlight.removeAll()
        w.contexts.removeAll()
    }

    func submit(_ peer: Data, _ request: SubmitRequest) {
        var problems: [String] = []
        if request.options.scales.isEmpty || request.options.scales.contains(where: { $0 < 1 }) { problems.append("scales must be positive integers") }
        if request.imageCount < 0 || request.referenceCount < 0 { problems.append("negative counts") }
        if request.className.isEmpty { problems.append("empty class name") }
        if !problems.isEmpty {
            send(peer, WireMessage(.refused, Refused(reason: problems.joined(separator: "; "))))
            return
        }
        nextJob += 1
        let job = CoordinatorJob(id: nextJob, client: peer, request: request)
        jobs[job.id] = job
        jobOrder.append(job.id)
        logger.info("job \(job.id): \(request.imageCount) image(s), class '\(request.className)', \(request.referenceCount)-shot, scales \(request.options.scales)")
        tryAccept(job)
    }

    func image(_ peer: Data, _ message: WireMessage) throws {
        let item = try message.decode(ImageItem.self)
        guard let job = jobs[item.job], job.client == peer else { throw ProtocolError("IMAGE for unknown job \(item.job)") }
        job.lastClientSeen = now()
        if item.skipped == true, !item.reference, item.index >= 0, item.index < job.request.imageCount {
            job.answered += 1
            job.failed += 1
            if job.isComplete { finish(job, error: nil) }
            return
        }
        guard message.blobs.count == 1, message.blobs[0].count == 4 * 3 * job.imageSize * job.imageSize else {
            throw ProtocolError("IMAGE \(item.index) of job \(job.id) must carry one [3, \(job.imageSize), \(job.imageSize)] float32 blob")
        }
        if item.reference {
            guard job.phase == .references, item.index >= 0, item.index < job.request.referenceCount else {
                throw ProtocolError("unexpected reference image \(item.index) for job \(job.id)")
            }
            job.referencePixels[item.index] = message.blobs[0]
            if job.referencePixels.count == job.request.referenceCount { startSetup(job) }
            return
        }
        guard item.index >= 0, item.index < job.request.imageCount, job.images[item.index] == nil, job.waitingImages[item.index] == nil else {
            throw ProtocolError("image index \(item.index) out of range or repeated for job \(job.id)")
        }
        if job.phase == .scoring { job.enqueueImage(index: item.index, pixels: message.blobs[0]) } else { job.waitingImages[item.index] = message.blobs[0] }
    }

    // MARK: - Job life

    func liveWorkers(_ fingerprint: String) -> [WorkerRecord] {
        workers.values.filter { $0.info.fingerprint == fingerprint }
    }

    /// Pins the job to a model fingerprint and answers ACCEPTED (or REFUSED).
    func tryAccept(_ job: CoordinatorJob) {
        guard job.phase == .waitingForWorkers else { return }
        var counts: [String: Int] = [:]
        for w in workers.values { counts[w.info.fingerprint, default: 0] += 1 }
        let chosen: String?
        if let wanted = job.request.fingerprint { chosen = counts[wanted] != nil ? wanted : nil } else {
            chosen = counts.max { a, b in a.value != b.value ? a.value < b.value : a.key > b.key }?.key
        }
        guard let fingerprint = chosen, let sample = liveWorkers(fingerprint).first else {
            if now() - job.lastWaitingNote > 10 {
                let what = job.request.fingerprint.map { "a worker with model fingerprint \($0)" } ?? "a worker"
                send(job.client, WireMessage(.status, StatusNote(job: job.id, message: "waiting for \(what) to connect to the coordinator")))
                job.lastWaitingNote = now()
            }
            return
        }
        let grid = sample.info.gridSize
        if let bad = job.request.options.scales.first(where: { $0 > grid }) {
            finish(job, error: "window scale \(bad) exceeds the \(grid)x\(grid) patch grid of model \(sample.info.model)")
            return
        }
        job.fingerprint = fingerprint
        job.model = sample.info.model
        job.imageSize = sample.info.imageSize
        job.gridSize = grid
        do {
            job.assembler = try ScoreAssembler(gridSize: grid, imageSize: job.imageSize, scales: job.request.options.scales)
            job.plan = try ImagePlan(gridSize: grid, scales: job.request.options.scales, attention: job.request.options.windowAttention)
        } catch {
            finish(job, error: "\(error)")
            return
        }
        let credit = max(4, settings.imagesInFlightPerWorker * liveWorkers(fingerprint).count)
        send(job.client, WireMessage(.accepted, Accepted(job: job.id, imageSize: job.imageSize, fingerprint: fingerprint, model: job.model, credit: credit)))
        logger.info("job \(job.id) accepted on model \(job.model) [\(fingerprint)], \(liveWorkers(fingerprint).count) worker(s)")
        job.phase = .references
        if job.request.referenceCount == 0 { startSetup(job) }
    }

    func startSetup(_ job: CoordinatorJob) {
        job.phase = .setup
        if let cached = setupCache.text(job.textKey) {
            job.text = cached
            logger.info("job \(job.id): text embeddings of '\(job.request.className)' from cache")
        } else {
            job.pending.append(job.makeUnit(.text, blobs: []))
        }
        if job.fewShot {
            let blobs = (0..<job.request.referenceCount).map { job.referencePixels[$0]! }
            job.referenceKey = SetupCache.referenceKey(fingerprint: job.fingerprint, options: job.request.options, pixels: blobs)
            if let cached = setupCache.references(job.referenceKey) {
                job.references = cached
                logger.info("job \(job.id): reference embeddings from cache")
            } else {
                job.pending.append(job.makeUnit(.references, blobs: blobs))
            }
            job.referencePixels.removeAll()
        }
        setupFinished(job)
    }

    func setupFinished(_ job: CoordinatorJob) {
        guard job.phase == .setup, let text = job.text, !job.fewShot || job.references != nil else { return }
        var blobs = [FloatBlob.encode(text.normal), FloatBlob.encode(text.anomalous)]
        if let refs = job.references { blobs += [FloatBlob.encode(refs.patchTokens)] + refs.windows.map(FloatBlob.encode) }
        job.contextMessage = WireMessage(.context, JobContext(job: job.id, referenceCount: job.references?.count ?? 0), blobs: blobs)
        job.phase = .scoring
        logger.info("job \(job.id): text\(job.fewShot ? " and reference" : "") embeddings ready; scoring")
        for index in job.waitingImages.keys.sorted() { job.enqueueImage(index: index, pixels: job.waitingImages[index]!) }
        job.waitingImages.removeAll()
        if job.isComplete { finish(job, error: nil) }
    }

    func unitResult(_ peer: Data, _ message: WireMessage) throws {
        guard let w = workers[peer] else { throw ProtocolError("RESULT from an unknown worker") }
        w.lastSeen = now()
        var result: UnitResult
        do { result = try message.decode(UnitResult.self) } catch {
            // Which unit it answers is unreadable; a worker answers its units in order, so it
            // is the oldest one it holds. It fails (and frees the worker) instead of hanging.
            guard let oldest = w.inFlight.first else { throw error }
            result = UnitResult(job: oldest.job, unit: oldest.unit, error: "malformed RESULT from worker \(w.info.name): \(error)")
        }
        w.inFlight.removeAll { $0.job == result.job && $0.unit == result.unit }
        if w.inFlight.isEmpty { w.idleSince = now() }
        guard let job = jobs[result.job], let entry = job.inFlight[result.unit], entry.worker == peer else {
            return  // a unit of a cancelled job, or one re-queued after this worker was presumed dead
        }
        job.inFlight[result.unit] = nil
        job.workersUsed.insert(w.info.name)
        let spec = entry.task.spec
        if let error = result.error {
            logger.warning("job \(job.id) unit \(spec.unit) (\(spec.kind)) failed on \(w.info.name): \(error)")
        }
        do {
            switch spec.kind {
            case .text:
                if let error = result.error { finish(job, error: "text embeddings failed: \(error)"); return }
                let e = message.blobs.first.map { $0.count / 4 } ?? 0
                job.text = TextEmbeddings(normal: try message.floats(0, count: e), anomalous: try message.floats(1, count: e))
                setupCache.store(text: job.text!, key: job.textKey)
                setupFinished(job)
            case .references:
                if let error = result.error { finish(job, error: "reference embeddings failed: \(error)"); return }
                guard message.blobs.count == 1 + job.request.options.scales.count else { throw ProtocolError("references RESULT with \(message.blobs.count) blobs") }
                job.references = ReferenceEmbeddings(count: job.request.referenceCount, patchTokens: try message.floats(0),
                                                     windows: try (1..<message.blobs.count).map { try message.floats($0) })
                setupCache.store(references: job.references!, key: job.referenceKey)
                setupFinished(job)
            case .full, .windows:
                guard let index = spec.image, let work = job.images[index] else { return }
                work.outstanding -= 1
                if let error = result.error {
                    work.error = work.error ?? error
                } else if work.error == nil {
                    let unit: ImageUnit, scores: UnitScores
                    let few = job.fewShot && message.blobs.count > 1 ? try message.floats(1) : nil
                    if spec.kind == .full {
                        unit = .full
                        scores = .full(imageScore: try message.floats(0, count: 1)[0], fewShotPatches: few)
                    } else {
                        unit = .windows(scaleIndex: spec.scaleIndex!, windows: spec.windowStart!..<(spec.windowStart! + spec.windowCount!))
                        scores = .windows(zeroShot: try message.floats(0), fewShot: few)
                    }
                    do { try work.assembly.add(unit, scores) } catch {
                        work.error = "worker \(w.info.name) returned unusable scores: \(error)"
                    }
                }
                if work.outstanding == 0 { complete(work, of: job) }
            }
        } catch {
            // A malformed result is the unit failing, not the coordinator.
            if let index = spec.image, let work = job.images[index] {
                work.error = work.error ?? "malformed result from worker \(w.info.name): \(error)"
                if work.outstanding == 0 { complete(work, of: job) }
            } else {
                finish(job, error: "malformed setup result from worker \(w.info.name): \(error)")
            }
        }
    }

    /// All units of an image are in: assemble and answer the client.
    func complete(_ work: ImageWork, of job: CoordinatorJob) {
        job.images[work.index] = nil
        job.answered += 1
        if let error = work.error {
            job.failed += 1
            send(job.client, WireMessage(.imageResult, ImageOutcome(job: job.id, index: work.index, score: nil, error: error)))
        } else {
            let result = job.assembler!.assemble(work.assembly.windowScores!)
            send(job.client, WireMessage(.imageResult, ImageOutcome(job: job.id, index: work.index, score: result.score, error: nil),
                                         blobs: job.request.wantMaps ? [FloatBlob.encode(result.map)] : []))
        }
        if job.isComplete { finish(job, error: nil) }
    }

    func finish(_ job: CoordinatorJob, error: String?) {
        let summary = JobSummary(job: job.id, scored: job.answered - job.failed, failed: job.failed, seconds: now() - job.started,
                                 workers: job.workersUsed.sorted(), error: error)
        if let error {
            logger.error("job \(job.id) failed: \(error)")
            if job.phase == .waitingForWorkers { send(job.client, WireMessage(.refused, Refused(reason: error))) }
        } else {
            logger.info("job \(job.id) done: \(summary.scored) scored, \(summary.failed) failed, \(String(format: "%.1f", summary.seconds)) s")
        }
        send(job.client, WireMessage(.jobDone, summary))
        drop(job)
    }

    func drop(_ job: CoordinatorJob) {
        jobs[job.id] = nil
        jobOrder.removeAll { $0 == job.id }
        for w in workers.values { w.contexts.remove(job.id) }
    }

    // MARK: - Housekeeping and dispatch

    func tick() {
        let t = now()
        for w in Array(workers.values) where t - w.lastSeen > settings.workerExpiry {
            workerLeft(w.identity, reason: "went silent for \(Int(t - w.lastSeen)) s")
        }
        for id in jobOrder {
            guard let job = jobs[id] else { continue }
            if t - job.lastClientSeen > settings.clientExpiry {
                logger.warning("job \(id) cancelled: its client went silent for \(Int(t - job.lastClientSeen)) s")
                drop(job)
                continue
            }
            if job.phase == .waitingForWorkers { tryAccept(job) }
        }
        noteForeignWorkers()
        dispatch()
        if t - lastHeartbeat >= settings.heartbeatInterval {
            lastHeartbeat = t
            for w in workers.values { send(w.identity, WireMessage(type: .heartbeat)) }
            for job in jobs.values { send(job.client, WireMessage(type: .heartbeat)) }
        }
    }

    /// Tells a job's client, once per worker, why a connected worker is not used for it.
    func noteForeignWorkers() {
        for id in jobOrder {
            guard let job = jobs[id], job.phase != .waitingForWorkers else { continue }
            for w in workers.values where w.info.fingerprint != job.fingerprint && !job.notedWorkers.contains(w.identity) {
                job.notedWorkers.insert(w.identity)
                let note = "worker \(w.info.name) not used for job \(job.id): its model fingerprint \(w.info.fingerprint) (\(w.info.model)) differs from the job's \(job.fingerprint) (\(job.model)); one job never mixes models or weights"
                logger.warning("\(note)")
                send(job.client, WireMessage(.status, StatusNote(job: job.id, message: note)))
            }
        }
    }

    /// Hands units to idle workers, the longest-idle first, oldest job first.
    func dispatch() {
        var idle = workers.values.filter { $0.inFlight.isEmpty }.sorted { $0.idleSince < $1.idleSince }
        guard !idle.isEmpty else { return }
        for id in jobOrder {
            guard let job = jobs[id], job.phase == .setup || job.phase == .scoring else { continue }
            while !job.pending.isEmpty, let i = idle.firstIndex(where: { $0.info.fingerprint == job.fingerprint }) {
                let w = idle.remove(at: i)
                let task = job.pending.removeFirst()
                if (task.spec.kind == .full || task.spec.kind == .windows) && !w.contexts.contains(job.id), let context = job.contextMessage {
                    send(w.identity, context)
                    w.contexts.insert(job.id)
                }
                send(w.identity, WireMessage(.unit, task.spec, blobs: task.blobs))
                job.inFlight[task.spec.unit] = (task, w.identity)
                w.inFlight.append((job.id, task.spec.unit))
            }
            if idle.isEmpty { return }
        }
    }
}

extension Data {
    var hexPrefix: String { prefix(8).map { String(format: "%02x", $0) }.joined() }
}
