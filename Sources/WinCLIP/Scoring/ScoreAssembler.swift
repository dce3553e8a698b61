/// The coordinator's half of WinCLIP: window scores to patch maps (harmonic aggregation),
/// fusion across scales, zero-shot with few-shot, and upsampling to the input size. Needs no
/// weights, only the grid, scales and input size.
public struct ScoreAssembler: Sendable, Equatable {
    public let gridSize: Int
    public let imageSize: Int
    public let aggregators: [HarmonicAggregator]

    public init(gridSize: Int, imageSize: Int, masks: [WindowMasks]) {
        self.gridSize = gridSize
        self.imageSize = imageSize
        aggregators = masks.map(HarmonicAggregator.init(masks:))
    }

    public func assemble(_ s: ImageWindowScores) -> AnomalyResult {
        let cells = gridSize * gridSize
        precondition(s.zeroShot.count == aggregators.count, "one list of window scores per scale")
        // Zero-shot: harmonic mean over (image-score plane, each scale's map).
        var zeroPlanes = [[Float](repeating: s.imageScore, count: cells)]
        for (agg, scores) in zip(aggregators, s.zeroShot) { zeroPlanes.append(agg.aggregate(scores)) }
        var fused = [Float](repeating: 0, count: cells)
        for c in 0..<cells {
            var inverse: Float = 0
            for plane in zeroPlanes { inverse += 1 / plane[c] }
            fused[c] = Float(zeroPlanes.count) / inverse
        }
        var score = s.imageScore
        if let patches = s.fewShotPatches, let windows = s.fewShot {
            // Few-shot: arithmetic mean over (patch plane, each scale's map).
            var fewPlanes = [patches]
            for (agg, scores) in zip(aggregators, windows) { fewPlanes.append(agg.aggregate(scores)) }
            var few = [Float](repeating: 0, count: cells)
            for c in 0..<cells {
                var sum: Float = 0
                for plane in fewPlanes { sum += plane[c] }
                few[c] = sum / Float(fewPlanes.count)
            }
            for c in 0..<cells { fused[c] = (fused[c] + few[c]) / 2 }
            score = (score + few.max()!) / 2
        }
        let map = BilinearUpsample.resize(fused, inHeight: gridSize, inWidth: gridSize, outHeight: imageSize, outWidth: imageSize)
        return AnomalyResult(score: score, map: map, size: imageSize)
    }
}
