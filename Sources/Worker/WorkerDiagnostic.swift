import Logging
import Protocol

/// What a worker's machine tells the log: the facts, each with its level and sentence here, so
/// that tests check the case and the loop writes the line.
public enum WorkerDiagnostic: Equatable, Sendable {
    /// Frames from the coordinator that are not a message (`error` says why).
    case malformedMessage(error: String)
    /// A message type a worker does not take (a client's, say).
    case unexpectedMessage(MessageType)
    /// The coordinator said BYE: the worker reconnects, to it restarted or to another.
    case coordinatorLeaving
    /// Nothing heard for `seconds`: the connection is dropped and opened again after `reconnectIn` s.
    case coordinatorSilent(seconds: Int, reconnectIn: Double)
    /// Asked to stop, and the unit in hand is done: the worker says BYE and exits.
    case leaving(unitsDone: Int)

    public var level: Logger.Level {
        switch self {
        case .malformedMessage, .unexpectedMessage, .coordinatorSilent: return .warning
        case .coordinatorLeaving, .leaving: return .info
        }
    }

    /// The log line, for the worker named `worker`.
    public func message(worker: String) -> String {
        switch self {
        case .malformedMessage(let error): return "worker \(worker): dropped a malformed message: \(error)"
        case .unexpectedMessage(let type): return "worker \(worker): ignoring \(type) from the coordinator"
        case .coordinatorLeaving: return "worker \(worker): the coordinator is leaving; reconnecting"
        case .coordinatorSilent(let seconds, let delay): return "worker \(worker): coordinator silent for \(seconds) s; reconnecting in \(delay) s"
        case .leaving(let units): return "worker \(worker) leaving after \(units) unit(s)"
        }
    }
}
