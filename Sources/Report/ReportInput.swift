import Foundation
import Outputs
import AnomalyMetrics

/// One image of the report's table.
public struct ReportRow: Sendable, Equatable {
    /// The image's path relative to the dataset root (as in results.jsonl).
    public var image: String
    public var score: Float?
    /// Ground truth: 0 normal, 1 anomalous, nil unknown.
    public var label: Int?
    /// The decision: 0 normal, 1 anomalous, nil without a threshold.
    public var predLabel: Int?
    public var normalizedScore: Float?
    /// The defect type (MVTec's sub-folder of test/: "crack", "good"), nil for none.
    public var defectType: String?
    /// The composite picture, relative to the report's folder (an extra: the page works without it).
    public var picture: String?
    /// A small JPEG of the heat map over the image, embedded in the page.
    public var thumbnail: Data?
    /// Why the image could not be scored.
    public var error: String?

    public init(image: String, score: Float?, label: Int? = nil, predLabel: Int? = nil, normalizedScore: Float? = nil,
                defectType: String? = nil, picture: String? = nil, thumbnail: Data? = nil, error: String? = nil) {
        self.image = image
        self.score = score
        self.label = label
        self.predLabel = predLabel
        self.normalizedScore = normalizedScore
        self.defectType = defectType
        self.picture = picture
        self.thumbnail = thumbnail
        self.error = error
    }

    /// The folder that holds the image, which in MVTec-style layouts names the defect type
    /// (`test/crack/000.png` -> "crack"); nil for an image at the root.
    public static func defectType(forImage path: String) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        return parts.count >= 2 ? String(parts[parts.count - 2]) : nil
    }
}

/// A fact shown at the top of the report (dataset, model, options, ...).
public struct ReportFact: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// Everything `ReportWriter` shows. Curves, histograms and per-defect figures are computed from
/// the rows.
public struct ReportInput: Sendable {
    public var title: String
    public var rows: [ReportRow]
    public var metrics: MetricsReport?
    public var thresholds: Thresholds?
    public var facts: [ReportFact]
    /// The heat maps' colour scale, nil without pictures.
    public var colourScale: ReportColourScale?
    /// The pixel-level ROC and precision-recall curves, when the run had masks.
    public var pixelCurves: ThresholdCurves?

    public init(title: String, rows: [ReportRow], metrics: MetricsReport? = nil, thresholds: Thresholds? = nil, facts: [ReportFact] = [],
                colourScale: ReportColourScale? = nil, pixelCurves: ThresholdCurves? = nil) {
        self.pixelCurves = pixelCurves
        self.title = title
        self.rows = rows
        self.metrics = metrics
        self.thresholds = thresholds
        self.facts = facts
        self.colourScale = colourScale
    }
}

/// The colour scale of a run's heat maps (pictures and `maps/*.png`), for the report's colour bar.
public struct ReportColourScale: Sendable, Equatable {
    public var mode: MapNormalization.Mode
    /// The raw values at the ends of the scale; nil with `.image` (each picture prints its own).
    public var scale: HeatScale?
    /// The pixel threshold (the middle of a `.dataset` scale) when there is a decision.
    public var threshold: Float?

    public init(mode: MapNormalization.Mode, scale: HeatScale?, threshold: Float?) {
        self.mode = mode
        self.scale = scale
        self.threshold = threshold
    }
}
