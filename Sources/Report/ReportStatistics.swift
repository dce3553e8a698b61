import Foundation
import AnomalyMetrics

/// The figures of the report, computed from the labelled, scored rows.
public enum ReportStatistics {
    /// The ROC curve (FPR, TPR) from (0, 0) to (1, 1), one point per distinct score (predicted
    /// anomalous when score >= it), as anomalib's AUROC draws it; nil without both classes.
    public static func roc(scores: [Float], labels: [Bool]) -> [CurvePoint]? {
        guard let steps = thresholdSteps(scores: scores, labels: labels) else { return nil }
        let p = Double(steps.positives), n = Double(steps.negatives)
        return [CurvePoint(0, 0)] + steps.cumulative.map { CurvePoint(Double($0.fp) / n, Double($0.tp) / p) }
    }

    /// The precision-recall curve (recall, precision) from (0, 1), one point per distinct score;
    /// nil without both classes.
    public static func precisionRecall(scores: [Float], labels: [Bool]) -> [CurvePoint]? {
        guard let steps = thresholdSteps(scores: scores, labels: labels) else { return nil }
        let p = Double(steps.positives)
        return [CurvePoint(0, 1)] + steps.cumulative.map { CurvePoint(Double($0.tp) / p, Double($0.tp) / Double($0.tp + $0.fp)) }
    }

    /// Cumulative (TP, FP) at each distinct score from the highest down.
    private static func thresholdSteps(scores: [Float], labels: [Bool]) -> (cumulative: [(tp: Int, fp: Int)], positives: Int, negatives: Int)? {
        precondition(scores.count == labels.count)
        let positives = labels.filter { $0 }.count
        let negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var steps: [(tp: Int, fp: Int)] = []
        var tp = 0, fp = 0
        for (k, i) in order.enumerated() {
            if labels[i] { tp += 1 } else { fp += 1 }
            if k == order.count - 1 || scores[order[k + 1]] != scores[i] { steps.append((tp, fp)) }
        }
        return (steps, positives, negatives)
    }

    /// Drops points closer than `resolution` (in both coordinates) to the last kept one, keeping
    /// the first and last: a curve over 10,000 images keeps its shape in a few hundred points.
    public static func simplified(_ points: [CurvePoint], resolution: Double = 1.0 / 500) -> [CurvePoint] {
        guard points.count > 2 else { return points }
        var out = [points[0]]
        for point in points.dropFirst().dropLast() {
            let last = out[out.count - 1]
            if abs(point.x - last.x) >= resolution || abs(point.y - last.y) >= resolution { out.append(point) }
        }
        out.append(points[points.count - 1])
        return out
    }

    /// Histogram counts of several series over shared bins.
    public struct Histogram: Sendable, Equatable {
        public var lower: Double
        public var upper: Double
        /// Per series, the count in each bin.
        public var counts: [[Int]]
        public var binCount: Int { counts.first?.count ?? 0 }
    }

    /// `bins` equal bins over the range of all finite values (the last bin includes the upper
    /// end); nil when there is no finite value.
    public static func histogram(_ series: [[Float]], bins: Int = 30) -> Histogram? {
        precondition(bins > 0)
        let all = series.joined().filter { $0.isFinite }
        guard let lo = all.min(), let hi = all.max() else { return nil }
        let lower = Double(lo)
        let upper = hi > lo ? Double(hi) : Double(lo) + 1
        let width = (upper - lower) / Double(bins)
        let counts = series.map { values -> [Int] in
            var c = [Int](repeating: 0, count: bins)
            for v in values where v.isFinite { c[min(bins - 1, max(0, Int((Double(v) - lower) / width)))] += 1 }
            return c
        }
        return Histogram(lower: lower, upper: upper, counts: counts)
    }

    /// Counts and image AUROC of one defect type.
    public struct DefectSummary: Sendable, Equatable {
        public var name: String
        public var images: Int
        public var scored: Int
        public var anomalous: Int
        public var predictedAnomalous: Int
        public var meanScore: Double?
        /// AUROC of this type's anomalous images against all normal images of the run.
        public var auroc: Double?
    }

    /// One summary per defect type (rows without a type are grouped as "(none)"), sorted by
    /// name with "good" first.
    public static func defects(_ rows: [ReportRow]) -> [DefectSummary] {
        let normalScores = rows.compactMap { $0.label == 0 ? $0.score : nil }
        var groups: [String: [ReportRow]] = [:]
        for row in rows { groups[row.defectType ?? "(none)", default: []].append(row) }
        return groups.map { name, members in
            let scored = members.compactMap(\.score)
            let anomalousScores = members.compactMap { $0.label == 1 ? $0.score : nil }
            var auroc: Double?
            if !anomalousScores.isEmpty, !normalScores.isEmpty {
                auroc = AnomalyMetrics.auroc(scores: normalScores + anomalousScores,
                                             labels: [Bool](repeating: false, count: normalScores.count) + [Bool](repeating: true, count: anomalousScores.count))
            }
            return DefectSummary(name: name, images: members.count, scored: scored.count,
                                 anomalous: members.filter { $0.label == 1 }.count,
                                 predictedAnomalous: members.filter { $0.predLabel == 1 }.count,
                                 meanScore: scored.isEmpty ? nil : scored.reduce(0.0) { $0 + Double($1) } / Double(scored.count),
                                 auroc: auroc)
        }.sorted { a, b in
            if (a.name == "good") != (b.name == "good") { return a.name == "good" }
            return a.name < b.name
        }
    }

    /// The decisions against the ground truth.
    public struct Confusion: Sendable, Equatable {
        public var truePositives = 0, falsePositives = 0, falseNegatives = 0, trueNegatives = 0
        public var precision: Double? { ratio(truePositives, truePositives + falsePositives) }
        public var recall: Double? { ratio(truePositives, truePositives + falseNegatives) }
        public var f1: Double? { ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives) }
        public var accuracy: Double? { ratio(truePositives + trueNegatives, truePositives + trueNegatives + falsePositives + falseNegatives) }
        private func ratio(_ a: Int, _ b: Int) -> Double? { b > 0 ? Double(a) / Double(b) : nil }
    }

    /// Over the rows with both a label and a decision; nil when there is none.
    public static func confusion(_ rows: [ReportRow]) -> Confusion? {
        var c = Confusion()
        var any = false
        for row in rows {
            guard let label = row.label, let pred = row.predLabel else { continue }
            any = true
            switch (label == 1, pred == 1) {
            case (true, true): c.truePositives += 1
            case (false, true): c.falsePositives += 1
            case (true, false): c.falseNegatives += 1
            case (false, false): c.trueNegatives += 1
            }
        }
        return any ? c : nil
    }
}
