import Foundation

/// anomalib's evaluation metrics (anomalib 2.x `AUROC`, `F1Max`, `AUPRO`), for users who compare
/// numbers with anomalib.
///
/// Image level: one score and one label per image. Pixel level: every pixel of every map with
/// the mask pixel at the same place, all images together (as anomalib concatenates its batches).
///
/// Where anomalib returns a number for an undefined metric, these return `nil`:
/// - only one class present: anomalib's AUROC returns 0 (torchmetrics warns "No positive/negative
///   samples" and sets TPR or FPR to zeros); F1Max returns 0 without positives (recall is set to
///   1, precision is 0) and 1 without negatives (every threshold has precision 1);
/// - no input at all: anomalib raises "No samples to concatenate" (or returns None for a
///   `strict=False` metric that was never updated).
/// Values are computed in Double from exact counts; anomalib computes its curves in float32, so
/// the two agree to about 1e-7 (see Tests/WinCLIPTests/MetricsTests.swift). The definitions are
/// in `ThresholdSweep` (one pass over the distinct scores); pixel metrics of many images go
/// through `PixelMetricsAccumulator`, which bounds memory by spilling to disk.
public enum AnomalyMetrics {
    /// Area under the ROC curve, as anomalib's `AUROC` (torchmetrics `BinaryROC` without
    /// thresholds, then the trapezoidal rule). Tied scores form one threshold, i.e. count one half.
    ///
    /// Like torchmetrics, when any score lies outside [0, 1] (or is NaN) all scores go through a
    /// float32 sigmoid first; this changes the result only where the sigmoid merges distinct scores
    /// into a tie (scores above about 16.6 all become 1.0).
    /// - Returns: nil when empty or when only one class is present.
    public static func auroc(scores: [Float], labels: [Bool]) -> Double? {
        sweep(scores: scores, labels: labels).auroc
    }

    /// Largest F1 score over all thresholds (anomalib's `F1Max`: its precision-recall curve over
    /// every distinct score, no sigmoid, F1 = 2PR / (P + R + 1e-10)). Computed here as
    /// 2 TP / (TP + FP + positives), the same value without the 1e-10.
    /// - Returns: nil when empty or when only one class is present.
    public static func f1Max(scores: [Float], labels: [Bool]) -> Double? {
        sweep(scores: scores, labels: labels).f1Max
    }

    /// AUROC and F1Max of one score and label per sample, from one sort.
    package static func sweep(scores: [Float], labels: [Bool]) -> PixelMetrics {
        precondition(scores.count == labels.count, "AnomalyMetrics: \(scores.count) scores but \(labels.count) labels")
        var batch = SortedBatch()
        var totals = ThresholdSweep.Totals()
        for (score, label) in zip(scores, labels) {
            let rank = ScoreRank.rank(score)
            if label { batch.anomalous.append(UInt64(rank) << 32) } else { batch.normals.append(rank) }
            if !(score >= 0 && score <= 1) { totals.allScoresInUnitInterval = false }
        }
        totals.normals = batch.normals.count
        totals.anomalous = batch.anomalous.count
        var sweep = ThresholdSweep(totals: totals, fprLimit: nil)
        batch.sortAndSweep(into: &sweep)
        return sweep.results()
    }

    /// torch's CPU `sigmoid` on float32: 1 / (1 + exp(-x)).
    @inline(__always)
    package static func sigmoid(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }
}

/// Exact area under the ROC curve: sum over thresholds (from the top) of
/// FP_t * (TP_above + TP_t / 2), divided by positives * negatives, counted in integers.
struct AUROCArea {
    let useSigmoid: Bool
    private var tpAbove = 0
    private var twiceArea = WideCount()  // sum of fp_t * (2 tp_above + tp_t), at most 2 p n
    // Thresholds are the distinct values of the (possibly sigmoid-squashed) score; with the
    // sigmoid, consecutive raw thresholds with the same squashed value are one threshold.
    private var pendingTP = 0, pendingFP = 0
    private var pendingValue: Float = .nan
    private var hasPending = false

    init(useSigmoid: Bool) { self.useSigmoid = useSigmoid }

    mutating func add(score: Float, positives tp: Int, negatives fp: Int) {
        let value = useSigmoid ? AnomalyMetrics.sigmoid(score) : score
        if hasPending && value == pendingValue {
            pendingTP += tp
            pendingFP += fp
            return
        }
        closePending()
        pendingTP = tp
        pendingFP = fp
        pendingValue = value
        hasPending = true
    }

    private mutating func closePending() {
        guard hasPending else { return }
        twiceArea.add(pendingFP, times: 2 * tpAbove + pendingTP)
        tpAbove += pendingTP
    }

    func result(positives p: Int, negatives n: Int) -> Double? {
        guard p > 0, n > 0 else { return nil }
        var closed = self
        closed.closePending()
        return closed.twiceArea.value / (2 * Double(p) * Double(n))
    }
}

/// Largest F1 over the thresholds (each distinct score, predicted anomalous when >= it).
struct F1MaxCurve {
    let positives: Int
    private var tp = 0, fp = 0
    /// The curve's final point (precision 1, recall 0) has F1 0.
    private(set) var best = 0.0

    init(positives: Int) { self.positives = positives }

    mutating func add(positives t: Int, negatives f: Int) {
        tp += t
        fp += f
        let f1 = 2 * Double(tp) / Double(tp + fp + positives)
        if f1 > best { best = f1 }
    }
}
