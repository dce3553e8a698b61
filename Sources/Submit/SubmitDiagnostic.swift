import Foundation
import Protocol

/// What a submit's machine tells the user while the job runs (the facts; the sentence is made
/// here, with the endpoint the client knows), so that tests check the case, not the words.
public enum SubmitDiagnostic: Equatable, Sendable {
    /// Nothing heard from the coordinator since the first SUBMIT, `seconds` ago; the submit keeps
    /// trying.
    case waitingForCoordinator(seconds: Int)
    /// A STATUS from the coordinator (waiting for workers, say): its own sentence.
    case coordinatorStatus(String)
    /// The job was lost; the `unanswered` images are submitted again in `resubmitIn` seconds.
    case lost(JobLoss, unanswered: Int, resubmitIn: Double)
    /// A coordinator took the lost job back, as job `job`, with the `images` not yet answered.
    case resubmitted(job: UInt64, images: Int)
    /// An answer for an image of no job this submit runs (a lost job's late answer, say).
    case unknownImage(index: Int, job: UInt64)
    /// Frames that are not a message (`error` says why).
    case malformedMessage(error: String)
    /// A message whose body does not decode.
    case malformedPayload(MessageType, error: String)
    /// A message type a client does not take.
    case unexpectedMessage(MessageType)

    /// The sentence for the user, for a submit to the coordinator at `endpoint`.
    public func message(endpoint: String) -> String {
        switch self {
        case .waitingForCoordinator(let seconds):
            return "no answer yet from the coordinator at \(endpoint) after \(seconds) s; still trying (is `winclip-coord serve` running there, and is that its endpoint?)"
        case .coordinatorStatus(let text):
            return text
        case .lost(let loss, let unanswered, let delay):
            return "\(loss); submitting the \(unanswered) image(s) not yet answered again in \(String(format: "%.0f", delay)) s"
        case .resubmitted(let job, let images):
            return "job resubmitted as job \(job) with the \(images) image(s) not yet answered"
        case .unknownImage(let index, let job):
            return "ignored an answer for unknown image \(index) of job \(job)"
        case .malformedMessage(let error):
            return "dropped a malformed message from the coordinator: \(error)"
        case .malformedPayload(let type, let error):
            return "dropped a malformed \(type) from the coordinator: \(error)"
        case .unexpectedMessage(let type):
            return "unexpected \(type) from the coordinator"
        }
    }
}
