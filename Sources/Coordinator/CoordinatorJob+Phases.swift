import Foundation
import Protocol
import WinCLIP

/// A job's transitions between phases (JobState), each checked against `JobPhase.canMove`, and
/// the data each phase holds. The machine decides when (CoordinatorMachine.swift); the job
/// keeps its data consistent with its phase.
extension CoordinatorJob {
    var referencesState: ReferencesState? { if case .references(let s) = state { s } else { nil } }
    package var setup: SetupState? { if case .setup(let s) = state { s } else { nil } }
    package var scoring: ScoringState? { if case .scoring(let s) = state { s } else { nil } }
    /// The setup copies asked for and answered (empty outside setup).
    var setupChecks: [UnitKind: SetupCheck] { setup?.checks ?? [:] }

    /// Images the client sent that are not answered yet (ACCEPTED's credit bounds them).
    var unansweredImages: Int {
        switch state {
        case .waitingForWorkers: return 0
        case .references(let s): return s.waitingImages.count
        case .setup(let s): return s.waitingImages.count
        case .scoring(let s): return s.images.count
        }
    }

    /// Whether image `index` was received and is not answered yet.
    func holds(image index: Int) -> Bool {
        switch state {
        case .waitingForWorkers: return false
        case .references(let s): return s.waitingImages[index] != nil
        case .setup(let s): return s.waitingImages[index] != nil
        case .scoring(let s): return s.images[index] != nil
        }
    }

    private mutating func move(to next: JobState) {
        precondition(phase.canMove(to: next.phase), "job \(id): no transition from \(phase) to \(next.phase)")
        state = next
    }

    // MARK: - Transitions

    /// ACCEPTED on `model`: a few-shot job now waits for its reference images; a zero-shot one
    /// goes to setup at once (`beginSetup`).
    mutating func accept(on model: PinnedModel, credit: Int) {
        self.credit = credit
        if fewShot { move(to: .references(ReferencesState(model: model))) }
    }

    /// Setup starts: its text (and references) come from the cache or are queued as units.
    mutating func beginSetup(_ setup: SetupState) { move(to: .setup(setup)) }

    /// Setup is complete: scoring starts with this CONTEXT, and the images that waited are queued.
    mutating func beginScoring(context: WireMessage) {
        guard let setup else { return }
        var scoring = ScoringState(model: setup.model, context: context)
        for (index, pixels) in setup.waitingImages.sorted(by: { $0.key < $1.key }) { enqueue(image: index, pixels: pixels, into: &scoring) }
        move(to: .scoring(scoring))
    }

    // MARK: - Data of the live phases

    /// An image (or reference image) received: references are kept for setup, images before
    /// scoring wait, images while scoring are queued. Returns false when the phase takes none.
    mutating func receive(image index: Int, pixels: Data, reference: Bool) -> Bool {
        switch state {
        case .waitingForWorkers:
            return false
        case .references(var s):
            if reference { s.pixels[index] = pixels } else { s.waitingImages[index] = pixels }
            state = .references(s)
        case .setup(var s):
            guard !reference else { return false }
            state = .waitingForWorkers  // releases the payload: `s` is mutated in place
            s.waitingImages[index] = pixels
            state = .setup(s)
        case .scoring(var s):
            guard !reference else { return false }
            state = .waitingForWorkers
            enqueue(image: index, pixels: pixels, into: &s)
            state = .scoring(s)
        }
        return true
    }

    /// Changes the setup's data (nothing outside setup).
    mutating func updateSetup(_ change: (inout SetupState) -> Void) {
        guard case .setup(var s) = state else { return }
        state = .waitingForWorkers  // releases the payload: `s` is mutated in place
        change(&s)
        state = .setup(s)
    }

    /// Changes the images being scored (nothing outside scoring).
    mutating func updateScoring(_ change: (inout ScoringState) -> Void) {
        guard case .scoring(var s) = state else { return }
        state = .waitingForWorkers  // releases the payload: `s` is mutated in place
        change(&s)
        state = .scoring(s)
    }

    /// Takes a finished image out of scoring.
    mutating func removeImage(_ index: Int) -> ImageWork? {
        var work: ImageWork?
        updateScoring { work = $0.images.removeValue(forKey: index) }
        return work
    }

    /// Queues the units of one image (the plan's first units; more may follow its full pass).
    private mutating func enqueue(image index: Int, pixels: Data, into scoring: inout ScoringState) {
        let assembly = ImageAssembly(plan: scoring.model.plan, fewShot: fewShot, mapPolicy: scoring.model.mapPolicy)
        let units = assembly.initialUnits
        scoring.images[index] = ImageWork(index: index, assembly: assembly, outstanding: units.count)
        enqueue(units, image: index, pixels: pixels)
    }
}
