/// Why a submit failed: the machine's own reasons as cases (tests check those), anything found
/// around it (options, files, a refused handshake) as its sentence.
public struct SubmitError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Reason: Equatable, Sendable {
        /// Found outside the machine: the sentence says it all.
        case other(String)
        /// The coordinator never answered the first contact within `seconds` (`endpoint`: the
        /// one waited for, which the client knows and the machine does not).
        case noAnswer(within: Int, endpoint: String?)
        /// REFUSED, with the coordinator's reason.
        case refused(String)
        /// JOB_DONE with an error that submitting again would not cure.
        case jobFailed(String)
        /// Reference image `index` (from 0) could not be decoded.
        case unusableReference(index: Int, error: String)
        /// The user stopped the client.
        case interrupted
        /// The job was lost and no coordinator took it back within `graceSeconds`.
        case notTakenBack(JobLoss, graceSeconds: Int)
    }

    public let reason: Reason

    public init(_ description: String) { reason = .other(description) }
    public init(reason: Reason) { self.reason = reason }

    /// No answer at all from the coordinator within `seconds`.
    public static func noAnswer(within seconds: Int) -> SubmitError { SubmitError(reason: .noAnswer(within: seconds, endpoint: nil)) }

    /// The seconds waited in vain for a first answer; nil for any other failure.
    public var noAnswerWithin: Int? {
        if case .noAnswer(let seconds, _) = reason { return seconds }
        return nil
    }

    /// The same error naming the endpoint the client was waiting for.
    public func naming(endpoint: String) -> SubmitError {
        guard case .noAnswer(let seconds, _) = reason else { return self }
        return SubmitError(reason: .noAnswer(within: seconds, endpoint: endpoint))
    }

    public var description: String {
        switch reason {
        case .other(let text):
            return text
        case .noAnswer(let seconds, let endpoint):
            let coordinator = endpoint.map { "the coordinator at \($0)" } ?? "the coordinator"
            return "no answer from \(coordinator) within \(seconds) s; is `winclip-coord serve` running there, and is that its endpoint?"
        case .refused(let why):
            return "the coordinator refused the job: \(why)"
        case .jobFailed(let error):
            return "job failed: \(error)"
        case .unusableReference(let index, let error):
            return "reference image \(index + 1) cannot be used: \(error)"
        case .interrupted:
            return "interrupted; results written so far are kept"
        case .notTakenBack(let loss, let grace):
            return "\(loss), and no coordinator took the job back within \(grace) s; results written so far are kept (continue with --resume)"
        }
    }
}
