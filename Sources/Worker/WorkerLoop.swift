import Foundation
import Logging
import Protocol
import Transport
import WinCLIP

/// A worker's I/O: a DEALER socket to the coordinator and an inproc PAIR to its compute
/// thread, both owned by the thread that calls `run`. It blocks on the two sockets, hands
/// what arrives to `WorkerMachine` and performs the actions it returns; the compute thread
/// owns the `UnitExecutor` and answers each message it is given.
public struct WorkerLoop: Sendable {
    public let context: ZMQContext
    public let endpoint: String
    public let ready: Ready
    public let settings: WorkerSettings
    public let model: CLIPModel
    public let backends: ComputeBackends
    public let logger: Logger
    /// How to authenticate to the coordinator (docs/security.md).
    public var security = PeerSecurity.none
    /// Largest frame accepted from the coordinator (`FrameLimit`).
    public var maxFrameBytes: Int64 = FrameLimit.unknownModel

    public init(context: ZMQContext, endpoint: String, ready: Ready, settings: WorkerSettings = WorkerSettings(),
                model: CLIPModel, backends: ComputeBackends, logger: Logger) {
        self.context = context
        self.endpoint = endpoint
        self.ready = ready
        self.settings = settings
        self.model = model
        self.backends = backends
        self.logger = logger
    }

    /// Serves until `stop` is requested; then finishes the unit in hand, sends BYE and returns.
    public func run(stop: StopSignal) throws {
        let computeEndpoint = "inproc://winclip-compute-\(UUID().uuidString)"
        let compute = try ZMQSocket(context, .pair)
        defer { compute.close() }
        try compute.bind(computeEndpoint)
        let computeDone = DispatchSemaphore(value: 0)
        let (context, model, backends, logger, name) = (self.context, self.model, self.backends, self.logger, ready.name)
        Thread.detachNewThread {
            defer { computeDone.signal() }
            do {
                try ComputeThread.serve(context: context, endpoint: computeEndpoint, model: model, backends: backends)
            } catch {
                logger.error("worker \(name): compute thread: \(error)")
            }
        }
        defer {
            _ = try? compute.send([Data()])  // an empty frame asks the compute thread to stop
            computeDone.wait()
        }

        var (socket, watch) = try connect()
        defer { socket.close() }
        var machine = WorkerMachine(ready: ready, settings: settings)
        logger.info("worker \(ready.name) serving \(ready.model) [\(ready.fingerprint)] via \(endpoint)")
        var stopSent = false
        var lastHandshakeFailure: (failure: HandshakeFailure?, at: Double) = (nil, -Double.infinity)
        var actions = machine.connected(at: monotonicSeconds())
        let wait = max(1, Int(settings.heartbeatInterval * 500))
        while true {
            for action in actions {
                switch action {
                case .send(let message):
                    do { try socket.send(message.frames, dontWait: true) } catch {
                        logger.debug("worker \(ready.name): cannot send \(message.type): \(error)")
                    }
                case .compute(let message):
                    try compute.send(message.frames)
                case .reconnect:
                    socket.close()
                    (socket, watch) = try connect()
                case .exit:
                    return
                case .diagnostic(let diagnostic):
                    logger.log(level: diagnostic.level, "\(diagnostic.message(worker: ready.name))")
                }
            }
            actions = []
            if let failure = watch?.update().lastFailure {
                // libzmq retries every 100 ms: the same reason is repeated every 30 s at most.
                let now = monotonicSeconds()
                if failure != lastHandshakeFailure.failure || now - lastHandshakeFailure.at >= 30 {
                    logger.error("worker \(ready.name): \(failure); retrying")
                    lastHandshakeFailure = (failure, now)
                }
            }
            let readable = try ZMQSocket.poll([socket, compute], timeoutMs: wait)
            let now = monotonicSeconds()
            if readable[0], let frames = try socket.receive(timeoutMs: 0) {
                actions += machine.received(frames, at: now)
            }
            if readable[1], let frames = try compute.receive(timeoutMs: 0) {
                let reply = frames.count == 1 && frames[0].isEmpty ? nil : try? WireMessage(frames: frames)
                actions += machine.computed(reply, at: now)
            }
            actions += machine.tick(at: now)
            if stop.isRequested && !stopSent {
                stopSent = true
                actions += machine.stopRequested(at: now)
            }
        }
    }

    package func connect() throws -> (ZMQSocket, HandshakeWatch?) {
        let socket = try ZMQSocket(context, .dealer)
        try socket.setMaxMessageSize(maxFrameBytes)
        try socket.setLiveness(interval: settings.heartbeatInterval, timeout: settings.heartbeatInterval * Double(settings.liveness))
        try security.apply(to: socket)
        let watch = try HandshakeWatch.watch(socket, context: context, endpoint: endpoint, role: .worker, key: security.publicKey)
        try socket.connect(endpoint)
        return (socket, watch)
    }
}

/// The worker's compute thread: owns the executor (model, job contexts) and answers every
/// UNIT with its RESULT and every CONTEXT with an empty frame, in order.
enum ComputeThread {
    static func serve(context: ZMQContext, endpoint: String, model: CLIPModel, backends: ComputeBackends) throws {
        let socket = try ZMQSocket(context, .pair)
        defer { socket.close() }
        try socket.connect(endpoint)
        var executor = try UnitExecutor(model: model, backends: backends)
        while let frames = try socket.receive() {
            if frames.count == 1 && frames[0].isEmpty { return }
            guard let message = try? WireMessage(frames: frames), let reply = executor.handle(message) else {
                try socket.send([Data()])
                continue
            }
            try socket.send(reply.frames)
        }
    }
}
