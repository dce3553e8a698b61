import Foundation
import Logging
import Options
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
            // is the oldest one it holds. It fails (and frees the worker) instead of hanging.
            guard let oldest = worker.inFlight.first else { workers[peer] = worker; throw error }
            result = UnitResult(job: oldest.job, unit: oldest.unit, error: "malformed RESULT from worker \(worker.publicName): \(error)")
        }
        worker.finished(UnitRef(job: result.job, unit: result.unit), at: now)
        workers[peer] = worker
        guard let entry = jobs[result.job]?.inFlight[result.unit], entry.holders.contains(peer) else {
            // A unit of a finished job, one re-queued after this worker was presumed dead, or
            // the slower of two copies of a late unit.
            return
        }
        jobs[result.job]!.inFlight[result.unit] = nil
        // A copy not yet handed out: only a late unit has one (checkDeadlines), so only then is
        // the queue searched.
        if entry.duplicated { jobs[result.job]!.pending.remove(unit: result.unit) }
        jobs[result.job]!.workersUsed.insert(worker.publicName)
        let spec = entry.task.spec
        workers[peer]!.unitsDone += 1
        observe(.unitAnswered(spec.kind, failed: result.error != nil, seconds: result.seconds))
        if result.error == nil { unitDeadlines.record(spec.kind, seconds: result.seconds) }
        if let error = result.error {
            log(.warning, "job \(spec.job) unit \(spec.unit) (\(spec.kind)) failed on \(worker.publicName) [\(worker.info.name)]: \(error)")
        }
        switch spec.kind {
        case .text, .references:
            setupResult(spec, result, message, worker: worker, at: now)
        case .full, .windows:
            imageUnitResult(spec, entry.task, result, message, worker: worker.publicName, at: now)
        }
    }

    mutating func setupResult(_ spec: UnitSpec, _ result: UnitResult, _ message: WireMessage, worker record: WorkerRecord, at now: Double) {
        let id = spec.job
        let worker = record.publicName
        if let error = result.error {
            finish(id, .failed, error: "\(spec.kind) embeddings failed on worker \(worker): \(error)", at: now)
            return
        }
        let producers: [SetupAnswer]
        switch recordSetup(spec.kind, of: id, blobs: message.blobs, from: record) {
        case .waiting: return
        case .disagreed(let reason): finish(id, .failed, error: reason, at: now); return
        case .agreed(let answers): producers = answers
        }
        setupAgreed(spec.kind, of: id, message, producers: producers, at: now)
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

    mutating func imageUnitResult(_ spec: UnitSpec, _ task: UnitTask, _ result: UnitResult, _ message: WireMessage, worker: String, at now: Double) {
        let id = spec.job
        guard let index = spec.image, var work = jobs[id]?.images[index] else { return }
        work.outstanding -= 1
        if let error = result.error {
            work.error = work.error ?? error
        } else if work.error == nil {
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
                let next = try work.assembly.add(unit, scores)
                if !next.isEmpty {
                    work.outstanding += next.count
                    jobs[id]!.enqueue(next, image: index, pixels: task.blobs[0])
                }
            } catch let error as ScoringError {
                work.error = "worker \(worker) returned unusable scores: \(error)"
            } catch {
                work.error = "malformed result from worker \(worker): \(error)"
            }
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
