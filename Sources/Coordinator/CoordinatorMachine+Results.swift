import Foundation
import Logging
import Protocol
import WinCLIP

/// RESULT messages: a worker is freed by every one it sends, setup results complete a job's
/// setup, image units fill the image's assembly and finished images go to the client.
extension CoordinatorMachine {
    mutating func unitResult(_ peer: PeerID, _ message: WireMessage, at now: Double) throws {
        guard var worker = workers[peer] else { throw ProtocolError("RESULT from an unknown worker") }
        worker.lastSeen = now
        var result: UnitResult
        do { result = try message.decode(UnitResult.self) } catch {
            // Which unit it answers is unreadable; a worker answers its units in order, so it
            // is the oldest one it holds. That answer is a bad one (and frees the worker).
            guard let oldest = worker.inFlight.first?.ref else { workers[peer] = worker; throw error }
            result = UnitResult(job: oldest.job, unit: oldest.unit, error: "malformed RESULT: \(error)")
        }
        worker.finished(UnitRef(job: result.job, unit: result.unit), at: now)
        workers[peer] = worker
        guard let entry = jobs[result.job]?.inFlight[result.unit], entry.holders.contains(peer) else {
            // A unit of a finished job, one re-queued after this worker was presumed dead or
            // quarantined, or the slower of two copies of a late unit.
            return
        }
        let spec = entry.task.spec
        workers[peer]?.unitsDone += 1
        observe(.unitAnswered(spec.kind, failed: result.error != nil, seconds: result.seconds))
        if let error = result.error {
            rejected(entry, from: peer, reason: error, at: now)
            return
        }
        switch spec.kind {
        case .text, .references:
            let reply: UnitReply
            do { reply = try setupReply(spec, message) } catch {
                rejected(entry, from: peer, reason: "\(error)", at: now)
                return
            }
            accepted(entry, from: worker, seconds: result.seconds, at: now)
            setupResult(spec, entry.task, reply, worker: worker, at: now)
        case .full, .windows:
            imageUnitResult(entry, message, worker: worker, seconds: result.seconds, at: now)
        }
    }

    /// A good answer: the unit is done (copies still queued are dropped), its compute time
    /// counts for the deadlines, and earlier bad answers to it become strikes.
    mutating func accepted(_ entry: InFlightUnit, from worker: WorkerRecord, seconds: Double, at now: Double) {
        let spec = entry.task.spec
        jobs[spec.job]?.inFlight[spec.unit] = nil
        // A copy not yet handed out: only a late unit has one (checkDeadlines), so only then is
        // the queue searched.
        if entry.duplicated { jobs[spec.job]?.pending.remove(unit: spec.unit) }
        jobs[spec.job]?.workersUsed.insert(worker.publicName)
        unitDeadlines.record(spec.kind, seconds: seconds)
        settleAttempts(spec, at: now)
    }

    /// A bad answer (an error, non-finite or wrong-shaped values, missing blobs, an unreadable
    /// body): the unit is tried elsewhere, or given up once `unitAttempts` workers failed it.
    mutating func rejected(_ entry: InFlightUnit, from peer: PeerID, reason: String, at now: Double) {
        if case .exhausted(let summary) = badAnswer(entry, from: peer, reason: reason, at: now) {
            giveUp(entry.task.spec, reason: summary, at: now)
        }
    }

    /// The sizes a RESULT answering `spec` must have: the job's model, and when the coordinator
    /// knows its model's config (`settings.model`), its embedding size and vision width.
    func replyShape(_ spec: UnitSpec) -> ReplyShape {
        let job = jobs[spec.job]
        return ReplyShape(embedDim: settings.model?.embedDim, visionWidth: settings.model?.visionWidth, gridSize: job?.model?.gridSize,
                          windowsPerScale: job?.model?.plan.windowsPerScale, referenceCount: job?.request.referenceCount ?? 0)
    }

    /// A setup answer, usable: text is two finite vectors of one length, references a finite
    /// patch-token blob and one window blob per scale; of the model's sizes where known.
    func setupReply(_ spec: UnitSpec, _ message: WireMessage) throws -> UnitReply {
        let reply = try UnitReply(decoding: message, answering: spec, shape: replyShape(spec))
        switch reply {
        case .text(let t):
            guard !t.normal.isEmpty, (t.normal + t.anomalous).allSatisfy(\.isFinite) else { throw ProtocolError("empty or non-finite text embeddings") }
        case .references(let r):
            for (name, values) in [("patch tokens", r.patchTokens)] + r.windows.map({ ("windows", $0) }) {
                guard !values.isEmpty, values.allSatisfy(\.isFinite) else { throw ProtocolError("empty or non-finite reference embeddings (\(name))") }
            }
        case .fullPass, .windows, .failed:
            throw ProtocolError("\(spec.kind) unit answered with another kind")
        }
        return reply
    }

