import Foundation
import Protocol

/// When a job's setup (text and reference embeddings, which every later image of the job,
/// and the cache, trust) is computed on two workers that must agree bit for bit.
public enum SetupVerificationPolicy: String, Sendable, Equatable {
    /// When the job's model has workers of more than one principal (key, or connection
    /// without authentication).
    case auto
    /// Always: a job waits for a second worker.
    case always
    case never
}

/// One worker's answer to a setup unit.
struct SetupAnswer: Equatable {
    /// Its connection (a dissenter is struck).
    let peer: PeerID
    /// Its key (`worker:NAME`) or connection: two copies go to two principals.
    let principal: String
    /// How clients see it named.
    let worker: String
    /// Compared bit for bit with the other copies' answers.
    let reply: UnitReply
}

/// Which workers an embedding came from; verified when two principals agreed on it.
struct SetupProvenance: Equatable {
    let principals: Set<String>
    let workers: [String]
    init(producers: [SetupAnswer]) {
        principals = Set(producers.map(\.principal))
        workers = producers.map(\.worker)
    }
    var isVerified: Bool { principals.count > 1 }
}

/// One setup computation of a job (its text, or its references): the copies asked for and the
/// answers in.
struct SetupCheck: Equatable {
    var copies: Int
    var answers: [SetupAnswer] = []
}

enum SetupVerdict: Equatable {
    case waiting
    /// The answers that agree (all of them, or a majority of two of three), and the others.
    case agreed([SetupAnswer], dissenters: [SetupAnswer])
    /// Two answers differ: a third key's opinion decides.
    case tied([SetupAnswer])
    /// No two answers agree.
    case disagreed(String)
}

extension CoordinatorMachine {
    /// Whether a job on this model computes its setup twice.
    func verifiesSetup(fingerprint: String) -> Bool {
        switch settings.verifySetup {
        case .always: return true
        case .never: return false
        case .auto: return principals(of: fingerprint).count > 1
        }
    }

    /// The principals that can still compute for a model (a quarantined worker gets no unit:
    /// a copy waiting for it would wait until it reconnects).
    func principals(of fingerprint: String) -> Set<String> {
        Set(workers.with(fingerprint: fingerprint).filter { !$0.quarantined }.map(\.principal))
    }

    /// Queues the unit of one setup computation, twice when the job verifies its setup.
    func queueSetup(_ work: UnitWork, setup: inout SetupState, job: inout CoordinatorJob) {
        let copies = setup.verify ? 2 : 1
        setup.checks[work.kind] = SetupCheck(copies: copies)
        for _ in 0..<copies { job.pending.append(job.makeUnit(work)) }
    }

    /// Tells the client when its setup waits for a second worker to verify it.
    mutating func noteSetupVerification(_ id: JobID) {
        guard let job = jobs[id], let setup = job.setup, setup.verify, !setup.checks.isEmpty, let model = job.model,
              principals(of: model.fingerprint).count < 2 else { return }
        send(job.client, WireMessage(.status, StatusNote(job: id, message: "verify_setup: waiting for a second worker (another key) to confirm the job's embeddings")))
    }

    /// Records one worker's answer; once every copy is in, whether they agree bit for bit.
    mutating func recordSetup(_ kind: UnitKind, of id: JobID, reply: UnitReply, from worker: WorkerRecord) -> SetupVerdict {
        let answer = SetupAnswer(peer: worker.peer, principal: worker.principal, worker: worker.publicName, reply: reply)
        guard var check = jobs[id]?.setupChecks[kind] else { return .agreed([answer], dissenters: []) }
        check.answers.append(answer)
        jobs[id]?.updateSetup { $0.checks[kind] = check }
        return Self.verdict(kind, check)
    }

    static func verdict(_ kind: UnitKind, _ check: SetupCheck) -> SetupVerdict {
        guard check.answers.count >= check.copies, !check.answers.isEmpty else { return .waiting }
        // The largest group of byte-equal answers (the earliest, on a tie of sizes).
        var best: [SetupAnswer] = []
        for a in check.answers {
            let group = check.answers.filter { $0.reply == a.reply }
            if group.count > best.count { best = group }
        }
        if best.count == check.answers.count { return .agreed(best, dissenters: []) }
        if best.count >= 2 { return .agreed(best, dissenters: check.answers.filter { $0.reply != best[0].reply }) }
        if check.answers.count == 2 { return .tied(check.answers) }
        let names = check.answers.map(\.worker)
        return .disagreed("\(kind) embeddings of workers \(names.dropLast().joined(separator: ", ")) and \(names.last ?? "") all differ (verify_setup): no two keys agree, so the job runs on none's word")
    }

