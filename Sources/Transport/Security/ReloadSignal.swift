import Foundation
import Synchronization

/// Set by the process's SIGHUP handler (an atomic store is async-signal-safe).
private let processReloadRequested = Atomic<Bool>(false)

/// Asks the coordinator loop to re-read its key folders (SIGHUP in `winclip-coord serve`,
/// `request()` in tests). Each request is taken once.
public final class ReloadSignal: Sendable {
    private let requested = Atomic<Bool>(false)
    private let followsProcessSignal = Atomic<Bool>(false)

    public init() {}

    public func request() { requested.store(true, ordering: .relaxed) }

    /// True once per request.
    public func take() -> Bool {
        let own = requested.exchange(false, ordering: .relaxed)
        let process = followsProcessSignal.load(ordering: .relaxed) && processReloadRequested.exchange(false, ordering: .relaxed)
        return own || process
    }

    /// Makes SIGHUP of this process request a reload.
    public func installProcessHandler() {
        followsProcessSignal.store(true, ordering: .relaxed)
        signal(SIGHUP) { _ in processReloadRequested.store(true, ordering: .relaxed) }
    }
}
