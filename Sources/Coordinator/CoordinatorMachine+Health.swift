import Foundation
import Logging
import Protocol

/// What the clock finds: units past their deadline, workers to quarantine, and jobs whose model
/// has no worker.
extension CoordinatorMachine {
    /// Every unit a worker holds has its own deadline, prefetched ones included: it counts from
    /// its dispatch or the worker's last answer, whichever is later (a worker that answers
    /// nothing for a deadline is stuck on all it holds). A late unit is queued for another
    /// worker too (the first result wins); each deadline a held unit stays unanswered is a miss,
    /// and `quarantineAfter` misses quarantine the worker.
    mutating func checkDeadlines(at now: Double) {
        for w in workers.all where !w.quarantined && !w.inFlight.isEmpty {
            let answeredAt = w.headStartedAt ?? now
            for (i, held) in w.inFlight.enumerated() {
                let deadline = hedgedDeadline(held, of: w)
                let since = held.missedAt ?? max(held.dispatchedAt, answeredAt)
                guard now - since > deadline else { continue }
                workers[w.peer]?.inFlight[i].missedAt = now
                workers[w.peer]?.missedDeadlines += 1
                if held.missedAt == nil { copyLateUnit(held.ref, from: w, heldFor: now - since, deadline: deadline) }
            }
            if let missed = workers[w.peer]?.missedDeadlines, missed >= settings.quarantineAfter {
                quarantine(w.peer, .missedDeadlines(missed), at: now)
            }
        }
    }

    /// A unit's deadline; while no unit of its kind has finished (`initial`, long), a unit that
    /// holds up an idle cluster (its job has nothing else queued and a worker of its model is
    /// idle) is copied after the floor instead: say, the first text unit held by a hung worker.
    func hedgedDeadline(_ held: HeldUnit, of w: WorkerRecord) -> Double {
        let deadline = unitDeadlines.deadline(held.kind)
        guard unitDeadlines.median(held.kind) == nil, let job = jobs[held.ref.job], job.pending.isEmpty,
              workers.all.contains(where: { $0.peer != w.peer && $0.inFlight.isEmpty && !$0.quarantined && $0.info.fingerprint == w.info.fingerprint })
        else { return deadline }
        return min(deadline, unitDeadlines.settings.floor)
    }

    /// Queues a copy of a late unit for another worker (unless one is queued already, or as
    /// many workers as `unitAttempts` hold it).
    mutating func copyLateUnit(_ ref: UnitRef, from w: WorkerRecord, heldFor seconds: Double, deadline: Double) {
        guard let job = jobs[ref.job], var entry = job.inFlight[ref.unit], entry.holders.contains(w.peer),
              entry.holders.count < settings.unitAttempts, !job.pending.contains(unit: ref.unit) else { return }
        entry.duplicated = true
        jobs[ref.job]?.inFlight[ref.unit] = entry
        jobs[ref.job]?.pending.prepend(entry.task)
        diagnose(.unitLate(job: ref.job, unit: ref.unit, kind: entry.task.spec.kind, worker: w.logName,
                           heldSeconds: Int(seconds), deadlineSeconds: Int(deadline)))
        observe(.unitLate(entry.task.spec.kind))
    }

    /// A worker gets no more units until it announces itself again; what it holds goes back to
    /// the queue (its later answers are dropped), and the jobs of its model are told.
    mutating func quarantine(_ peer: PeerID, _ reason: QuarantineReason, at now: Double) {
        guard let w = workers[peer], !w.quarantined else { return }
        // Missed deadlines never quarantine a model's last worker: when the network flaps or the
        // rack is overloaded, every worker misses at once, and quarantining them all (until a
        // reconnect that a surviving connection never makes) would stall every job of the model.
        if case .missedDeadlines = reason,
           !workers.all.contains(where: { $0.peer != peer && !$0.quarantined && $0.info.fingerprint == w.info.fingerprint }) {
            return
        }
        workers[peer]?.quarantine = reason
        requeue(peer, .quarantined)
        let diagnostic = CoordinatorDiagnostic.workerQuarantined(worker: w.publicName, logName: w.publicName == w.info.name ? nil : w.logName, reason)
        diagnose(diagnostic)
        for id in jobOrder {
            guard let job = jobs[id], job.model?.fingerprint == w.info.fingerprint, let note = diagnostic.clientNote else { continue }
            send(job.client, WireMessage(.status, StatusNote(job: id, message: note)))
        }
    }

    /// A bad answer of this worker was proven wrong by a good one from another worker.
    mutating func strike(_ peer: PeerID, at now: Double) {
        guard var w = workers[peer], !w.quarantined else { return }
        w.strikes += 1
        workers[peer] = w
        if w.strikes >= settings.quarantineAfter { quarantine(peer, .badAnswers(w.strikes), at: now) }
    }

    /// A job whose model has no live worker for `noWorkerTimeout` fails instead of waiting forever.
    mutating func checkWorkersExist(_ id: JobID, at now: Double) {
        guard let job = jobs[id] else { return }
        let present: Bool
        if let model = job.model {
            present = workers.with(fingerprint: model.fingerprint, precision: job.request.options.precision).contains { !$0.quarantined }
        } else {
            present = false  // still waiting for a usable worker
        }
        if present { jobs[id]?.withoutWorkersSince = nil; return }
        let since = job.withoutWorkersSince ?? now
        jobs[id]?.withoutWorkersSince = since
        if now - since > settings.noWorkerTimeout {
            let what = job.model.map { "a worker of model \($0.name) [\($0.fingerprint)]" } ?? (job.request.fingerprint.map { "a worker with model fingerprint \($0)" } ?? "a worker")
            finish(id, .failed("no job progress: \(what) has not been connected for \(Int(now - since)) s"), at: now)
        }
    }
}
