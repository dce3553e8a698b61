import Datasets
import Foundation
import Outputs
import AnomalyMetrics
import ImageInput

/// The end of a job: decisions, thresholds.json, pictures and report.html, all from what the job
/// wrote to its output folder (results.jsonl and the .npy maps are read back one row or one map
/// at a time, so memory stays bounded by the rows, not the maps).
///
/// Call it after results.jsonl is closed:
///
///     let outcome = try JobReport.finish(directory: writer.directory, writer: writer, title: ...,
///                                        metrics: metrics, thresholds: .learn(pixel: ..., ...),
///                                        pictures: o.saveMaps ? .init(items: dataset.items) : nil)
public enum JobReport {
    /// Where the decision rule comes from.
    public enum ThresholdChoice: Sendable {
        /// Learn the image threshold from the run's labelled rows (anomalib's F1-optimal) and
        /// save thresholds.json, with `pixel` as its pixel level (`JobOutput.pixelThreshold`);
        /// no decision when the run has no labelled, scored image.
        case learn(pixel: Thresholds.Level?, fingerprint: String?, options: JSONValue?)
        /// An image threshold set by hand (`--threshold SCORE`), normalised with the min/max of
        /// this run's scores (anomalib's `ManualThreshold` with `MinMax`); saved to thresholds.json.
        case manual(imageThreshold: Float, fingerprint: String?, options: JSONValue?)
        /// Apply a saved rule (`--thresholds FILE`).
        case apply(Thresholds)
        /// No decisions.
        case none
    }

    /// The composite pictures (`AnomalyPicture`), drawn after the job when the colour scale of
    /// the whole run is known.
    public struct PictureSettings: Sendable {
        /// The dataset's items (image files and masks), found by the rows' relative paths.
        public var items: [DatasetItem]
        public var heat: MapNormalization.Mode
        public var panelSize: Int

        public init(items: [DatasetItem], heat: MapNormalization.Mode = .dataset, panelSize: Int = AnomalyPicture.defaultPanelSize) {
            self.items = items
            self.heat = heat
            self.panelSize = panelSize
        }
    }

    public struct Outcome: Sendable {
        /// The rule applied to the rows (nil: no decisions).
        public var thresholds: Thresholds?
        /// thresholds.json when it was written (a learned or hand-set rule).
        public var thresholdsFile: URL?
        public var report: URL
        public var picturesWritten: Int
        /// One line per picture that could not be drawn (the job's results are unaffected).
        public var pictureFailures: [String]
    }

    /// - Parameters:
    ///   - items: the dataset's items, for the report's defect types (the layout's
    ///     `defectType`); without them a labelled row's type is its folder's name, an unlabelled
    ///     row has none.
    ///   - pixelCurves: the pixel-level curves (`JobOutput.pixelCurves`), drawn beside the image ones.
    public static func finish(directory: URL, writer: ResultWriter, title: String, metrics: MetricsReport?,
                              thresholds choice: ThresholdChoice, pictures: PictureSettings?,
                              facts: [ReportFact] = [], items: [DatasetItem] = [],
                              pixelCurves: ThresholdCurves? = nil) throws -> Outcome {
        let resultsURL = directory.appendingPathComponent("results.jsonl")
        var rows = try ResultsFile.readAll(resultsURL)

        // 1. The rule.
        var thresholds: Thresholds?
        var thresholdsFile: URL?
        switch choice {
        case .none: break
        case .apply(let given): thresholds = given
        case .manual(let value, let fingerprint, let options):
            guard value.isFinite else { throw ThresholdsFileError("the threshold must be a finite number, not \(value)") }
            if let range = AnomalyThresholds.range(of: rows.compactMap { $0.error == nil ? $0.score : nil }.filter { $0.isFinite }) {
                thresholds = Thresholds(image: .init(threshold: value, min: range.lowerBound, max: range.upperBound, source: .manual),
                                        pixel: nil, fingerprint: fingerprint, options: options)
            }
        case .learn(let pixel, let fingerprint, let options):
            let labelled = rows.filter { $0.label != nil && $0.score.map { $0.isFinite } == true }
            if !labelled.isEmpty {
                let image = try AnomalyThresholds.f1Adaptive(scores: labelled.map { $0.score! }, labels: labelled.map { $0.label == 1 })
                let range = AnomalyThresholds.range(of: labelled.map { $0.score! })!
                thresholds = Thresholds(image: Thresholds.Level(image, range: range), pixel: pixel,
                                        fingerprint: fingerprint, options: options)
            }
        }

        // 2. Decisions in results.jsonl.
        if let decision = thresholds?.imageNormalization {
            try ResultsFile.addDecisions(resultsURL, decision: decision)
            rows = try ResultsFile.readAll(resultsURL)
        }
        switch choice {
        case .learn, .manual:
            if let thresholds {
                thresholdsFile = directory.appendingPathComponent("thresholds.json")
                try thresholds.save(to: thresholdsFile!)
            }
        case .apply, .none: break
        }

        // 3. Pictures.
        var drawn = DrawnPictures()
        if let pictures {
            drawn = try drawPictures(rows: rows, directory: directory, writer: writer, settings: pictures, thresholds: thresholds)
        }

        // 4. The report: thumbnails embedded, pictures linked as extras.
        let fm = FileManager.default
        let types = Dictionary(items.map { ($0.relativePath, $0.defectType) }, uniquingKeysWith: { a, _ in a })
        let reportRows = rows.map { row -> ReportRow in
            let files = PictureFiles(writer: writer, image: row.image, predMask: false)
            let picture = fm.fileExists(atPath: directory.appendingPathComponent(files.picture).path) ? files.picture : nil
            let type = items.isEmpty ? (row.label != nil ? ReportRow.defectType(forImage: row.image) : nil) : types[row.image] ?? nil
            return ReportRow(image: row.image, score: row.error == nil ? row.score : nil, label: row.label, predLabel: row.predLabel,
                             normalizedScore: row.normalizedScore, defectType: type,
                             picture: picture, thumbnail: drawn.thumbnails[row.image], error: row.error)
        }
        var allFacts = facts
        if let t = thresholds {
            let source: String
            switch choice {
            case .learn: source = "learned from this run's labels (anomalib's F1-optimal threshold)"
            case .manual: source = "set by hand"
            case .apply: source = "from a thresholds file"
            case .none: source = ""
            }
            allFacts.append(ReportFact("decision", "anomalous when the score is above the threshold (anomalib's >: a score equal to it is normal; "
                                       + "normalised, the threshold is 0.5); image threshold "
                                       + (t.image.map { String(format: "%.6g", Double($0.threshold)) } ?? "n/a") + ", " + source))
        }
        let report = directory.appendingPathComponent("report.html")
        try ReportWriter.write(ReportInput(title: title, rows: reportRows, metrics: metrics, thresholds: thresholds, facts: allFacts,
                                           colourScale: drawn.colourScale, pixelCurves: pixelCurves), to: report)
        return Outcome(thresholds: thresholds, thresholdsFile: thresholdsFile, report: report,
                       picturesWritten: drawn.written, pictureFailures: drawn.failures)
    }

