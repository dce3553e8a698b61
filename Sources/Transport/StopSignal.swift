import Foundation
import Synchronization

/// Set by the process's SIGINT/SIGTERM handler (an atomic store is async-signal-safe).
private let processStopRequested = Atomic<Bool>(false)

/// A flag that asks a loop to stop: set by SIGINT/SIGTERM in the executables, by tests directly.
/// Loops check it at least every heartbeat.
public final class StopSignal: Sendable {
    private let requested = Atomic<Bool>(false)
    private let followsProcessSignals = Atomic<Bool>(false)

    public init() {}

    public var isRequested: Bool {
        requested.load(ordering: .relaxed) || (followsProcessSignals.load(ordering: .relaxed) && processStopRequested.load(ordering: .relaxed))
    }

    public func request() { requested.store(true, ordering: .relaxed) }

    /// Makes SIGINT and SIGTERM of this process request this stop (the first signal asks
    /// politely: loops finish what they must, say goodbye and return).
    public func installProcessHandlers() {
        followsProcessSignals.store(true, ordering: .relaxed)
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { _ in processStopRequested.store(true, ordering: .relaxed) }
        }
    }
}
