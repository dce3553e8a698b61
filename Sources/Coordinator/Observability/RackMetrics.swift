import CoreMetrics
import Foundation
import Prometheus
import Protocol

/// The coordinator's Prometheus metrics, kept through swift-metrics on a registry of its own
/// (no process-wide bootstrap: several coordinators may run in one test process). Every label
/// combination exists from the start, at 0, so that `sum()`, `rate()` and alert rules see
/// the series before the first event.
///
///     winclip_images_total{outcome="scored"|"failed"}      counter
///     winclip_units_total{kind,outcome}                     counter (outcome ok|failed|late|requeued)
///     winclip_unit_seconds{kind}                            histogram of worker compute seconds
///     winclip_workers{state="idle"|"busy"|"quarantined"}    gauge
///     winclip_queue_units                                   gauge: units waiting, every model
///     winclip_jobs{phase}                                   gauge: live jobs per phase
///     winclip_bytes_total{direction="in"|"out"}             counter: frame bytes on the ROUTER
///     winclip_peers_refused_total{reason}                   counter
public final class RackMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    static let unitKinds: [UnitKind] = [.text, .references, .full, .windows]
    /// Compute seconds of one unit: from a tiny model's milliseconds to a slow core's minutes.
    static let unitSecondsBuckets: [Duration] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120].map { .milliseconds(Int64($0 * 1000)) }

    private let scored, failed: CoreMetrics.Counter
    private let units: [String: CoreMetrics.Counter]
    private let unitSeconds: [UnitKind: CoreMetrics.Timer]
    private let workers: [WorkerState: CoreMetrics.Gauge]
    private let queue: CoreMetrics.Gauge
    private let jobs: [LiveJobPhase: CoreMetrics.Gauge]
    private let bytesIn, bytesOut: CoreMetrics.Counter
    private let refused: [RefusalReason: CoreMetrics.Counter]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["winclip_unit_seconds"] = Self.unitSecondsBuckets
        scored = Counter(label: "winclip_images_total", dimensions: [("outcome", "scored")], factory: factory)
        failed = Counter(label: "winclip_images_total", dimensions: [("outcome", "failed")], factory: factory)
        var units: [String: CoreMetrics.Counter] = [:]
        var seconds: [UnitKind: CoreMetrics.Timer] = [:]
        for kind in Self.unitKinds {
            for outcome in UnitOutcome.allCases {
                units["\(kind.rawValue)|\(outcome.rawValue)"] = Counter(label: "winclip_units_total", dimensions: [("kind", kind.rawValue), ("outcome", outcome.rawValue)], factory: factory)
            }
            seconds[kind] = CoreMetrics.Timer(label: "winclip_unit_seconds", dimensions: [("kind", kind.rawValue)], factory: factory)
        }
        self.units = units
        unitSeconds = seconds
        workers = Dictionary(uniqueKeysWithValues: WorkerState.allCases.map { ($0, CoreMetrics.Gauge(label: "winclip_workers", dimensions: [("state", $0.rawValue)], factory: factory)) })
        queue = CoreMetrics.Gauge(label: "winclip_queue_units", factory: factory)
        jobs = Dictionary(uniqueKeysWithValues: LiveJobPhase.allCases.map { ($0, CoreMetrics.Gauge(label: "winclip_jobs", dimensions: [("phase", $0.rawValue)], factory: factory)) })
        bytesIn = Counter(label: "winclip_bytes_total", dimensions: [("direction", "in")], factory: factory)
        bytesOut = Counter(label: "winclip_bytes_total", dimensions: [("direction", "out")], factory: factory)
        refused = Dictionary(uniqueKeysWithValues: RefusalReason.allCases.map { ($0, Counter(label: "winclip_peers_refused_total", dimensions: [("reason", $0.rawValue)], factory: factory)) })
        for g in Array(workers.values) + [queue] + Array(jobs.values) { g.record(0) }
    }

    public func record(_ event: RackEvent) {
        switch event {
        case .unitAnswered(let kind, let failedUnit, let seconds):
            units["\(kind.rawValue)|\((failedUnit ? UnitOutcome.failed : .ok).rawValue)"]?.increment()
            if !failedUnit, seconds.isFinite, seconds >= 0 { unitSeconds[kind]?.recordNanoseconds(Int64(min(seconds, 1e6) * 1e9)) }
        case .unitLate(let kind): units["\(kind.rawValue)|\(UnitOutcome.late.rawValue)"]?.increment()
        case .unitRequeued(let kind): units["\(kind.rawValue)|\(UnitOutcome.requeued.rawValue)"]?.increment()
        case .imageAnswered(let ok): (ok ? scored : failed).increment()
        case .peerRefused(let reason): refused[reason]?.increment()
        }
    }

    public func bytes(in count: Int) { bytesIn.increment(by: count) }
    public func bytes(out count: Int) { bytesOut.increment(by: count) }

    /// The gauges, from a snapshot.
    public func update(_ status: RackStatus) {
        for state in WorkerState.allCases { workers[state]?.record(status.workers.filter { $0.state == state }.count) }
        queue.record(status.queues.reduce(0) { $0 + $1.units })
        for phase in LiveJobPhase.allCases { jobs[phase]?.record(status.jobs.filter { $0.phase == phase }.count) }
    }

    /// Prometheus' text exposition format.
    public func exposition() -> String { registry.emitToString() }
}
