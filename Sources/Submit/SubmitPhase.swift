import Protocol

extension SubmitMachine {
    /// Where the job stands, each phase with the state it needs (nothing optional beside it).
    public enum Phase: Equatable, Sendable {
        /// SUBMIT sent, no ACCEPTED yet.
        case submitting(Attempt, Contact)
        /// The coordinator runs the job: images flow within its credit.
        case running(Attempt, Accepted)
        /// The job was lost at `lostSince`; what is not yet answered is submitted again at `at`.
        case resubmitting(at: Double, lostSince: Double)
        case over(Result<JobSummary, SubmitError>)
    }

    /// What a SUBMIT not yet accepted follows.
    public enum Contact: Equatable, Sendable {
        /// The first SUBMIT, nothing heard yet: at `noticeAt` the user is told the submit waits.
        case unheard(noticeAt: Double)
        /// The first SUBMIT; the coordinator spoke (a STATUS, say) but has not accepted.
        case heard
        /// A SUBMIT again, of the job lost at `lostSince`.
        case resubmitted(lostSince: Double)
    }

    /// One submission to one coordinator: the images it carries (its index -> the job's).
    public struct Attempt: Equatable, Sendable {
        package var images: [Int]
        /// The job's image index -> this attempt's.
        package var positions: [Int: Int]
        package var nextImage = 0
        /// Images being loaded, sent or computed: at most the credit.
        package var outstanding = 0

        package init(images: [Int]) {
            self.images = images
            positions = Dictionary(uniqueKeysWithValues: images.enumerated().map { ($1, $0) })
        }
    }
}
