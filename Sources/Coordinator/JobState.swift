import Foundation
import Protocol
import WinCLIP

/// What a live job holds, per phase (`JobPhase` names them), after swift-nio's HTTP/2 stream
/// states: each case carries exactly the data of its phase, so that no field sits unused beside
/// the others. Final phases hold nothing: a finished job is removed at once.
enum JobState {
    /// No live worker of a usable model yet: no model pinned.
    case waitingForWorkers
    /// ACCEPTED sent; the client sends its K reference images.
    case references(ReferencesState)
    /// The text unit (and the references unit) run on workers, or come from the setup cache.
    case setup(SetupState)
    /// Image units flow; images complete in any order.
    case scoring(ScoringState)

    var phase: JobPhase {
        switch self {
        case .waitingForWorkers: return .waitingForWorkers
        case .references: return .references
        case .setup: return .setup
        case .scoring: return .scoring
        }
    }

    /// The model the job is pinned to (every phase after ACCEPTED has one).
    var model: PinnedModel? {
        switch self {
        case .waitingForWorkers: return nil
        case .references(let s): return s.model
        case .setup(let s): return s.model
        case .scoring(let s): return s.model
        }
    }
}

/// A few-shot job collecting its reference images.
struct ReferencesState {
    let model: PinnedModel
    var pixels: [Int: Data] = [:]
    /// Images received before setup finished (at most the client's credit).
    var waitingImages: [Int: Data] = [:]
}

/// A job computing (or looking up) its text and reference embeddings.
package struct SetupState {
    let model: PinnedModel
    /// Setup computed on two workers that must agree (SetupVerification.swift).
    let verify: Bool
    /// The copies asked for and answers in, per setup unit kind still computed.
    var checks: [UnitKind: SetupCheck] = [:]
    var text: TextEmbeddings?
    package var references: ReferenceEmbeddings?
    /// The setup cache's key of the references (few-shot jobs only).
    var referenceKey = ""
    /// Images received before setup finished (at most the client's credit).
    var waitingImages: [Int: Data] = [:]
}

/// A job scoring its images.
package struct ScoringState {
    let model: PinnedModel
    /// CONTEXT: the embeddings every image unit needs, sent to each worker once.
    package let context: WireMessage
    /// Images with units in flight, by index.
    var images: [Int: ImageWork] = [:]
}
