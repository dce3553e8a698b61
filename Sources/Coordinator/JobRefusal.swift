import Transport

/// Why the coordinator refuses a SUBMIT: the facts, which tests check; REFUSED carries the
/// sentence (`message`) to the client, which shows it to the user.
public enum JobRefusal: Equatable, Sendable {
    /// The options do not validate (`JobOptions.validate`'s own words) or name no class.
    case invalidOptions(String)
    case negativeImageCount(Int)
    case noClassName
    /// The connection is not a client's (a worker key, or an operator's).
    case notAClient(PeerIdentity)
    case tooManyReferences(Int, limit: Int)
    case tooManyJobs(running: Int)

    public var message: String {
        switch self {
        case .invalidOptions(let text): return text
        case .negativeImageCount(let n): return "a negative image count (\(n))"
        case .noClassName: return "the job names no class"
        case .notAClient(let identity):
            return "this connection uses a \(identity): submitting needs a key of the coordinator's authorized_clients"
        case .tooManyReferences(let count, let limit):
            return "\(count) reference images exceed this coordinator's limit of \(limit) (security.max_references)"
        case .tooManyJobs(let running):
            return "this client already has \(running) job(s) running, the most this coordinator takes from one client (security.max_jobs_per_client)"
        }
    }
}
