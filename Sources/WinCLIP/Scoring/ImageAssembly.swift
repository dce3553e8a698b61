import Options
/// The partial scores of one image, filled unit by unit in any order, then assembled into its
/// score and (when the map policy wants one) its map. Every unit's scores are checked when they
/// arrive (count, finiteness), so that a broken worker or model makes an error for that image,
/// not a wrong map.
public struct ImageAssembly: Sendable {
    public let plan: ImagePlan
    public let fewShot: Bool
    public let mapPolicy: MapPolicy
    private var imageScore: Float?
    private var fewShotPatches: [Float]?
    private var zeroShot: [[Float]]
    private var fewShotWindows: [[Float]]
    private var pending: Set<ImageUnit>
    private var wantsMap: Bool

    public init(plan: ImagePlan, fewShot: Bool, mapPolicy: MapPolicy = .always) {
        self.plan = plan
        self.fewShot = fewShot
        self.mapPolicy = mapPolicy
        zeroShot = plan.windowsPerScale.map { [Float](repeating: .nan, count: $0) }
        fewShotWindows = fewShot ? zeroShot : []
        // Few-shot image scores come from the window map, so few-shot always needs it.
        wantsMap = fewShot || mapPolicy == .always
        pending = wantsMap ? Set(plan.units) : [.full]
    }

    /// The units to run first; more may follow from `add` (the windows of an image whose
    /// score crossed the `--segment-above` threshold).
    public var initialUnits: [ImageUnit] { wantsMap ? plan.units : [.full] }

    public var isComplete: Bool { pending.isEmpty }
    /// Units not yet added.
    public var remaining: Int { pending.count }

    /// Adds one unit's scores and returns the units this makes necessary (usually none). A
    /// unit that is not pending, scores of the wrong size or non-finite scores are refused.
    @discardableResult
    public mutating func add(_ unit: ImageUnit, _ scores: UnitScores) throws(ScoringError) -> [ImageUnit] {
        guard pending.contains(unit) else { throw ScoringError("unit \(unit) is not part of this image's plan or already done") }
        let cells = plan.gridSize * plan.gridSize
        var next: [ImageUnit] = []
        switch (unit, scores) {
        case (.full, .full(let score, let patches)):
            try Self.checkFinite([score], "the image score")
            if fewShot {
                guard let patches, patches.count == cells else { throw ScoringError("few-shot full pass returned \(patches?.count ?? 0) patch scores, expected \(cells)") }
                try Self.checkFinite(patches, "the few-shot patch scores")
                fewShotPatches = patches
            }
            imageScore = score
            if !wantsMap, case .whenScoreAtLeast(let threshold) = mapPolicy, score >= threshold {
                wantsMap = true
                next = Array(plan.windowUnits)
                pending.formUnion(next)
            }
        case (.windows(let s, let range), .windows(let zero, let few)):
            guard zero.count == range.count else { throw ScoringError("window unit of scale \(plan.scales[s]) returned \(zero.count) scores for \(range.count) windows") }
            try Self.checkFinite(zero, "the window scores of scale \(plan.scales[s])")
            zeroShot[s].replaceSubrange(range, with: zero)
            if fewShot {
                guard let few, few.count == range.count else { throw ScoringError("few-shot window unit of scale \(plan.scales[s]) returned \(few?.count ?? 0) scores for \(range.count) windows") }
                try Self.checkFinite(few, "the few-shot window scores of scale \(plan.scales[s])")
                fewShotWindows[s].replaceSubrange(range, with: few)
            }
        default:
            throw ScoringError("unit \(unit) answered with scores of another kind")
        }
        pending.remove(unit)
        return next
    }

    /// The image's score and map once every unit is in (nil before).
    public var result: AnomalyResult? {
        guard isComplete, let imageScore else { return nil }
        guard wantsMap else { return AnomalyResult(score: imageScore, map: nil, size: plan.imageSize) }
        return plan.assembler.assemble(ImageWindowScores(imageScore: imageScore, zeroShot: zeroShot,
                                                         fewShotPatches: fewShot ? fewShotPatches : nil, fewShot: fewShot ? fewShotWindows : nil))
    }

    private static func checkFinite(_ values: [Float], _ what: String) throws(ScoringError) {
        if let bad = values.first(where: { !$0.isFinite }) {
            throw ScoringError("non-finite value (\(bad)) in \(what): the model's weights or the input are broken")
        }
    }
}
