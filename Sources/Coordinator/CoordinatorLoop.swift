import Foundation
import Logging
import Protocol
import Transport

/// The coordinator's I/O: one ROUTER socket (and, under CURVE, the ZAP handler's REP socket),
/// created, used and closed by the thread that calls `run`. It only polls, hands frames and
/// clock ticks to `CoordinatorMachine`, and performs the actions it returns.
public struct CoordinatorLoop: Sendable {
    public let context: ZMQContext
    public let endpoint: String
    public var settings: CoordinatorSettings
    public let logger: Logger
    /// Who may connect (docs/security.md).
    public var security = CoordinatorSecurity.none
    /// Largest frame a peer may send (`FrameLimit`); a larger one drops that peer's connection.
    public var maxFrameBytes: Int64 = FrameLimit.unknownModel
    /// Messages per second one peer may send before it is cut off.
    public var maxMessagesPerSecond = 5000.0
    /// Re-reads the key folders when requested (SIGHUP).
    public var reload: ReloadSignal?
    /// Metrics and the status page (`coordinator.metrics_endpoint`); nil: off.
    public var monitor: RackMonitor?

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
        RoutingIDs.seedLibzmqGenerator()
        // The ZAP handler first: a CURVE socket without one would accept every key. Under
        // NULL it assigns routing ids (RoutingIDs, below).
        var zap: (socket: ZMQSocket, handler: ZAPHandler, server: CurveServer?)?
        if case .curve(let server) = security {
            try requireCurve()
            let ring = try server.loadKeyRing()
            let zapSocket = try ZMQSocket(context, .rep)
            do { try zapSocket.bind("inproc://zeromq.zap.01") } catch {
                throw ZMQError("cannot start the ZAP handler (another CURVE coordinator in this process?)")
            }
            zap = (zapSocket, ZAPHandler(keyRing: ring), server)
            logger.info("CURVE on: \(ring.count(.worker)) worker key(s) from \(server.authorizedWorkers.path), \(ring.count(.client)) client key(s) from \(server.authorizedClients.path); coordinator key \(server.keys.publicKey.fingerprint)")
        } else if !endpoint.hasPrefix("inproc://") {
            let zapSocket = try ZMQSocket(context, .rep)
            do {
                try zapSocket.bind("inproc://zeromq.zap.01")
                zap = (zapSocket, ZAPHandler(mechanism: .null), nil)
            } catch {
                zapSocket.close()
                logger.warning("routing ids are libzmq's (seeded at random), not assigned: another coordinator in this process owns the ZAP endpoint")
            }
        }
        defer { zap?.socket.close() }
        let socket = try ZMQSocket(context, .router)
        defer { socket.close() }
        try socket.setRouterMandatory()
        try socket.setMaxMessageSize(maxFrameBytes)
        try socket.setLiveness(interval: settings.heartbeatInterval, timeout: settings.workerExpiry)
        if case .curve(let server) = security { try socket.setCurveServer(secretKey: server.keys.secretKey) }
        if zap?.handler.mechanism == .null { try socket.setZAPDomain(RoutingIDs.zapDomain) }
        try socket.bind(endpoint)
        bound(socket.lastEndpoint)
        logger.info("coordinator listening on \(socket.lastEndpoint)")

