/// How a job ends (`CoordinatorMachine.finish`): its final phase and JOB_DONE's error.
enum JobEnding: Equatable {
    case done
    case cancelled(JobCancellation)
    /// `reason` goes to the client; `retryable`: the client may submit again (the coordinator stops).
    case failed(String, retryable: Bool = false)

    var phase: JobPhase {
        switch self {
        case .done: return .done
        case .cancelled: return .cancelled
        case .failed: return .failed
        }
    }

    var error: String? {
        switch self {
        case .done: return nil
        case .cancelled(let why): return "\(why)"
        case .failed(let reason, _): return reason
        }
    }
}
