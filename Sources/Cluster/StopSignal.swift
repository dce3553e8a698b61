import Foundation

/// A flag that asks a loop to stop: set by SIGINT/SIGTERM in the executables, by tests directly.
public final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false
    public init() {}
    public var isRequested: Bool { lock.lock(); defer { lock.unlock() }; return requested }
    public func request() { lock.lock(); requested = true; lock.unlock() }

    /// Routes SIGINT and SIGTERM of this process to `signal` (the first signal asks politely;
    /// the loops finish their unit, say goodbye and return).
    public static func installProcessHandlers(_ signal: StopSignal) {
        processSignal = signal
        for sig in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            Foundation.signal(sig, SIG_IGN)
            source.setEventHandler { processSignal?.request() }
            source.resume()
            signalSources.append(source)
        }
    }
}

nonisolated(unsafe) private var processSignal: StopSignal?
nonisolated(unsafe) private var signalSources: [DispatchSourceSignal] = []

/// Monotonic seconds.
func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
