import Options

/// One piece of an image's WinCLIP work: what a worker computes and the coordinator collects.
public enum ImageUnit: Hashable, Sendable {
    /// The full-image pass: the zero-shot image score and, few-shot, the visual association of
    /// every patch token.
    case full
    /// Windows `windows` of scale `scaleIndex`: one zero-shot (and few-shot) score per window.
    case windows(scaleIndex: Int, windows: Range<Int>)
}

/// How one image's work is cut into units, and how their scores are put back together.
///
/// The units are the full pass, then each scale's windows in batches of similar cost. The cut
/// depends only on the model's grid, the options and the row budget, never on how many
/// workers there are, so results do not depend on the cluster. With `.window` attention every
/// window is independent, so a scale is cut into batches of at most `rowsPerUnit` token rows
/// (balanced within the scale) and idle workers share one image. With `.cross` the windows of
/// a scale attend to each other: a scale is one unit.
public struct ImagePlan: Sendable, Equatable {
    public let gridSize: Int
    public let imageSize: Int
    public let scales: [Int]
    public let attention: WindowAttention
    /// Windows of each scale, (G - k + 1)^2.
    public let windowsPerScale: [Int]
    /// The full pass first, then the window units.
    public let units: [ImageUnit]
    /// Harmonic aggregation, fusion and upsampling (the coordinator's half of WinCLIP).
    public let assembler: ScoreAssembler

    /// The default row budget of a window unit: two full passes' worth of token rows, so that
    /// a unit's fixed costs (pixels on the wire, the patch embedding) stay below 1% of it.
    public static func defaultRowsPerUnit(gridSize: Int) -> Int { 2 * (gridSize * gridSize + 1) }

    public init(gridSize: Int, imageSize: Int, scales: [Int], attention: WindowAttention, rowsPerUnit: Int? = nil) throws {
        guard !scales.isEmpty else { throw ScoringError("at least one window scale is needed") }
        let masks = try scales.map { try WindowMasks(gridSize: gridSize, kernelSize: $0) }
        self.gridSize = gridSize
        self.imageSize = imageSize
        self.scales = scales
        self.attention = attention
        windowsPerScale = masks.map(\.count)
        assembler = ScoreAssembler(gridSize: gridSize, imageSize: imageSize, masks: masks)
        let budget = max(1, rowsPerUnit ?? Self.defaultRowsPerUnit(gridSize: gridSize))
        var units: [ImageUnit] = [.full]
        for (s, m) in masks.enumerated() {
            let n = m.count
            let rows = n * m.sequenceLength
            let batches = attention == .cross ? 1 : min(n, rows / budget + (rows % budget == 0 ? 0 : 1))
            // Balanced: the first n % batches batches hold one window more.
            var start = 0
            for b in 0..<batches {
                let count = n / batches + (b < n % batches ? 1 : 0)
                units.append(.windows(scaleIndex: s, windows: start..<(start + count)))
                start += count
            }
        }
        self.units = units
    }

    public var windowUnits: ArraySlice<ImageUnit> { units.dropFirst() }
}

/// Which images get an anomaly map.
public enum MapPolicy: Sendable, Equatable {
    /// Every image (segmentation).
    case always
    /// None: the image score from the full pass alone (zero-shot classification).
    case never
    /// Images whose full-pass score is at least the threshold (`--segment-above`).
    case whenScoreAtLeast(Float)

    public init(options: JobOptions) {
        switch (options.task, options.segmentAbove) {
        case (.classification, _): self = .never
        case (.segmentation, nil): self = .always
        case (.segmentation, let threshold?): self = .whenScoreAtLeast(threshold)
        }
    }
}

/// What one unit computed, as the worker returns it.
public enum UnitScores: Sendable, Equatable {
    /// softmax(cos / T)[anomalous] of the image embedding; few-shot, the association [G^2].
    case full(imageScore: Float, fewShotPatches: [Float]?)
    /// One score per window of the unit's range (and few-shot, one association per window).
    case windows(zeroShot: [Float], fewShot: [Float]?)
}

/// The text and (few-shot) reference embeddings a job's units are scored against.
public struct ScoringContext: Sendable, Equatable {
    public var text: TextEmbeddings
    public var references: ReferenceEmbeddings?
    public init(text: TextEmbeddings, references: ReferenceEmbeddings?) {
        self.text = text
        self.references = references
    }
    public var fewShot: Bool { references != nil }
}
