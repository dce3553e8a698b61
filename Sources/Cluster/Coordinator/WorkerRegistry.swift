import Foundation
import Options
import Protocol

/// A unit a worker holds.
struct UnitRef: Hashable {
    let job: JobID
    let unit: Int
}

/// What the coordinator knows of one connected worker.
struct WorkerRecord {
    let peer: PeerID
    var info: Ready
    var lastSeen: Double
    var idleSince: Double
    /// Units handed to it, oldest first (it answers them in this order).
    var inFlight: [UnitRef] = []
    /// Jobs whose CONTEXT it has.
    var contexts: Set<JobID> = []
    /// When its oldest unit started computing (its previous answer, or the dispatch to an idle
    /// worker); nil when it holds none.
    var headStartedAt: Double?
    /// Units it held past their deadline.
    var missedDeadlines = 0
    /// It missed too many deadlines: it gets no more work until it announces itself again.
    var quarantined = false
    /// For operators (RackStatus): when it announced itself, units it answered since.
    var joined = 0.0
    var unitsDone = 0

    /// Takes one unit off its list (a result or a failure for it came back).
    mutating func finished(_ ref: UnitRef, at now: Double) {
        guard let i = inFlight.firstIndex(of: ref) else { return }
        inFlight.remove(at: i)
        if i == 0 { headStartedAt = inFlight.isEmpty ? nil : now }
        if inFlight.isEmpty { idleSince = now }
    }

    /// Who the transport says it is, and how clients see it named (CoordinatorMachine+Admission).
    var identity: PeerIdentity = .anyone
    var publicName = ""

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
