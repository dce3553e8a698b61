import Foundation
import Logging
import Protocol
import Transport

/// One unusable answer to a unit.
struct BadAnswer: Equatable {
    let worker: PeerID
    /// How logs name the worker.
    let name: String
    let reason: String
}

/// The bad answers one unit got so far. A unit is retried on a worker that has not answered it
/// badly, up to `unitAttempts` distinct workers; when a good answer comes, each bad answer
/// before it is a strike against its worker. When every attempt failed, nobody is struck: the
/// unit itself (its image, the model) is the likelier culprit than all of those workers.
struct UnitAttempts: Equatable {
    var bad: [BadAnswer] = []
    /// A setup retry with no worker to take it: since when (it waits `setupRetryWait` for one).
    var strandedSince: Double?

    func answeredBadly(_ peer: PeerID) -> Bool { bad.contains { $0.worker == peer } }

    /// The reasons, for an error row or a failed job.
    var summary: String {
        "no usable answer from \(bad.count) worker(s): " + bad.map { "\($0.name): \(PeerText.clip($0.reason))" }.joined(separator: "; ")
    }
}

/// What became of a unit after a bad answer.
enum BadAnswerOutcome: Equatable {
    /// Queued again for a worker that has not answered it badly.
    case retrying
    /// Another worker holds a copy (or one is queued): its answer is awaited.
    case awaitingCopy
    /// Given up: `unitAttempts` workers answered badly, or no other worker may take it.
    case exhausted(String)
}

extension CoordinatorMachine {
    /// A worker's answer to a unit it holds cannot be used: the unit goes to another worker,
    /// unless it has been tried enough.
    mutating func badAnswer(_ entry: InFlightUnit, from peer: PeerID, reason: String, at now: Double) -> BadAnswerOutcome {
        let spec = entry.task.spec
        guard let job = jobs[spec.job] else { return .awaitingCopy }
        let name = workers[peer]?.logName ?? "(gone)"
        var attempts = job.attempts[spec.unit] ?? UnitAttempts()
        if !attempts.answeredBadly(peer) { attempts.bad.append(BadAnswer(worker: peer, name: name, reason: reason)) }
        jobs[spec.job]?.attempts[spec.unit] = attempts
        diagnose(.badAnswer(job: spec.job, unit: spec.unit, kind: spec.kind, attempt: attempts.bad.count, maxAttempts: settings.unitAttempts,
                            worker: name, reason: reason))
        var entry = entry
        entry.holders.removeAll { $0 == peer }
        if !entry.holders.isEmpty {
            jobs[spec.job]?.inFlight[spec.unit] = entry
            return .awaitingCopy
        }
        jobs[spec.job]?.inFlight[spec.unit] = nil
        if job.pending.contains(unit: spec.unit) { return .awaitingCopy }
        // An image unit with no other worker to try is given up at once (a one-worker cluster
        // with broken weights must not wait per image); a setup unit, which the whole job
        // waits for anyway, waits `setupRetryWait` for a worker to come.
        let isSetup = spec.kind == .text || spec.kind == .references
        if attempts.bad.count >= settings.unitAttempts || (!isSetup && !hasEligibleWorker(entry.task, of: spec.job)) {
            jobs[spec.job]?.attempts[spec.unit] = nil
            return .exhausted(attempts.summary)
        }
        jobs[spec.job]?.pending.prepend(entry.task)
        return .retrying
    }

    /// A good answer settles a unit: the workers that answered it badly before are struck.
    mutating func settleAttempts(_ spec: UnitSpec, at now: Double) {
        guard let attempts = jobs[spec.job]?.attempts.removeValue(forKey: spec.unit) else { return }
        for bad in attempts.bad { strike(bad.worker, at: now) }
    }

    /// Whether a connected, unquarantined worker of the job's model may still take the unit.
    func hasEligibleWorker(_ task: UnitTask, of id: JobID) -> Bool {
        guard let job = jobs[id], let model = job.model else { return false }
        return workers.all.contains { $0.info.fingerprint == model.fingerprint && !$0.quarantined && mayRun(task, of: job, on: $0.peer) }
    }

    /// Retries waiting in a queue whose remaining candidates all left (or were quarantined)
    /// are given up instead of waiting forever (setup retries after `setupRetryWait`).
    mutating func giveUpStrandedRetries(at now: Double) {
        for id in jobOrder {
            guard let job = jobs[id], !job.attempts.isEmpty, job.phase == .setup || job.phase == .scoring else { continue }
            for (unit, attempts) in job.attempts {
                guard job.inFlight[unit] == nil, let offset = jobs[id]?.pending.firstOffset(where: { $0.spec.unit == unit }),
                      let task = jobs[id]?.pending.peek(at: offset) else { continue }
                if hasEligibleWorker(task, of: id) { jobs[id]?.attempts[unit]?.strandedSince = nil; continue }
                if task.spec.kind == .text || task.spec.kind == .references {
                    let since = attempts.strandedSince ?? now
                    jobs[id]?.attempts[unit]?.strandedSince = since
                    if now - since < settings.setupRetryWait { continue }
                }
                _ = jobs[id]?.pending.remove(at: offset)
                jobs[id]?.attempts[unit] = nil
                giveUp(task.spec, reason: attempts.summary + "; no other worker of the model is connected", at: now)
                if jobs[id] == nil { break }
            }
        }
    }

    /// A unit with no usable answer: its image becomes an error row; a setup unit fails the job.
    mutating func giveUp(_ spec: UnitSpec, reason: String, at now: Double) {
        let id = spec.job
        switch spec.kind {
        case .text, .references:
            finish(id, .failed("\(spec.kind) embeddings: \(reason)"), at: now)
        case .full, .windows:
            guard let index = spec.image, var work = jobs[id]?.scoring?.images[index] else { return }
            work.outstanding -= 1
            work.error = work.error ?? reason
            jobs[id]?.updateScoring { $0.images[index] = work }
            if work.outstanding == 0 { complete(index, of: id, at: now) }
        }
    }
}
