import Foundation
import Options
import Protocol
import Transport

/// A unit a worker holds.
struct UnitRef: Hashable {
    let job: JobID
    let unit: Int
}

/// One unit a worker holds, with what its deadline is measured from (WorkerHealth.swift).
struct HeldUnit: Equatable {
    let ref: UnitRef
    let kind: UnitKind
    /// When it was sent to the worker.
    let dispatchedAt: Double
    /// When it last missed its deadline on this worker (nil: never): another deadline counts
    /// from then.
    var missedAt: Double?
}

/// What the coordinator knows of one connected worker.
struct WorkerRecord {
    let peer: PeerID
    var info: Ready
    var lastSeen: Double
    var idleSince: Double
    /// Units handed to it, oldest first (it answers them in this order).
    var inFlight: [HeldUnit] = []
    /// Jobs whose CONTEXT it has.
    var contexts: Set<JobID> = []
    /// When it last answered (or, idle until then, was given a unit): every unit it holds is
    /// late once it has said nothing for that unit's deadline since. nil when it holds none.
    var headStartedAt: Double?
    /// Deadlines it missed: each unit it held past its deadline, and each further deadline
    /// such a unit stays unanswered.
    var missedDeadlines = 0
    /// Bad answers (non-finite, wrong-shaped, missing, undecodable, reported errors) that a
    /// good answer of another worker to the same unit proved wrong.
    var strikes = 0
    /// Why it gets no more work, until it announces itself again (nil: it is not quarantined).
    var quarantine: QuarantineReason?

    var quarantined: Bool { quarantine != nil }
    /// For operators (RackStatus): when it announced itself, units it answered since.
    var joined = 0.0
    var unitsDone = 0

    /// What it is doing, as STATUS and metrics report it.
    var state: WorkerState {
        if quarantine != nil { return .quarantined }
        return inFlight.isEmpty ? .idle : .busy
    }

    /// A unit handed to it: its deadline counts from now when it held nothing.
    mutating func hold(_ unit: HeldUnit, at now: Double) {
        if inFlight.isEmpty { headStartedAt = now }
        inFlight.append(unit)
    }

    /// Takes one unit off its list (a result or a failure for it came back).
    mutating func finished(_ ref: UnitRef, at now: Double) {
        guard let i = inFlight.firstIndex(where: { $0.ref == ref }) else { return }
        inFlight.remove(at: i)
        headStartedAt = inFlight.isEmpty ? nil : now
        if inFlight.isEmpty { idleSince = now }
    }

    /// Who the transport says it is, and how clients see it named (CoordinatorMachine+Admission).
    var identity: PeerIdentity = .anyone
    var publicName = ""

    /// How logs name it: the name clients see, and the name it gave itself when that differs
    /// (cut to `PeerText.limit`: it is the peer's word).
    var logName: String {
        let own = PeerText.clip(info.name)
        return publicName == info.name || publicName.isEmpty ? own : "\(publicName) [\(own)]"
    }

    /// Who stands behind it: its key, or (unauthenticated) its connection. Two copies of a
    /// verified setup never go to one principal.
    var principal: String { identity.principal ?? "peer:" + peer.map { String(format: "%02x", $0) }.joined() }
}

/// The connected workers, by routing id.
struct WorkerRegistry {
    private(set) var records: [PeerID: WorkerRecord] = [:]

    var count: Int { records.count }
    subscript(peer: PeerID) -> WorkerRecord? {
        get { records[peer] }
        set { records[peer] = newValue }
    }
    var all: Dictionary<PeerID, WorkerRecord>.Values { records.values }

    mutating func remove(_ peer: PeerID) -> WorkerRecord? { records.removeValue(forKey: peer) }

    /// A job ended: no worker holds its CONTEXT any more.
    mutating func forgetContext(of job: JobID) {
        for peer in Array(records.keys) { records[peer]?.contexts.remove(job) }
    }

    /// The workers of one model (that can run `precision`, when given).
    func with(fingerprint: String, precision: Precision? = nil) -> [WorkerRecord] {
        records.values.filter { $0.info.fingerprint == fingerprint && (precision.map($0.info.precisions.contains) ?? true) }
    }

    /// Workers that may take another unit (fewer than `prefetch` in flight): the least loaded
    /// first, then the longest idle (ties broken by routing id, so the order is reproducible).
    func available(prefetch: Int) -> [PeerID] {
        // Sorts small keys, not the records (copying records while sorting dominated dispatch).
        var keys: [(load: Int, idleSince: Double, peer: PeerID)] = []
        keys.reserveCapacity(records.count)
        for w in records.values where w.inFlight.count < prefetch && !w.quarantined {
            keys.append((w.inFlight.count, w.idleSince, w.peer))
        }
        keys.sort { a, b in
            if a.load != b.load { return a.load < b.load }
            if a.idleSince != b.idleSince { return a.idleSince < b.idleSince }
            return a.peer.lexicographicallyPrecedes(b.peer)
        }
        return keys.map(\.peer)
    }

    /// The fingerprint most workers have (ties: the smaller string, so the choice is stable).
    func majorityFingerprint(precision: Precision) -> String? {
        var counts: [String: Int] = [:]
        for w in records.values where w.info.precisions.contains(precision) { counts[w.info.fingerprint, default: 0] += 1 }
        return counts.max { a, b in a.value != b.value ? a.value < b.value : a.key > b.key }?.key
    }
}
