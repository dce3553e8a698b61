import Foundation
import Protocol

/// A worker's timing.
public struct WorkerSettings: Sendable, Equatable {
    /// Seconds between heartbeats.
    public var heartbeatInterval: Double = 1.0
    /// Heartbeats missed before the coordinator is taken for dead and the worker reconnects.
    public var liveness: Int = 5
    /// First wait before reconnecting; doubles per failed attempt up to the maximum.
    public var reconnectDelay: Double = 0.5
    public var maxReconnectDelay: Double = 8
    public init() {}
}

/// What the worker's I/O loop must do.
public enum WorkerAction: Equatable, Sendable {
    /// Send to the coordinator.
    case send(WireMessage)
    /// Hand a UNIT or CONTEXT to the compute thread (it answers with `computed`).
    case compute(WireMessage)
    /// Close the socket and open a new one (the machine then sends READY).
    case reconnect
    /// Leave: the loop returns.
    case exit
    /// Something for the log (the loop writes the line).
    case diagnostic(WorkerDiagnostic)
}

/// A worker's protocol logic, after the ZeroMQ guide's Paranoid Pirate worker, as a pure state
/// machine: it takes events (frames from the coordinator, a finished computation, clock
/// ticks, a stop request) and returns actions. It keeps the units the coordinator sent ahead
/// (prefetch) and hands them to the compute thread one at a time, so the worker never waits
/// for a round trip between units; heartbeats flow while it computes; a silent coordinator
/// makes it reconnect with backoff and announce itself again.
public struct WorkerMachine: Sendable {
    /// The link to the coordinator.
    public enum Connection: Equatable, Sendable {
        /// Before the first `connected`.
        case opening
        case connected(Link)
        /// Dropped (silence, BYE): a new socket at `at`. What the old one still delivers is not
        /// taken; the coordinator re-queues what this worker held.
        case reconnecting(at: Double)
    }

    /// A live connection: when the coordinator was last heard and last sent a heartbeat, and
    /// the units it sent ahead, waiting for the compute thread in arrival order.
    public struct Link: Equatable, Sendable {
        var lastHeard: Double
        var lastBeat: Double
        var queue: [WireMessage] = []
    }

    /// The compute thread.
    public enum Compute: Equatable, Sendable {
        case idle
        /// Computing; `stale` when what it computes belongs to a connection since dropped (its
        /// result is discarded).
        case busy(stale: Bool)
    }

    public enum Lifecycle: Equatable, Sendable {
        case serving
        /// Asked to stop: no new unit is taken; BYE once the unit in hand is done.
        case leaving
    }

    public let settings: WorkerSettings
    let ready: Ready
    private(set) var connection = Connection.opening
    private(set) var compute = Compute.idle
    private(set) var lifecycle = Lifecycle.serving
    /// The wait before the next reconnect after a silence; doubles per silence up to the
    /// maximum, back to the first once the coordinator is heard.
    private var backoff: Double
    private(set) var unitsDone = 0

    public init(ready: Ready, settings: WorkerSettings = WorkerSettings()) {
        self.ready = ready
        self.settings = settings
        backoff = settings.reconnectDelay
    }

    /// Units waiting to be computed (what tests look at).
    public var queuedCount: Int {
        if case .connected(let link) = connection { return link.queue.count }
        return 0
    }

    // MARK: - Events

    /// The socket is connected (at start and after every reconnect): announce the model.
    public mutating func connected(at now: Double) -> [WorkerAction] {
        connection = .connected(Link(lastHeard: now, lastBeat: now))
        return [.send(WireMessage(.ready, ready))]
    }

    public mutating func received(_ frames: [Data], at now: Double) -> [WorkerAction] {
        var actions: [WorkerAction] = []
        backoff = settings.reconnectDelay
        guard case .connected(var link) = connection else { return [] }
        link.lastHeard = now
        connection = .connected(link)
        let message: WireMessage
        do { message = try WireMessage(frames: frames) } catch {
            return [.diagnostic(.malformedMessage(error: "\(error)"))]
        }
        switch message.type {
        case .unit, .context:
            // While leaving, a unit is handed back by not taking it: the coordinator re-queues
            // whatever this worker held when BYE arrives.
            if lifecycle == .serving {
                link.queue.append(message)
                connection = .connected(link)
            }
        case .heartbeat:
            break
        case .bye:
            actions.append(.diagnostic(.coordinatorLeaving))
            dropConnection(at: now, wait: settings.reconnectDelay)
        default:
            actions.append(.diagnostic(.unexpectedMessage(message.type)))
        }
        return actions + startNext()
    }

    /// The compute thread finished: `reply` is the RESULT of a unit (nil for a stored CONTEXT).
    public mutating func computed(_ reply: WireMessage?, at now: Double) -> [WorkerAction] {
        var actions: [WorkerAction] = []
        if let reply, compute == .busy(stale: false) {
            unitsDone += 1
            actions.append(.send(reply))
        }
        compute = .idle
        return actions + leaveIfDone() + startNext()
    }

    public mutating func tick(at now: Double) -> [WorkerAction] {
        switch connection {
        case .opening:
            return []
        case .reconnecting(let at):
            guard now >= at else { return [] }
            return [.reconnect] + connected(at: now)
        case .connected(var link):
            var actions: [WorkerAction] = []
            if now - link.lastBeat >= settings.heartbeatInterval {
                actions.append(.send(WireMessage(type: .heartbeat)))
                link.lastBeat = now
                connection = .connected(link)
            }
            let silence = now - link.lastHeard
            if silence > settings.heartbeatInterval * Double(settings.liveness) {
                actions.append(.diagnostic(.coordinatorSilent(seconds: Int(silence), reconnectIn: backoff)))
                dropConnection(at: now, wait: backoff)
                backoff = min(backoff * 2, settings.maxReconnectDelay)
            }
            return actions
        }
    }

    /// Finish the unit in hand, hand back the queued ones, say goodbye and leave.
    public mutating func stopRequested(at now: Double) -> [WorkerAction] {
        lifecycle = .leaving
        if case .connected(var link) = connection {
            link.queue.removeAll()
            connection = .connected(link)
        }
        return leaveIfDone()
    }

    // MARK: - Steps

    /// The coordinator re-queues what this worker held; what is queued here is dropped and the
    /// unit being computed is answered into the void.
    private mutating func dropConnection(at now: Double, wait: Double) {
        if case .busy = compute { compute = .busy(stale: true) }
        connection = .reconnecting(at: now + wait)
    }

    private mutating func startNext() -> [WorkerAction] {
        guard compute == .idle, lifecycle == .serving, case .connected(var link) = connection, !link.queue.isEmpty else { return [] }
        compute = .busy(stale: false)
        let next = link.queue.removeFirst()
        connection = .connected(link)
        return [.compute(next)]
    }

    private mutating func leaveIfDone() -> [WorkerAction] {
        guard lifecycle == .leaving, compute == .idle else { return [] }
        return [.send(WireMessage(type: .bye)), .diagnostic(.leaving(unitsDone: unitsDone)), .exit]
    }
}
