/// A point of a curve in the unit square.
public struct CurvePoint: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public init(_ x: Double, _ y: Double) {
        self.x = x
        self.y = y
    }
}

/// The ROC curve (FPR, TPR) from (0, 0) and the precision-recall curve (recall, precision) from
/// (0, 1), one step per distinct score from the highest down (predicted anomalous when score >=
/// it), thinned as they are swept: a point is kept when it moved at least `resolution` in either
/// coordinate from the last kept one, and the last point is always kept. So a pixel-level curve
/// over billions of pixels keeps a few hundred points (at most 2 / `resolution` + 2 each).
public struct ThresholdCurves: Sendable, Equatable {
    public var roc: [CurvePoint]
    public var precisionRecall: [CurvePoint]

    public init(roc: [CurvePoint], precisionRecall: [CurvePoint]) {
        self.roc = roc
        self.precisionRecall = precisionRecall
    }
}

/// Builds `ThresholdCurves` along a `ThresholdSweep`.
struct ThresholdCurveRecorder {
    let positives: Int
    let negatives: Int
    private var tp = 0, fp = 0
    private var roc: ThinnedCurve
    private var precisionRecall: ThinnedCurve

    init(positives: Int, negatives: Int, resolution: Double = 1.0 / 500) {
        self.positives = positives
        self.negatives = negatives
        roc = ThinnedCurve(start: CurvePoint(0, 0), resolution: resolution)
        precisionRecall = ThinnedCurve(start: CurvePoint(0, 1), resolution: resolution)
    }

    mutating func add(positives t: Int, negatives f: Int) {
        tp += t
        fp += f
        let recall = Double(tp) / Double(positives)
        roc.add(CurvePoint(Double(fp) / Double(negatives), recall))
        if tp + fp > 0 { precisionRecall.add(CurvePoint(recall, Double(tp) / Double(tp + fp))) }
    }

    /// The curves with their last points.
    func finished() -> ThresholdCurves {
        ThresholdCurves(roc: roc.finished(), precisionRecall: precisionRecall.finished())
    }
}

/// Points kept when they moved `resolution` from the last kept one; the latest other one waits
/// to be the last.
struct ThinnedCurve {
    private var points: [CurvePoint]
    private var pending: CurvePoint?
    let resolution: Double

    init(start: CurvePoint, resolution: Double) {
        points = [start]
        self.resolution = resolution
    }

    mutating func add(_ point: CurvePoint) {
        let last = points[points.count - 1]
        if abs(point.x - last.x) >= resolution || abs(point.y - last.y) >= resolution {
            points.append(point)
            pending = nil
        } else {
            pending = point
        }
    }

    func finished() -> [CurvePoint] { pending.map { points + [$0] } ?? points }
}