    /// Two setup answers differ: a third copy goes to a third key when one is connected (the
    /// majority wins); otherwise the job fails, naming both.
    mutating func breakTie(_ kind: UnitKind, of id: JobID, _ answers: [SetupAnswer], task: UnitTask, at now: Double) {
        guard var job = jobs[id], let model = job.model else { return }
        let asked = Set(answers.map(\.principal))
        let third = workers.with(fingerprint: model.fingerprint).contains { !$0.quarantined && !asked.contains($0.principal) }
        guard third else {
            finish(id, .failed(Self.unbrokenTie(kind, answers)), at: now)
            return
        }
        job.updateSetup { $0.checks[kind]?.copies += 1 }
        job.pending.prepend(job.makeUnit(task.spec.work))
        jobs[id] = job
        tellClient(job, .setupTie(id, kind, workers: answers.map(\.worker)))
    }

    static func unbrokenTie(_ kind: UnitKind, _ answers: [SetupAnswer]) -> String {
        let names = answers.map { "worker \($0.worker)" }.joined(separator: " and ")
        return "\(kind) embeddings of \(names) differ (verify_setup) and no third key is connected to break the tie: one of them computes wrongly or is not what it claims, so the job runs on neither's word"
    }

    /// A tie-break copy whose third key left before taking it: the job fails as when no third
    /// key was there (instead of waiting for one forever).
    mutating func abandonUnbreakableTies(at now: Double) {
        for id in jobOrder {
            guard let job = jobs[id], job.phase == .setup else { continue }
            for kind in [UnitKind.text, .references] {
                guard let check = job.setupChecks[kind], check.copies > 2, check.answers.count < check.copies,
                      let offset = job.pending.firstOffset(where: { $0.spec.kind == kind }), let task = job.pending.peek(at: offset),
                      !hasEligibleWorker(task, of: id) else { continue }
                finish(id, .failed(Self.unbrokenTie(kind, check.answers)), at: now)
                break
            }
        }
    }

    /// Whether `task` may go to the worker at `peer`: never a unit the worker already holds (a
    /// late unit's copy goes to another), and the copies of a verified setup go to different
    /// principals.
    func mayRun(_ task: UnitTask, of job: CoordinatorJob, on peer: PeerID) -> Bool {
        if job.inFlight[task.spec.unit]?.holders.contains(peer) == true { return false }
        if job.attempts[task.spec.unit]?.answeredBadly(peer) == true { return false }
        if workers[peer]?.info.precisions.contains(task.spec.options.precision) != true { return false }
        let kind = task.spec.kind
        guard kind == .text || kind == .references, let check = job.setupChecks[kind], check.copies > 1,
              let principal = workers[peer]?.principal else { return true }
        if check.answers.contains(where: { $0.principal == principal }) { return false }
        return !job.inFlight.values.contains { entry in
            entry.task.spec.kind == kind && entry.holders.contains { workers[$0]?.principal == principal }
        }
    }

    /// The first pending unit of a job and the first available worker (of the job's model)
    /// that may take it.
    func placement(of id: JobID, among available: [PeerID], fingerprint: String) -> (task: Int, worker: Int)? {
        guard let job = jobs[id] else { return nil }
        for (t, task) in job.pending.enumerated() {
            if let i = available.firstIndex(where: { workers[$0]?.info.fingerprint == fingerprint && mayRun(task, of: job, on: $0) }) {
                return (t, i)
            }
            // Units that exclude some workers: a verified setup's copies, a late unit's copy, a
            // retry after a bad answer. Any other unit fits every worker of the model.
            let constrained = ((task.spec.kind == .text || task.spec.kind == .references) && (job.setupChecks[task.spec.kind]?.copies ?? 1) > 1)
                || job.inFlight[task.spec.unit] != nil || job.attempts[task.spec.unit] != nil
            if !constrained { return nil }  // an unconstrained unit fits no available worker: neither does any later one
        }
        return nil
    }

    /// `verify_setup: auto`: when the workers of a job's model come down to one principal while
    /// a second copy of its setup still waits in the queue, that copy is dropped and the job
    /// takes one worker's answer (a copy in flight is still awaited and compared).
    mutating func relaxSetupChecks(at now: Double) {
        guard settings.verifySetup == .auto else { return }
        for id in jobOrder {
            guard let job = jobs[id], job.phase == .setup, let model = job.model, principals(of: model.fingerprint).count < 2 else { continue }
            for kind in [UnitKind.text, .references] {
                guard var check = jobs[id]?.setupChecks[kind], check.copies > 1,
                      let waiting = jobs[id]?.pending.firstOffset(where: { $0.spec.kind == kind }) else { continue }
                _ = jobs[id]?.pending.remove(at: waiting)
                check.copies -= 1
                jobs[id]?.updateSetup { $0.checks[kind] = check }
                diagnose(.setupUnverified(id, kind))
                if case .agreed(let answers, _) = Self.verdict(kind, check), let first = answers.first {
                    setupAgreed(kind, of: id, first.reply, producers: answers, at: now)
                }
            }
        }
    }
}
