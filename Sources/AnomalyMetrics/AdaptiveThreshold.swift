import Foundation

/// A decision threshold learned from labelled scores as anomalib 2.x's `F1AdaptiveThreshold`
/// learns it (what its `PostProcessor` uses for `pred_label` and `pred_mask`).
public struct AdaptiveThreshold: Sendable, Equatable {
    /// How the value was chosen.
    public enum Basis: String, Codable, Sendable, CaseIterable {
        /// The threshold of the precision-recall curve with the largest F1.
        case f1Optimal = "f1_optimal"
        /// No anomalous sample: anomalib takes the highest score, so that no normal sample is
        /// flagged (it logs a warning).
        case noAnomalousSamples = "no_anomalous_samples"
        /// No normal sample: anomalib takes the lowest score (it logs a warning).
        case noNormalSamples = "no_normal_samples"
    }

    public var value: Float
    public var basis: Basis
    /// F1 at `value` on the precision-recall curve (float32, as anomalib computes it); nil unless
    /// `basis` is `.f1Optimal`.
    public var f1: Float?

    public init(value: Float, basis: Basis, f1: Float? = nil) {
        self.value = value
        self.basis = basis
        self.f1 = f1
    }
}

public enum ThresholdError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Nothing to learn from (anomalib leaves its threshold NaN when it saw no batch).
    case noSamples(String)
    /// A NaN or infinite score, which anomalib's curve would sort arbitrarily.
    case nonFiniteScore(String, index: Int, value: Float)
    case sizeMismatch(String)

    public var description: String {
        switch self {
        case .noSamples(let what): return "cannot learn a threshold: no \(what)"
        case .nonFiniteScore(let what, let index, let value): return "cannot learn a threshold: \(what) \(index) is \(value)"
        case .sizeMismatch(let detail): return "cannot learn a threshold: \(detail)"
        }
    }
}

/// anomalib's `F1AdaptiveThreshold` and `MinMax` (the two statistics its `PostProcessor` learns).
///
/// The threshold, as anomalib computes it (torchmetrics' precision-recall curve without sigmoid):
/// the distinct scores are the candidate thresholds (predicted anomalous when score >= threshold);
/// precision = TP / (TP + FP)
/// and recall = TP / P in float32, F1 = 2PR / (P + R + 1e-10) in float32, and of equal F1 values
/// the lowest threshold wins (`torch.argmax` on the curve, which runs from low to high
/// thresholds, takes the first maximum). Without anomalous samples the threshold is the highest
/// score; without normal samples the lowest.
///
/// Note anomalib's decision is `normalized score > 0.5`, which for the sample at the threshold
/// gives 0.5: that sample is predicted normal (see `ScoreNormalization`).
public enum AnomalyThresholds {
    /// Image threshold from one score and label (true = anomalous) per image.
    public static func f1Adaptive(scores: [Float], labels: [Bool]) throws -> AdaptiveThreshold {
        guard scores.count == labels.count else {
            throw ThresholdError.sizeMismatch("\(scores.count) scores but \(labels.count) labels")
        }
        guard !scores.isEmpty else { throw ThresholdError.noSamples("labelled image") }
        if let i = scores.firstIndex(where: { !$0.isFinite }) {
            throw ThresholdError.nonFiniteScore("score of image", index: i, value: scores[i])
        }
        return resolve(AnomalyMetrics.sweep(scores: scores, labels: labels).f1Threshold, range: range(of: scores)!,
                       hasAnomalous: labels.contains(true))
    }

    /// Pixel threshold from anomaly maps and ground-truth masks (true = anomalous), every pixel
    /// of every image together, as anomalib's pixel `F1AdaptiveThreshold(fields=["anomaly_map",
    /// "gt_mask"])` sees them. Pass only the images that have a mask (anomalib skips batches
    /// without `gt_mask`); good images carry an all-false mask. (A job's pixel threshold comes
    /// from its `PixelMetricsAccumulator`, without holding the maps.)
    public static func f1Adaptive(maps: [[Float]], masks: [[Bool]]) throws -> AdaptiveThreshold {
        guard maps.count == masks.count else { throw ThresholdError.sizeMismatch("\(maps.count) maps but \(masks.count) masks") }
        for (i, (map, mask)) in zip(maps, masks).enumerated() {
            guard map.count == mask.count else {
                throw ThresholdError.sizeMismatch("image \(i) has a map of \(map.count) values and a mask of \(mask.count)")
            }
            if let p = map.firstIndex(where: { !$0.isFinite }) {
                throw ThresholdError.nonFiniteScore("anomaly map value of image \(i) at pixel", index: p, value: map[p])
            }
        }
        guard let values = range(ofMaps: maps) else { throw ThresholdError.noSamples("masked pixel") }
        let labels = masks.flatMap { $0 }
        return resolve(AnomalyMetrics.sweep(scores: maps.flatMap { $0 }, labels: labels).f1Threshold, range: values,
                       hasAnomalous: labels.contains(true))
    }

    /// The sweep's F1-optimal threshold, or anomalib's answer when one class is missing: the
    /// highest value without anomalous samples, the lowest without normal ones.
    public static func resolve(_ optimal: AdaptiveThreshold?, range: ClosedRange<Float>, hasAnomalous: Bool) -> AdaptiveThreshold {
        if let optimal { return optimal }
        return hasAnomalous ? AdaptiveThreshold(value: range.lowerBound, basis: .noNormalSamples)
                            : AdaptiveThreshold(value: range.upperBound, basis: .noAnomalousSamples)
    }

    /// Smallest and largest value (anomalib's `MinMax`), or nil when there is none. NaN is
    /// skipped (torch would propagate it; the results never carry one).
    public static func range<S: Sequence>(of values: S) -> ClosedRange<Float>? where S.Element == Float {
        var lo = Float.infinity, hi = -Float.infinity
        for v in values where !v.isNaN {
            if v < lo { lo = v }
            if v > hi { hi = v }
        }
        return lo <= hi ? lo...hi : nil
    }

    /// `range(of:)` over every value of every map.
    public static func range(ofMaps maps: [[Float]]) -> ClosedRange<Float>? {
        var merged: ClosedRange<Float>?
        for map in maps {
            guard let r = range(of: map) else { continue }
            merged = merged.map { min($0.lowerBound, r.lowerBound)...max($0.upperBound, r.upperBound) } ?? r
        }
        return merged
    }
}

/// anomalib's F1-optimal threshold along the sweep (see `AnomalyThresholds`): F1 in float32
/// as torch computes it, of equal maxima the lowest threshold.
struct F1AdaptiveCurve {
    let positives: Int
    private var tp = 0, fp = 0
    private var best: (threshold: Float, f1: Float)?

    init(positives: Int) { self.positives = positives }

    mutating func add(score: Float, positives t: Int, negatives f: Int) {
        tp += t
        fp += f
        // torch: tps / (tps + fps) and tps / tps[-1] on int64 tensors give float32 quotients.
        let precision = Float(tp) / Float(tp + fp)
        let recall = Float(tp) / Float(positives)
        let f1 = (2 * precision * recall) / (precision + recall + Float(1e-10))
        // Walking from high to low thresholds, ">=" keeps the lowest of equal maxima.
        if best == nil || f1 >= best!.f1 { best = (score, f1) }
    }

    var threshold: AdaptiveThreshold? { best.map { AdaptiveThreshold(value: $0.threshold, basis: .f1Optimal, f1: $0.f1) } }
}