    /// What `drawPictures` made.
    package struct DrawnPictures {
        package var written = 0
        /// One line per picture that could not be drawn.
        package var failures: [String] = []
        /// The report's JPEG thumbnail of each drawn image, by relative path.
        package var thumbnails: [String: Data] = [:]
        package var colourScale: ReportColourScale?
    }

    /// Draws every scored row's picture from its saved map (rows without a `map` are skipped).
    /// Dataset normalisation needs the range of all maps first: one extra pass over the .npy
    /// files unless the thresholds carry a pixel range.
    package static func drawPictures(rows: [ImageResult], directory: URL, writer: ResultWriter, settings: PictureSettings,
                             thresholds: Thresholds?) throws -> DrawnPictures {
        let mapped = rows.filter { $0.map != nil && $0.error == nil }
        guard !mapped.isEmpty else { return DrawnPictures() }
        var drawn = DrawnPictures()
        var mapRange: ClosedRange<Float>?
        if let pixel = thresholds?.pixel {
            mapRange = pixel.min...pixel.max
        } else if settings.heat == .dataset || thresholds != nil {
            for row in mapped {
                guard let (values, _) = try? NPYReader.read(directory.appendingPathComponent(row.map!)),
                      let r = AnomalyThresholds.range(of: values) else { continue }
                mapRange = mapRange.map { min($0.lowerBound, r.lowerBound)...max($0.upperBound, r.upperBound) } ?? r
            }
        }
        let decision = thresholds?.pixelNormalization(mapRange: mapRange)
        let heat: MapNormalization
        switch settings.heat {
        case .dataset:
            if let decision { heat = .dataset(decision) }
            else if let r = mapRange { heat = .dataset(ScoreNormalization(min: r.lowerBound, max: r.upperBound)) }
            else { heat = .none }
        case .image: heat = .image
        case .none: heat = .none
        }
        drawn.colourScale = ReportColourScale(mode: settings.heat, scale: heat == .image ? nil : heat.scale(for: []),
                                              threshold: decision?.threshold)
        let items = Dictionary(settings.items.map { ($0.relativePath, $0) }, uniquingKeysWith: { a, _ in a })
        for row in mapped {
            guard let item = items[row.image] else { continue }
            do {
                let (map, shape) = try NPYReader.read(directory.appendingPathComponent(row.map!))
                guard shape.count == 2, shape[0] == shape[1] else { throw PictureError("the map \(row.map!) is not square: \(shape)") }
                let image = try ImageLoader.load(path: item.url.path)
                let truth = try MaskLoader.mask(for: item, size: shape[0])
                let files = PictureFiles(writer: writer, image: row.image, predMask: decision != nil, overlay: true)
                drawn.thumbnails[row.image] = try PictureOutput.write(in: directory, files: files, image: image, map: map, mapSize: shape[0], groundTruth: truth,
                                        heat: heat, decision: decision,
                                        caption: .init(score: row.score, normalizedScore: row.normalizedScore,
                                                       predictedAnomalous: row.predLabel.map { $0 == 1 },
                                                       groundTruthAnomalous: row.label.map { $0 == 1 }),
                                        panelSize: settings.panelSize)
                drawn.written += 1
            } catch {
                drawn.failures.append("\(row.image): \(error)")
            }
        }
        return drawn
    }
}
