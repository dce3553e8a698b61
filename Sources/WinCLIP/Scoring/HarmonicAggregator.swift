/// anomalib's `harmonic_aggregation`: each patch's score is the harmonic mean of the scores of
/// the windows covering it, with `nan_to_num(posinf=0)` (an uncovered patch scores 0).
public struct HarmonicAggregator: Sendable, Equatable {
    public let masks: WindowMasks
    /// For each patch, the windows that cover it (ascending).
    let covering: [[Int]]

    public init(masks: WindowMasks) {
        self.masks = masks
        var covering = [[Int]](repeating: [], count: masks.gridSize * masks.gridSize)
        for (w, patches) in masks.windows.enumerated() {
            for p in patches { covering[p].append(w) }
        }
        self.covering = covering
    }

    /// Window scores [n windows] to a patch map [G * G], row-major.
    public func aggregate(_ windowScores: [Float]) -> [Float] {
        precondition(windowScores.count == masks.count, "one score per window")
        return covering.map { windows in
            var inverse: Float = 0
            for w in windows { inverse += 1 / windowScores[w] }
            return nanToNum(Float(windows.count) / inverse)
        }
    }
}

/// torch.nan_to_num(x, posinf=0.0): NaN -> 0, +inf -> 0, -inf -> the most negative float.
@inline(__always)
func nanToNum(_ x: Float) -> Float {
    if x.isNaN { return 0 }
    if x == .infinity { return 0 }
    if x == -.infinity { return -Float.greatestFiniteMagnitude }
    return x
}
