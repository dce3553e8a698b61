/// The threshold-sweeping metrics (AUROC, F1Max, AUPRO) as one pass over the distinct scores,
/// from the highest down. This is the only place their definitions live: the in-memory
/// functions of `AnomalyMetrics` and `PixelMetricsAccumulator` (in memory or spilled to disk)
/// only differ in how they bring the samples of each threshold together.
///
/// A threshold is given as counts: `normals` samples, `anomalous` samples of which `regionless`
/// belong to no ground-truth region (anomalib's AUPRO counts those as normal, see PRO.swift), and
/// the exact sum of the region shares (1 / region size, float32) of the others.
struct ThresholdSweep {
    /// What the whole sweep will see, known before the first threshold.
    struct Totals {
        /// Normal samples.
        var normals = 0
        /// Anomalous samples (for AUROC and F1Max), including `regionless`.
        var anomalous = 0
        /// Anomalous pixels of masks without background.
        var regionless = 0
        /// Ground-truth regions (0 for image-level metrics).
        var regions = 0
        /// Whether every score lies in [0, 1] (torchmetrics' BinaryROC applies a sigmoid otherwise).
        var allScoresInUnitInterval = true
    }

    /// One distinct score and its samples.
    struct Threshold {
        var score: Float
        var normals = 0
        var anomalous = 0
        var regionless = 0
        var shares = RegionShareSum()
    }

    private var roc: AUROCArea
    private var f1: F1MaxCurve
    private var adaptive: F1AdaptiveCurve
    private var pro: PROArea?
    private var curves: ThresholdCurveRecorder?
    private let totals: Totals

    /// - Parameters:
    ///   - fprLimit: AUPRO's FPR limit; nil for no AUPRO (image-level metrics).
    ///   - curves: also record the (thinned) ROC and precision-recall curves.
    init(totals: Totals, fprLimit: Double?, curves: Bool = false) {
        self.totals = totals
        roc = AUROCArea(useSigmoid: !totals.allScoresInUnitInterval)
        f1 = F1MaxCurve(positives: totals.anomalous)
        adaptive = F1AdaptiveCurve(positives: totals.anomalous)
        pro = fprLimit.flatMap { PROArea(totals: totals, fprLimit: $0) }
        if curves && totals.anomalous > 0 && totals.normals > 0 {
            self.curves = ThresholdCurveRecorder(positives: totals.anomalous, negatives: totals.normals)
        }
    }

    /// Whether AUROC and F1Max are defined (both classes present).
    private var hasBothClasses: Bool { totals.anomalous > 0 && totals.normals > 0 }

    /// Whether any threshold still matters.
    var isRunning: Bool { hasBothClasses || needsRegionShares }

    /// Whether thresholds must carry `regionless` and `shares` (AUPRO defined and its limit not
    /// yet reached); when false they may be left at zero.
    var needsRegionShares: Bool { pro?.isOpen ?? false }

    mutating func add(_ t: Threshold) {
        if hasBothClasses {
            roc.add(score: t.score, positives: t.anomalous, negatives: t.normals)
            f1.add(positives: t.anomalous, negatives: t.normals)
            adaptive.add(score: t.score, positives: t.anomalous, negatives: t.normals)
            curves?.add(positives: t.anomalous, negatives: t.normals)
        }
        if pro?.isOpen == true {
            pro!.add(normals: t.normals + t.regionless, shares: t.shares)
        }
    }

    /// AUROC, F1Max (nil unless both classes are present) and AUPRO (nil when not asked for or
    /// undefined, see `PROArea`).
    func results() -> PixelMetrics {
        guard hasBothClasses else { return PixelMetrics(auroc: nil, f1Max: nil, aupro: pro?.result()) }
        return PixelMetrics(auroc: roc.result(positives: totals.anomalous, negatives: totals.normals),
                            f1Max: f1.best, aupro: pro?.result(), f1Threshold: adaptive.threshold, curves: curves?.finished())
    }
}

/// Pixel AUROC, F1Max and AUPRO; nil where undefined (see `AnomalyMetrics`); anomalib's
/// F1-optimal threshold (`AnomalyThresholds`), nil unless both classes are present; and the curves.
public struct PixelMetrics: Sendable, Equatable {
    public var auroc: Double?
    public var f1Max: Double?
    public var aupro: Double?
    public var f1Threshold: AdaptiveThreshold?
    /// The ROC and precision-recall curves, when asked for (`PixelMetricsAccumulator` records
    /// them), nil unless both classes are present.
    public var curves: ThresholdCurves?

    public init(auroc: Double?, f1Max: Double?, aupro: Double?, f1Threshold: AdaptiveThreshold? = nil, curves: ThresholdCurves? = nil) {
        self.auroc = auroc
        self.f1Max = f1Max
        self.aupro = aupro
        self.f1Threshold = f1Threshold
        self.curves = curves
    }
}

/// Scores as 32-bit ranks: ascending rank is descending score, equal scores have equal ranks
/// (-0.0 is +0.0, as torch compares them), and NaNs sort by their bits at both ends.
enum ScoreRank {
    @inline(__always)
    static func rank(_ score: Float) -> UInt32 {
        let bits = (score == 0 ? Float(0) : score).bitPattern
        // Float order as unsigned order: negatives have every bit flipped, the others the sign bit set.
        let ordered = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        return ~ordered
    }

    @inline(__always)
    static func score(_ rank: UInt32) -> Float {
        let ordered = ~rank
        return Float(bitPattern: ordered & 0x8000_0000 != 0 ? ordered & 0x7fff_ffff : ~ordered)
    }
}

/// The exact sum of float32 region shares (1 / size for a region of `size` pixels).
///
/// A share of a region smaller than 2^31 pixels is a float32 >= 2^-31, so a whole multiple of
/// 2^-55: each is added as an integer count of 2^-55 into 128 bits, without rounding. The sum
/// therefore does not depend on the order of the pixels (torch accumulates the same float32
/// values in double, in the order of its sort; the two agree to ~1e-16 before both are rounded
/// to float32).
struct RegionShareSum: Equatable {
    private var low: UInt64 = 0
    private var high: UInt64 = 0

    /// The largest region size whose share is exact here.
    static let maxRegionSize = Int(Int32.max)

    @inline(__always)
    mutating func add(shareBits: UInt32) {
        add(units: UInt64(Float(bitPattern: shareBits) * 0x1p55))
    }

    @inline(__always)
    mutating func add(units: UInt64) {
        let (sum, carry) = low.addingReportingOverflow(units)
        low = sum
        if carry { high &+= 1 }
    }

    mutating func add(_ other: RegionShareSum) {
        add(units: other.low)
        high &+= other.high
    }

    var value: Double { (Double(high) * 0x1p64 + Double(low)) * 0x1p-55 }
}

/// An exact non-negative integer of 128 bits, for AUROC's area in pair counts.
struct WideCount {
    private var low: UInt64 = 0
    private var high: UInt64 = 0

    @inline(__always)
    mutating func add(_ a: Int, times b: Int) {
        let (h, l) = UInt64(a).multipliedFullWidth(by: UInt64(b))
        let (sum, carry) = low.addingReportingOverflow(l)
        low = sum
        high &+= h &+ (carry ? 1 : 0)
    }

    var value: Double { high == 0 ? Double(low) : Double(high) * 0x1p64 + Double(low) }
}
