// What a connected worker is doing (idle | busy | quarantined) is `WorkerState` in Protocol
// (RackStatus): STATUS, logs and metrics report it.

/// Why a worker was quarantined; `quarantine_after` (K) of either puts it there.
public enum QuarantineReason: Sendable, Equatable, CustomStringConvertible {
    /// It held units past their deadlines (it heartbeats but does not answer, or is far too slow).
    case missedDeadlines(Int)
    /// Its answers were unusable (non-finite, wrong-shaped, missing, undecodable, or errors)
    /// where another worker's answer to the same unit was good.
    case badAnswers(Int)

    public var description: String {
        switch self {
        case .missedDeadlines(let n): return "missed \(n) deadlines"
        case .badAnswers(let n): return "gave \(n) bad answers"
        }
    }
}