        var machine = CoordinatorMachine(settings: settings, firstJobID: JobID(Date().timeIntervalSince1970 * 1000) & 0xFFFF_FFFF)
        machine.observability = ObservabilityClock(wallClockOffset: Date().timeIntervalSince1970 - monotonicSeconds(), startedAt: monotonicSeconds())
        var nextPublish = 0.0
        var admission = PeerAdmission(limiter: PeerRateLimiter(messagesPerSecond: maxMessagesPerSecond),
                                      keyRing: zap?.handler.mechanism == .curve ? zap?.handler.keyRing : nil)
        var throttle = LogThrottle()
        var random = SystemRandomNumberGenerator()
        let tickInterval = min(0.1, settings.heartbeatInterval / 2)
        func write(_ level: Logger.Level, _ text: String) {
            if level >= .warning {
                let (allowed, summary) = throttle.admit(at: monotonicSeconds())
                if let summary { logger.warning("\(summary)") }
                guard allowed else { return }
            }
            logger.log(level: level, "\(text)")
        }
        func perform(_ actions: [CoordinatorAction]) {
            for action in actions {
                switch action {
                case .send(let peer, let message):
                    monitor?.sent(message)
                    do { try socket.send([peer] + message.frames, dontWait: true) } catch {
                        logger.debug("coordinator: cannot send \(message.type) to \(machine.describe(peer)): \(error)")
                    }
                case .diagnostic(let diagnostic):
                    write(diagnostic.level, diagnostic.message)
                case .observe(let event):
                    monitor?.record(event)
                }
            }
        }
        var nextTick = 0.0
        while !stop.isRequested {
            do {
                // Block on the sockets until a message, a handshake to authenticate or the next tick.
                let timeout = max(0, Int((nextTick - monotonicSeconds()) * 1000))
                let readable = try ZMQSocket.poll(zap.map { [socket, $0.socket] } ?? [socket], timeoutMs: timeout)
                if readable.count > 1, readable[1], var z = zap {
                    while let request = try z.socket.receive(timeoutMs: 0) {
                        let answer = z.handler.answer(request) { ZAPHandler.randomRoutingID(using: &random) }
                        if !answer.accepted { monitor?.record(.peerRefused(.unknownKey)) }
                        try z.socket.send(answer.reply)
                        if let d = answer.diagnostic { write(d.level, d.message) }
                    }
                    zap = z
                }
                var drained = 0
                while readable[0], drained < 1000, let (frames, userID) = try socket.receiveWithUserID(timeoutMs: 0) {
                    drained += 1  // then tick, and answer handshakes
                    guard frames.count >= 1 else { continue }
                    let peer = frames[0], now = monotonicSeconds()
                    monitor?.received(frames)
                    switch admission.frame(from: peer, userID: userID, at: now) {
                    case .admit(let who): perform(machine.receive(Array(frames.dropFirst()), from: peer, as: who, at: now))
                    case .drop: continue
                    case .cutOff(let reason): perform(machine.disconnect(peer, reason, at: now))
                    }
                }
                if let signal = reload, signal.take(), var z = zap, let server = z.server {
                    do {
                        let ring = try server.loadKeyRing()
                        let revoked = admission.reload(ring)
                        z.handler.keyRing = ring
                        zap = z
                        logger.notice("key folders re-read: \(ring.count(.worker)) worker key(s), \(ring.count(.client)) client key(s)")
                        perform(machine.revoke(revoked, at: monotonicSeconds()))
                    } catch {
                        logger.error("key folders not re-read, the previous keys stay in force: \(error)")
                    }
                }
                let now = monotonicSeconds()
                if now >= nextTick {
                    perform(machine.tick(at: now))
                    nextTick = now + tickInterval
                    if let monitor, now >= nextPublish {
                        monitor.publish(machine.statusSnapshot(at: now))
                        nextPublish = now + RackMonitor.publishInterval
                    }
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

/// libzmq's ROUTER names a peer that sets no routing id `00` + a 32-bit counter that starts at
/// C `rand()`; libzmq never seeds it, so in every process the first id is `00 6b8b4567`, and a
/// peer that claims the next ids makes the ROUTER abort when they are handed out
/// (`socket_base.cpp:2130`); a peer that claims another's id locks that one out. So the ZAP
/// handler gives every tcp/ipc connection a random id under every mode: under CURVE as it
/// authenticates, under NULL because the ROUTER has a ZAP domain (libzmq asks ZAP about NULL
/// handshakes only then). inproc peers (this process's own threads) do no handshake; the seed
/// makes the ids libzmq generates for them unpredictable too.
enum RoutingIDs {
    /// The ROUTER's ZAP domain under `mode: none`.
    static let zapDomain = "winclip"

    static func seedLibzmqGenerator() {
        // srand is process-wide; nothing in this program relies on rand()'s sequence.
        srand(UInt32.random(in: 0...UInt32.max))
    }
}
