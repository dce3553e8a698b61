import Foundation
import Logging
import Protocol

/// The coordinator's I/O: one ROUTER socket, created, used and closed by the thread that calls
/// `run`. It only polls, hands frames and clock ticks to `CoordinatorMachine`, and performs
/// the actions it returns.
public struct CoordinatorLoop: Sendable {
    public let context: ZMQContext
    public let endpoint: String
    public let settings: CoordinatorSettings
    public let logger: Logger

    /// Largest message a peer may send: an IMAGE of the largest model input, with margin.
    public static let maxMessageBytes: Int64 = 256 << 20

    public init(context: ZMQContext, endpoint: String, settings: CoordinatorSettings, logger: Logger) {
        self.context = context
        self.endpoint = endpoint
        self.settings = settings
        self.logger = logger
    }

    /// Binds (a bad endpoint throws at once), tells `bound` the endpoint actually bound, and
    /// serves on the calling thread until `stop` is requested; then tells clients and workers
    /// that it is leaving and returns.
    public func run(stop: StopSignal, bound: (String) -> Void = { _ in }) throws {
        let socket = try ZMQSocket(context, .router)
        defer { socket.close() }
        try socket.setRouterMandatory()
        try socket.setMaxMessageSize(Self.maxMessageBytes)
        try socket.bind(endpoint)
        bound(socket.lastEndpoint)
        logger.info("coordinator listening on \(socket.lastEndpoint)")

        var machine = CoordinatorMachine(settings: settings, firstJobID: JobID(Date().timeIntervalSince1970 * 1000) & 0xFFFF_FFFF)
        let tickInterval = min(0.1, settings.heartbeatInterval / 2)
        func perform(_ actions: [CoordinatorAction]) {
            for action in actions {
                switch action {
                case .send(let peer, let message):
                    do { try socket.send([peer] + message.frames, dontWait: true) } catch {
                        logger.debug("coordinator: cannot send \(message.type) to \(peer.hexPrefix): \(error)")
                    }
                case .log(let level, let text):
                    logger.log(level: level, "\(text)")
                }
            }
        }
        var nextTick = 0.0
        while !stop.isRequested {
            do {
                // Block on the socket until a message or the next tick.
                let timeout = max(0, Int((nextTick - monotonicSeconds()) * 1000))
                var drained = 0
                var wait = timeout
                while drained < 1000, let frames = try socket.receive(timeoutMs: wait) {
                    if frames.count >= 1 {
                        perform(machine.receive(Array(frames.dropFirst()), from: frames[0], at: monotonicSeconds()))
                    }
                    drained += 1
                    wait = 0  // drain what else is waiting, then tick
                }
                let now = monotonicSeconds()
                if now >= nextTick {
                    perform(machine.tick(at: now))
                    nextTick = now + tickInterval
                }
            } catch let error as ZMQError where error.isContextTerminated {
                return
            } catch {
                logger.error("coordinator: \(error)")
            }
        }
        logger.info("coordinator stopping")
        perform(machine.shutdown(reason: "the coordinator stopped", at: monotonicSeconds()))
    }
}

/// Monotonic seconds.
func monotonicSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
