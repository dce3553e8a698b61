/// Why a submit takes its job for lost (it then submits what is not yet answered again, within
/// the grace period).
public enum JobLoss: Equatable, Sendable, CustomStringConvertible {
    /// JOB_DONE with a retryable error (a restarted coordinator that does not know the job, say).
    case gaveUp(reason: String)
    /// JOB_DONE while images were still unanswered.
    case endedUnanswered(images: Int)
    /// The coordinator said BYE.
    case coordinatorStopped
    /// Nothing heard for `seconds` while the job ran.
    case silent(seconds: Int)
    /// A resubmission the coordinator did not answer.
    case noAnswerYet

    public var description: String {
        switch self {
        case .gaveUp(let reason): return "the coordinator gave the job up (\(reason))"
        case .endedUnanswered(let images): return "the coordinator ended the job with \(images) image(s) unanswered"
        case .coordinatorStopped: return "the coordinator stopped"
        case .silent(let seconds): return "the coordinator went silent for \(seconds) s"
        case .noAnswerYet: return "no answer from the coordinator yet"
        }
    }
}
