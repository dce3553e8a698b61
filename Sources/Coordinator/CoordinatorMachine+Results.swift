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
        workers[peer]!.unitsDone += 1
        observe(.unitAnswered(spec.kind, failed: result.error != nil, seconds: result.seconds))
        if let error = result.error {
            rejected(entry, from: peer, reason: error, at: now)
            return
        }
        switch spec.kind {
        case .text, .references:
            do { try checkSetupBlobs(spec, message) } catch {
                rejected(entry, from: peer, reason: "\(error)", at: now)
                return
            }
            accepted(entry, from: worker, seconds: result.seconds, at: now)
            setupResult(spec, entry.task, message, worker: worker, at: now)
        case .full, .windows:
            imageUnitResult(entry, message, worker: worker, seconds: result.seconds, at: now)
        }
    }

    /// A good answer: the unit is done (copies still queued are dropped), its compute time
    /// counts for the deadlines, and earlier bad answers to it become strikes.
    mutating func accepted(_ entry: InFlightUnit, from worker: WorkerRecord, seconds: Double, at now: Double) {
        let spec = entry.task.spec
        jobs[spec.job]!.inFlight[spec.unit] = nil
        // A copy not yet handed out: only a late unit has one (checkDeadlines), so only then is
        // the queue searched.
        if entry.duplicated { jobs[spec.job]!.pending.remove(unit: spec.unit) }
        jobs[spec.job]!.workersUsed.insert(worker.publicName)
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

    /// A setup answer's blobs are usable: text is two finite vectors of one length, references
    /// a finite patch-token blob and one window blob per scale; when the coordinator knows its
    /// model (`settings.model`), of exactly the model's sizes.
    func checkSetupBlobs(_ spec: UnitSpec, _ message: WireMessage) throws {
        let model = settings.model
        if spec.kind == .text {
            guard message.blobs.count == 2 else { throw ProtocolError("text RESULT with \(message.blobs.count) blobs, expected 2") }
            let normal = try message.floats(0, count: model?.embedDim), anomalous = try message.floats(1, count: normal.count)
            guard !normal.isEmpty, (normal + anomalous).allSatisfy(\.isFinite) else { throw ProtocolError("empty or non-finite text embeddings") }
        } else {
            let scales = spec.options.scales.count
            guard message.blobs.count == 1 + scales else { throw ProtocolError("references RESULT with \(message.blobs.count) blobs for \(scales) scale(s)") }
            let k = jobs[spec.job]?.request.referenceCount ?? 0, plan = jobs[spec.job]?.model?.plan
            for i in 0..<message.blobs.count {
                var expected: Int?
                if let model {
                    expected = i == 0 ? k * model.gridSize * model.gridSize * model.visionWidth
                                      : plan.map { k * $0.windowsPerScale[i - 1] * model.embedDim }
                }
                let values = try message.floats(i, count: expected)
                guard !values.isEmpty, values.allSatisfy(\.isFinite) else { throw ProtocolError("empty or non-finite reference embeddings (blob \(i))") }
            }
        }
    }

    mutating func setupResult(_ spec: UnitSpec, _ task: UnitTask, _ message: WireMessage, worker record: WorkerRecord, at now: Double) {
        let id = spec.job
        let producers: [SetupAnswer]
        switch recordSetup(spec.kind, of: id, blobs: message.blobs, from: record) {
        case .waiting: return
        case .tied(let answers): breakTie(spec.kind, of: id, answers, task: task, at: now); return
        case .disagreed(let reason): finish(id, .failed, error: reason, at: now); return
        case .agreed(let answers, let dissenters):
            producers = answers
            if !dissenters.isEmpty {
                log(.warning, "job \(id): \(spec.kind) embeddings of \(answers.map(\.worker).joined(separator: " and ")) agree; \(dissenters.map(\.worker).joined(separator: " and ")) differed and is struck (verify_setup)")
                for d in dissenters { strike(d.peer, at: now) }
            }
        }
        setupAgreed(spec.kind, of: id, WireMessage(type: .result, blobs: producers[0].blobs), producers: producers, at: now)
    }

    /// A job's text or reference embeddings, from one worker or agreed by two: checked, kept
    /// for the job and cached with the workers that produced them.
    mutating func setupAgreed(_ kind: UnitKind, of id: JobID, _ message: WireMessage, producers: [SetupAnswer], at now: Double) {
        let worker = producers.map(\.worker).joined(separator: " and ")
        let provenance = SetupProvenance(producers: producers)
        do {
            if kind == .text {
                let normal = try message.floats(0), anomalous = try message.floats(1, count: normal.count)
                guard !normal.isEmpty, (normal + anomalous).allSatisfy(\.isFinite) else { throw ProtocolError("empty or non-finite text embeddings") }
                let text = TextEmbeddings(normal: normal, anomalous: anomalous)
                jobs[id]!.text = text
                setupCache.store(text: text, key: jobs[id]!.textKey, provenance: provenance)
            } else {
                let scales = jobs[id]!.request.options.scales.count
                guard message.blobs.count == 1 + scales else { throw ProtocolError("references RESULT with \(message.blobs.count) blobs for \(scales) scale(s)") }
                let refs = ReferenceEmbeddings(count: jobs[id]!.request.referenceCount, patchTokens: try message.floats(0),
                                               windows: try (1..<message.blobs.count).map { try message.floats($0) })
                guard (refs.patchTokens + refs.windows.joined()).allSatisfy(\.isFinite) else { throw ProtocolError("non-finite reference embeddings") }
                jobs[id]!.references = refs
                setupCache.store(references: refs, key: jobs[id]!.referenceKey, provenance: provenance)
            }
        } catch {
            finish(id, .failed, error: "malformed \(kind) result from worker \(worker): \(error)", at: now)
            return
        }
        setupFinished(id, at: now)
    }

    mutating func imageUnitResult(_ entry: InFlightUnit, _ message: WireMessage, worker: WorkerRecord, seconds: Double, at now: Double) {
        let spec = entry.task.spec, id = spec.job
        guard let index = spec.image, var work = jobs[id]?.images[index] else {
            accepted(entry, from: worker, seconds: seconds, at: now)
            return
        }
        var next: [ImageUnit] = []
        if work.error == nil {
            do {
                let few = work.assembly.fewShot ? try message.floats(1) : nil
                let unit: ImageUnit, scores: UnitScores
                if spec.kind == .full {
                    unit = .full
                    scores = .full(imageScore: try message.floats(0, count: 1)[0], fewShotPatches: few)
                } else {
                    guard let s = spec.scaleIndex, let start = spec.windowStart, let count = spec.windowCount else { throw ProtocolError("windows unit without range") }
                    unit = .windows(scaleIndex: s, windows: start..<(start + count))
                    scores = .windows(zeroShot: try message.floats(0), fewShot: few)
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
        if !next.isEmpty {
            work.outstanding += next.count
            jobs[id]!.enqueue(next, image: index, pixels: entry.task.blobs[0])
        }
        jobs[id]!.images[index] = work
        if work.outstanding == 0 { complete(index, of: id, at: now) }
    }

    /// All units of an image are in: assemble and answer the client.
    mutating func complete(_ index: Int, of id: JobID, at now: Double) {
        guard let work = jobs[id]!.images.removeValue(forKey: index) else { return }
        let job = jobs[id]!
        jobs[id]!.answered += 1
        if let error = work.error {
            jobs[id]!.failed += 1
            observe(.imageAnswered(scored: false))
            send(job.client, WireMessage(.imageResult, ImageOutcome(job: id, index: index, error: error)))
        } else {
            let result = work.assembly.result!
            var blobs = [FloatBlob.encode([result.score])]
            if job.request.wantMaps, let map = result.map { blobs.append(FloatBlob.encode(map)) }
            observe(.imageAnswered(scored: true))
            send(job.client, WireMessage(.imageResult, ImageOutcome(job: id, index: index), blobs: blobs))
        }
        if jobs[id]!.isComplete { finish(id, .done, error: nil, at: now) }
    }
}
