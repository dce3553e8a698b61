import Foundation
import Logging
import Protocol
import WinCLIP

/// A worker's loop, after the ZeroMQ guide's Paranoid Pirate worker: a DEALER that announces
/// itself with READY, computes one unit at a time on a background thread while its socket
/// keeps exchanging heartbeats, and reconnects (and announces itself again) when the
/// coordinator falls silent.
public final class WorkerEngine: @unchecked Sendable {
    public struct Settings: Sendable {
        public var endpoint: String
        /// Seconds between heartbeats.
        public var heartbeatInterval: Double = 1.0
        /// Heartbeats missed before the coordinator is taken for dead and the worker reconnects.
        public var liveness: Int = 5
        public var reconnectDelay: Double = 0.5
        public var maxReconnectDelay: Double = 8
        public init(endpoint: String) { self.endpoint = endpoint }
    }

    let executor: UnitExecutor
    let ready: Ready
    let context: ZMQContext
    let settings: Settings
    let logger: Logger

    public init(executor: UnitExecutor, ready: Ready, context: ZMQContext, settings: Settings, logger: Logger) {
        self.executor = executor
        self.ready = ready
        self.context = context
        self.settings = settings
        self.logger = logger
    }

    /// The unit being computed and, when done, its RESULT.
    final class Computation: @unchecked Sendable {
        let lock = NSLock()
        var result: WireMessage?
        var isDone: Bool { lock.lock(); defer { lock.unlock() }; return result != nil }
    }

    func connect() throws -> ZMQSocket {
        let socket = try ZMQSocket(context, .dealer)
        try socket.connect(settings.endpoint)
        try socket.send(WireMessage(.ready, ready).frames, dontWait: true)
        return socket
    }

    /// Serves until `stop` is requested; then finishes the unit in hand, sends BYE and returns.
    public func run(stop: StopSignal) throws {
        var socket = try connect()
        logger.info("worker \(ready.name) serving \(ready.model) [\(ready.fingerprint)] via \(settings.endpoint)")
        var lastHeard = now(), lastBeat = now()
        var delay = settings.reconnectDelay
        var computing: Computation?
        var queued: [WireMessage] = []
        var unitsDone = 0
        defer { socket.close() }

        func start(_ message: WireMessage) {
            let c = Computation()
            computing = c
            let executor = self.executor
            Thread.detachNewThread {
                let result = executor.execute(message)
                c.lock.lock(); c.result = result; c.lock.unlock()
            }
        }

        while true {
            if let c = computing, c.isDone {
                try socket.send(c.result!.frames, dontWait: true)
                computing = nil
                unitsDone += 1
                if !queued.isEmpty && !stop.isRequested { start(queued.removeFirst()) }
            }
            if stop.isRequested && computing == nil {
                _ = try? socket.send(WireMessage(type: .bye).frames, dontWait: true)
                logger.info("worker \(ready.name) leaving after \(unitsDone) unit(s)")
                return
            }
            if let frames = try socket.receive(timeoutMs: 20) {
                lastHeard = now()
                delay = settings.reconnectDelay
                do {
                    let message = try WireMessage(frames: frames)
                    switch message.type {
                    case .unit:
                        if stop.isRequested {
                            // Leaving: hand the unit back by not taking it; the coordinator
                            // re-queues it when BYE arrives.
                        } else if computing == nil { start(message) } else { queued.append(message) }
                    case .context:
                        try executor.storeContext(message)
                    case .heartbeat:
                        break
                    default:
                        logger.warning("worker: ignoring \(message.type) from the coordinator")
                    }
                } catch {
                    logger.warning("worker: dropped a malformed message: \(error)")
                }
            }
            let t = now()
            if t - lastBeat >= settings.heartbeatInterval {
                try socket.send(WireMessage(type: .heartbeat).frames, dontWait: true)
                lastBeat = t
            }
            if t - lastHeard > settings.heartbeatInterval * Double(settings.liveness) {
                logger.warning("worker \(ready.name): coordinator silent for \(Int(t - lastHeard)) s; reconnecting in \(delay) s")
                socket.close()
                queued.removeAll()  // the coordinator re-queues what it had given us
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, settings.maxReconnectDelay)
                if stop.isRequested && computing == nil { return }
                socket = try connect()
                lastHeard = now()
            }
        }
    }
}
