/// The partial scores of one image, filled unit by unit in any order, then assembled into
/// its score and map. Every unit's scores are checked when they arrive (count, finiteness),
/// so that a broken worker or model makes an error for that image, not a wrong map.
public struct ImageAssembly: Sendable {
    public let plan: ImagePlan
    public let fewShot: Bool
    private var imageScore: Float?
    private var fewShotPatches: [Float]?
    private var zeroShot: [[Float]]
    private var fewShotWindows: [[Float]]
    private var pending: Set<ImageUnit>

    public init(plan: ImagePlan, fewShot: Bool) {
        self.plan = plan
        self.fewShot = fewShot
        zeroShot = plan.windowsPerScale.map { [Float](repeating: .nan, count: $0) }
        fewShotWindows = fewShot ? zeroShot : []
        pending = Set(plan.units)
    }

    public var isComplete: Bool { pending.isEmpty }
    /// Units of the plan not yet added.
    public var remaining: Int { pending.count }

    /// Adds one unit's scores; a unit that is not (or no longer) pending, scores of the wrong
    /// size or non-finite scores are refused with the reason.
    public mutating func add(_ unit: ImageUnit, _ scores: UnitScores) throws(ScoringError) {
        guard pending.contains(unit) else { throw ScoringError("unit \(unit) is not part of this image's plan or already done") }
        let cells = plan.gridSize * plan.gridSize
        switch (unit, scores) {
        case (.full, .full(let score, let patches)):
            try Self.checkFinite([score], "the image score")
            if fewShot {
                guard let patches, patches.count == cells else { throw ScoringError("few-shot full pass returned \(patches?.count ?? 0) patch scores, expected \(cells)") }
                try Self.checkFinite(patches, "the few-shot patch scores")
                fewShotPatches = patches
            }
            imageScore = score
        case (.windows(let s, let range), .windows(let zero, let few)):
            guard zero.count == range.count else { throw ScoringError("window unit of scale \(plan.scales[s]) returned \(zero.count) scores for \(range.count) windows") }
            try Self.checkFinite(zero, "window scores of scale \(plan.scales[s])")
            zeroShot[s].replaceSubrange(range, with: zero)
            if fewShot {
                guard let few, few.count == range.count else { throw ScoringError("few-shot window unit of scale \(plan.scales[s]) returned \(few?.count ?? 0) scores for \(range.count) windows") }
                try Self.checkFinite(few, "few-shot window scores of scale \(plan.scales[s])")
                fewShotWindows[s].replaceSubrange(range, with: few)
            }
        default:
            throw ScoringError("unit \(unit) answered with scores of another kind")
        }
        pending.remove(unit)
    }

    /// All window scores once every unit is in.
    public var windowScores: ImageWindowScores? {
        guard isComplete, let imageScore else { return nil }
        return ImageWindowScores(imageScore: imageScore, zeroShot: zeroShot,
                                 fewShotPatches: fewShot ? fewShotPatches : nil, fewShot: fewShot ? fewShotWindows : nil)
    }

    private static func checkFinite(_ values: [Float], _ what: String) throws(ScoringError) {
        if let bad = values.first(where: { !$0.isFinite }) {
            throw ScoringError("\(what) hold a non-finite value (\(bad)): the model's weights or the input are broken")
        }
    }
}
