import Foundation
import Logging
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
    case log(Logger.Level, String)
}

/// A worker's protocol logic, after the ZeroMQ guide's Paranoid Pirate worker, as a pure state
/// machine: it takes events (frames from the coordinator, a finished computation, clock
/// ticks, a stop request) and returns actions. It keeps the units the coordinator sent ahead
/// (prefetch) and hands them to the compute thread one at a time, so the worker never waits
/// for a round trip between units; heartbeats flow while it computes; a silent coordinator
/// makes it reconnect with backoff and announce itself again.
public struct WorkerMachine: Sendable {
    public let settings: WorkerSettings
    let ready: Ready
    private var lastHeard = 0.0
    private var lastBeat = -Double.infinity
    /// UNIT and CONTEXT messages waiting for the compute thread, in arrival order.
    private var queue: [WireMessage] = []
    /// The compute thread is busy; `computingStale` when what it computes belongs to a
    /// connection since dropped (its result is discarded).
    private var computing = false
    private var computingStale = false
    private var reconnectAt: Double?
    private var delay: Double
    private var stopping = false
    private(set) var unitsDone = 0

    public init(ready: Ready, settings: WorkerSettings = WorkerSettings()) {
        self.ready = ready
        self.settings = settings
        delay = settings.reconnectDelay
    }

    /// Units waiting to be computed (what tests look at).
    public var queuedCount: Int { queue.count }

    // MARK: - Events

    /// The socket is connected (at start and after every reconnect): announce the model.
    public mutating func connected(at now: Double) -> [WorkerAction] {
        lastHeard = now
        lastBeat = now
        reconnectAt = nil
        return [.send(WireMessage(.ready, ready))]
    }

    public mutating func received(_ frames: [Data], at now: Double) -> [WorkerAction] {
        var actions: [WorkerAction] = []
        lastHeard = now
        delay = settings.reconnectDelay
        let message: WireMessage
        do { message = try WireMessage(frames: frames) } catch {
            return [.log(.warning, "worker \(ready.name): dropped a malformed message: \(error)")]
        }
        switch message.type {
        case .unit, .context:
            // While leaving, a unit is handed back by not taking it: the coordinator re-queues
            // whatever this worker held when BYE arrives.
            if !stopping { queue.append(message) }
        case .heartbeat:
            break
        case .bye:
            actions.append(.log(.info, "worker \(ready.name): the coordinator is leaving; reconnecting"))
            actions += dropConnection(at: now, wait: settings.reconnectDelay)
        default:
            actions.append(.log(.warning, "worker \(ready.name): ignoring \(message.type) from the coordinator"))
        }
        return actions + startNext()
    }

    /// The compute thread finished: `reply` is the RESULT of a unit (nil for a stored CONTEXT).
    public mutating func computed(_ reply: WireMessage?, at now: Double) -> [WorkerAction] {
        computing = false
        var actions: [WorkerAction] = []
        if let reply, !computingStale {
            unitsDone += 1
            actions.append(.send(reply))
        }
        computingStale = false
        return actions + leaveIfDone() + startNext()
    }

    public mutating func tick(at now: Double) -> [WorkerAction] {
        var actions: [WorkerAction] = []
        if let at = reconnectAt {
            guard now >= at else { return [] }
            return [.reconnect] + connected(at: now)
        }
        if now - lastBeat >= settings.heartbeatInterval {
            actions.append(.send(WireMessage(type: .heartbeat)))
            lastBeat = now
        }
        let silence = now - lastHeard
        if silence > settings.heartbeatInterval * Double(settings.liveness) {
            actions.append(.log(.warning, "worker \(ready.name): coordinator silent for \(Int(silence)) s; reconnecting in \(delay) s"))
            actions += dropConnection(at: now, wait: delay)
            delay = min(delay * 2, settings.maxReconnectDelay)
        }
        return actions
    }

    /// Finish the unit in hand, hand back the queued ones, say goodbye and leave.
    public mutating func stopRequested(at now: Double) -> [WorkerAction] {
        stopping = true
        queue.removeAll()
        return leaveIfDone()
    }

    // MARK: - Steps

    /// The coordinator re-queues what this worker held; what is queued here is dropped and the
    /// unit being computed is answered into the void.
    private mutating func dropConnection(at now: Double, wait: Double) -> [WorkerAction] {
        queue.removeAll()
        if computing { computingStale = true }
        reconnectAt = now + wait
        return []
    }

    private mutating func startNext() -> [WorkerAction] {
        guard !computing, !stopping, reconnectAt == nil, !queue.isEmpty else { return [] }
        computing = true
        return [.compute(queue.removeFirst())]
    }

    private mutating func leaveIfDone() -> [WorkerAction] {
        guard stopping, !computing else { return [] }
        return [.send(WireMessage(type: .bye)), .log(.info, "worker \(ready.name) leaving after \(unitsDone) unit(s)"), .exit]
    }
}
