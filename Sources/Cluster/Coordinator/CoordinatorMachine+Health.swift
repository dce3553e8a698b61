import Foundation
import Logging
import Options
import Protocol
import WinCLIP

/// What the clock finds: units past their deadline and jobs whose model has no worker.
extension CoordinatorMachine {
    /// A worker's oldest unit past its deadline is queued for another worker too (the first
    /// result wins); a worker that misses deadlines repeatedly gets no more work.
    mutating func checkDeadlines(at now: Double) {
        for w in workers.all {
            guard let head = w.inFlight.first, let started = w.headStartedAt,
                  var entry = jobs[head.job]?.inFlight[head.unit], !entry.duplicated else { continue }
            let deadline = unitDeadlines.deadline(entry.task.spec.kind)
            guard now - started > deadline else { continue }
            entry.duplicated = true
            jobs[head.job]!.inFlight[head.unit] = entry
            jobs[head.job]!.pending.prepend(entry.task)
            workers[w.peer]!.missedDeadlines += 1
            observe(.unitLate(entry.task.spec.kind))
            let missed = workers[w.peer]!.missedDeadlines
            log(.warning, "unit \(head.unit) of job \(head.job) (\(entry.task.spec.kind)) is late on worker \(w.info.name) (\(Int(now - started)) s, deadline \(Int(deadline)) s): another worker computes it too")
            if missed >= settings.missedDeadlinesToQuarantine && !w.quarantined {
                workers[w.peer]!.quarantined = true
                let note = "worker \(w.info.name) missed \(missed) deadlines and gets no more work (until it reconnects)"
                log(.warning, note)
                for id in jobOrder where jobs[id]?.model?.fingerprint == w.info.fingerprint {
                    send(jobs[id]!.client, WireMessage(.status, StatusNote(job: id, message: note)))
                }
            }
        }
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
        if present { jobs[id]!.withoutWorkersSince = nil; return }
        let since = job.withoutWorkersSince ?? now
        jobs[id]!.withoutWorkersSince = since
        if now - since > settings.noWorkerTimeout {
            let what = job.model.map { "a worker of model \($0.name) [\($0.fingerprint)]" } ?? (job.request.fingerprint.map { "a worker with model fingerprint \($0)" } ?? "a worker")
            finish(id, .failed, error: "no job progress: \(what) has not been connected for \(Int(now - since)) s", at: now)
        }
    }
}
