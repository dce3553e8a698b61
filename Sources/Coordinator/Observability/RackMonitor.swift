import Foundation
import Protocol
import Synchronization

/// What the coordinator loop tells operators about: events and frame bytes to the metrics, a
/// snapshot every `publishInterval` to the metrics' gauges and the status page. Shared between
/// the loop's thread and the HTTP server's.
public final class RackMonitor: Sendable {
    public static let publishInterval = 1.0
    public let metrics: RackMetrics
    private let state = Mutex(State())

    struct State {
        var status = RackStatus(time: 0, uptime: 0, workers: [], jobs: [], queues: [])
        var history = ThroughputHistory()
        var imagesAnswered = 0
    }

    public init(metrics: RackMetrics = RackMetrics(), history: ThroughputHistory = ThroughputHistory()) {
        self.metrics = metrics
        state.withLock { $0.history = history }
    }

    public func record(_ event: RackEvent) {
        metrics.record(event)
        if case .imageAnswered = event { state.withLock { $0.imagesAnswered += 1 } }
    }

    /// Header, body and blobs (the routing id frame is not counted).
    public func sent(_ message: WireMessage) {
        metrics.bytes(out: WireMessage.magic.count + 3 + message.body.count + message.blobs.reduce(0) { $0 + $1.count })
    }
    public func received(_ frames: [Data]) { metrics.bytes(in: frames.dropFirst().reduce(0) { $0 + $1.count }) }

    public func publish(_ status: RackStatus) {
        metrics.update(status)
        state.withLock {
            $0.history.sample(images: $0.imagesAnswered, at: status.time)
            $0.status = status
        }
    }

    /// The latest snapshot with the throughput chart (`/status.json`).
    public var status: RackStatus {
        state.withLock { s in
            var status = s.status
            status.throughput = s.history.points
            return status
        }
    }
}
