import Datasets
import Foundation
import Outputs
import Protocol
import AnomalyMetrics
import ImageInput

/// A submit's results on disk and on the terminal: results.jsonl rows, maps (.npy; their
/// overlays are drawn after the job, by `JobReport`), progress, and what the metrics need
/// (scores and labels; maps and masks go to a `PixelMetricsAccumulator` as they arrive).
public final class JobOutput: SubmitSink {
    public let writer: ResultWriter
    let saveMaps: Bool
    let progress: ProgressReporter?
    let noteSink: (String) -> Void
    var imageSize = 0
    public private(set) var done = 0
    public private(set) var failed = 0

    // For metrics, in dataset order.
    var scores: [String: Float] = [:]
    let keepMaps: Bool
    /// Pixel metrics of the labelled images, fed as their maps arrive (spilled next to the
    /// results, so memory does not grow with the number of images).
    var pixels = PixelCollection.collecting(nil, images: 0)
    /// The pixel threshold (anomalib's F1-optimal) and value range, once `metrics` ran.
    public private(set) var pixelThreshold: Thresholds.Level?
    /// Why a labelled run got no pixel metrics, once `metrics` ran.
    public private(set) var pixelMetricsSkipped: PixelMetricsSkip?
    /// Labelled images that came without a map, anomalous ones without a mask (all of them, so
    /// that the reason gives the counts).
    var imagesWithoutMap = 0, anomalousWithoutMask = 0, anomalousImages = 0
    /// The pixel-level ROC and precision-recall curves (thinned), once `metrics` ran.
    public private(set) var pixelCurves: ThresholdCurves?

    enum PixelCollection {
        case collecting(PixelMetricsAccumulator?, images: Int)
        /// A labelled image came without a map, or an anomalous one without a mask.
        case incomplete
        case unreadableMask(image: String, reason: String)
        case failed(Error)
    }

    public init(writer: ResultWriter, saveMaps: Bool, keepMapsForMetrics: Bool, progress: ProgressReporter?, note: @escaping (String) -> Void) {
        self.writer = writer
        self.saveMaps = saveMaps
        self.progress = progress
        keepMaps = keepMapsForMetrics
        noteSink = note
    }

    /// Called when a coordinator accepts the job (the submit records its model).
    public var onAccepted: ((Accepted) throws -> Void)?
    /// Called with an image's path and error when it becomes an error row (the log names it).
    public var onFailedImage: ((String, String) -> Void)?

    public func accepted(_ accepted: Accepted) {
        imageSize = accepted.imageSize
        do { try onAccepted?(accepted) } catch { noteSink("cannot record the job's model: \(error)") }
    }

    /// A row of an interrupted job kept by `--resume`: it counts for the metrics (its map is
    /// read back from its .npy for the pixel metrics).
    public func restore(_ row: ImageResult, item: DatasetItem) throws {
        guard let score = row.score else { return }
        scores[item.relativePath] = score
        guard keepMaps, item.label != nil else { return }
        guard let path = row.map else { collectPixels(item, map: nil); return }
        let (values, shape) = try NPYReader.read(writer.directory.appendingPathComponent(path))
        if imageSize == 0, shape.count == 2 { imageSize = shape[0] }
        collectPixels(item, map: values)
    }

    public func note(_ message: String) { noteSink(message) }

    public func image(_ item: DatasetItem, _ outcome: ScoringOutcome, picture: RGBImage?) throws {
        var row = ImageResult(image: item.relativePath, score: nil, label: item.label, map: nil, error: nil)
        switch outcome {
        case .failed(let error):
            row.error = error
            failed += 1
            onFailedImage?(item.relativePath, error)
        case .scored(let score, let map):
            row.score = score
            scores[item.relativePath] = score
            if map == nil && saveMaps { row.mapSkipped = true }
            // The overlay (maps/<stem>.png) is drawn after the job with the pictures, on the
            // run's colour scale (`JobReport`); `picture` is not needed here.
            if let map, saveMaps {
                row.map = try writer.saveMap(map, width: imageSize, height: imageSize, for: item.relativePath)
            }
            if keepMaps && item.label != nil { collectPixels(item, map: map) }
        }
        try writer.write(row)
        done += 1
        progress?.update(done: done, failed: failed)
    }

    /// A file or folder the dataset scan could not use: an error row, never opened.
    public func problem(_ problem: DatasetProblem) throws {
        try writer.write(ImageResult(image: problem.relativePath, error: problem.description))
        done += 1
        failed += 1
        progress?.update(done: done, failed: failed)
    }

    /// Adds a labelled image's map and mask to the pixel metrics (the mask is loaded now, at the
    /// input size).
    func collectPixels(_ item: DatasetItem, map: [Float]?) {
        if map == nil { imagesWithoutMap += 1 }
        if item.label == 1 {
            anomalousImages += 1
            if item.maskURL == nil { anomalousWithoutMask += 1 }
        }
        guard case .collecting(let current, let images) = pixels else { return }
        do {
            guard let map else { pixels = .incomplete; return }
            let mask: [Bool]?
            do { mask = try MaskLoader.mask(for: item, size: imageSize) } catch {
                pixels = .unreadableMask(image: item.relativePath, reason: "\(error)")
                return
            }
            guard let mask else { pixels = .incomplete; return }
            let accumulator = try current ?? PixelMetricsAccumulator(width: imageSize, height: imageSize, spillDirectory: writer.directory)
            try accumulator.add(map: map, mask: mask)
            pixels = .collecting(accumulator, images: images + 1)
        } catch {
            pixels = .failed(error)
        }
    }

    /// anomalib's image and pixel metrics over the images that were scored. Pixel metrics need
    /// a mask for every anomalous image (good images count as all-normal).
    public func metrics(items: [DatasetItem]) throws -> MetricsReport? {
        let labeled = items.filter { $0.label != nil && scores[$0.relativePath] != nil }
        guard !labeled.isEmpty else { return nil }
        let s = labeled.map { scores[$0.relativePath]! }
        let labels = labeled.map { $0.label! == 1 }
        var report = try MetricsReport.compute(scores: s, labels: labels, maps: nil, masks: nil, width: imageSize, height: imageSize)
        switch pixels {
        case .collecting(let accumulator?, let images) where keepMaps && images == labeled.count:
            pixels = .incomplete  // spent
            let pixel = try accumulator.finish()
            report.setPixel(pixel)
            pixelCurves = pixel.curves
            if let range = accumulator.valueRange {
                let learned = AnomalyThresholds.resolve(pixel.f1Threshold, range: range, hasAnomalous: accumulator.hasAnomalousPixels)
                pixelThreshold = Thresholds.Level(learned, range: range)
            }
        case .failed(let error):
            throw error
        case .unreadableMask(let image, let reason):
            pixelMetricsSkipped = .unreadableMask(image: image, reason: reason)
        case .collecting, .incomplete:
            guard keepMaps else { break }
            if anomalousWithoutMask > 0 {
                pixelMetricsSkipped = .missingMasks(missing: anomalousWithoutMask, anomalous: anomalousImages)
            } else if imagesWithoutMap > 0 {
                pixelMetricsSkipped = .missingMaps(images: imagesWithoutMap)
            }
        }
        return report
    }
}