    mutating func setupResult(_ spec: UnitSpec, _ task: UnitTask, _ reply: UnitReply, worker record: WorkerRecord, at now: Double) {
        let id = spec.job
        let producers: [SetupAnswer]
        switch recordSetup(spec.kind, of: id, reply: reply, from: record) {
        case .waiting: return
        case .tied(let answers): breakTie(spec.kind, of: id, answers, task: task, at: now); return
        case .disagreed(let reason): finish(id, .failed(reason), at: now); return
        case .agreed(let answers, let dissenters):
            producers = answers
            if !dissenters.isEmpty {
                diagnose(.setupDissent(id, spec.kind, agreeing: answers.map(\.worker), dissenters: dissenters.map(\.worker)))
                for d in dissenters { strike(d.peer, at: now) }
            }
        }
        guard let first = producers.first else { return }
        setupAgreed(spec.kind, of: id, first.reply, producers: producers, at: now)
    }

    /// A job's text or reference embeddings, from one worker or agreed by two: checked, kept
    /// for the job and cached with the workers that produced them.
    mutating func setupAgreed(_ kind: UnitKind, of id: JobID, _ reply: UnitReply, producers: [SetupAnswer], at now: Double) {
        let worker = producers.map(\.worker).joined(separator: " and ")
        let provenance = SetupProvenance(producers: producers)
        guard let job = jobs[id], let model = job.model else { return }
        // Answers were checked (setupReply) before they were recorded.
        switch reply {
        case .text(let t):
            let text = TextEmbeddings(normal: t.normal, anomalous: t.anomalous)
            jobs[id]?.updateSetup { $0.text = text }
            setupCache.store(text: text, key: SetupCache.textKey(fingerprint: model.fingerprint, options: job.request.options), provenance: provenance)
        case .references(let r):
            let refs = ReferenceEmbeddings(count: r.count, patchTokens: r.patchTokens, windows: r.windows)
            jobs[id]?.updateSetup { $0.references = refs }
            setupCache.store(references: refs, key: job.setup?.referenceKey ?? "", provenance: provenance)
        case .fullPass, .windows, .failed:
            finish(id, .failed("malformed \(kind) result from worker \(worker): an answer of another kind"), at: now)
            return
        }
        setupFinished(id, at: now)
    }

    mutating func imageUnitResult(_ entry: InFlightUnit, _ message: WireMessage, worker: WorkerRecord, seconds: Double, at now: Double) {
        let spec = entry.task.spec, id = spec.job
        guard let index = spec.image, var work = jobs[id]?.scoring?.images[index] else {
            accepted(entry, from: worker, seconds: seconds, at: now)
            return
        }
        var next: [ImageUnit] = []
        if work.error == nil {
            do {
                let unit: ImageUnit, scores: UnitScores
                switch (spec.work, try UnitReply(decoding: message, answering: spec, shape: replyShape(spec))) {
                case (.fullPass, .fullPass(let score, let patches)):
                    unit = .full
                    scores = .full(imageScore: score, fewShotPatches: patches)
                case (.windows(_, let s, let range, _, _), .windows(let zero, let few)):
                    unit = .windows(scaleIndex: s, windows: range)
                    scores = .windows(zeroShot: zero, fewShot: few)
                default:
                    throw ProtocolError("\(spec.kind) unit answered with another kind")
                }
                // A refused answer leaves `work` unsaved: the image's state is as before it.
                next = try work.assembly.add(unit, scores)
            } catch {
                let reason = error is ScoringError ? "unusable scores: \(error)" : "malformed result: \(error)"
                rejected(entry, from: worker.peer, reason: reason, at: now)
                return
            }
        }
        accepted(entry, from: worker, seconds: seconds, at: now)
        work.outstanding -= 1
        if !next.isEmpty, let pixels = spec.work.imagePixels {
            work.outstanding += next.count
            jobs[id]?.enqueue(next, image: index, pixels: pixels)
        }
        jobs[id]?.updateScoring { $0.images[index] = work }
        if work.outstanding == 0 { complete(index, of: id, at: now) }
    }

    /// All units of an image are in: assemble and answer the client.
    mutating func complete(_ index: Int, of id: JobID, at now: Double) {
        guard let work = jobs[id]?.removeImage(index), let job = jobs[id] else { return }
        jobs[id]?.answered += 1
        // Every unit in without an error leaves a result; were it missing, an error row says so.
        if let error = work.error ?? (work.assembly.result == nil ? "the image's scores are incomplete" : nil) {
            jobs[id]?.failed += 1
            observe(.imageAnswered(scored: false))
            send(job.client, ImageAnswer(job: id, index: index, verdict: .failed(error)).encode())
        } else if let result = work.assembly.result {
            observe(.imageAnswered(scored: true))
            send(job.client, ImageAnswer(job: id, index: index, verdict: .scored(score: result.score, map: job.request.wantMaps ? result.map : nil)).encode())
        }
        if jobs[id]?.isComplete == true { finish(id, .done, at: now) }
    }
}
