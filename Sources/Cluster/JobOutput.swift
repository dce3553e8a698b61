import Foundation
import Protocol
import WinCLIP

/// A submit's results on disk and on the terminal: results.jsonl rows, maps and overlays,
/// progress, and what the metrics need (scores, labels, maps and masks at the input size).
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
    var maps: [String: [Float]] = [:]
    let keepMaps: Bool

    public init(writer: ResultWriter, saveMaps: Bool, keepMapsForMetrics: Bool, progress: ProgressReporter?, note: @escaping (String) -> Void) {
        self.writer = writer
        self.saveMaps = saveMaps
        self.progress = progress
        keepMaps = keepMapsForMetrics
        noteSink = note
    }

    public func accepted(_ accepted: Accepted) { imageSize = accepted.imageSize }

    public func note(_ message: String) { noteSink(message) }

    public func image(_ item: DatasetItem, _ outcome: ScoringOutcome, picture: RGBImage?) throws {
        var row = ImageResult(image: item.relativePath, score: nil, label: item.label, map: nil, error: nil)
        switch outcome {
        case .failed(let error):
            row.error = error
            failed += 1
        case .scored(let score, let map):
            row.score = score
            scores[item.relativePath] = score
            if map == nil && saveMaps { row.mapSkipped = true }
            if let map {
                if saveMaps {
                    row.map = try writer.saveMap(map, width: imageSize, height: imageSize, for: item.relativePath)
                    if let picture {
                        try writer.saveOverlay(map, width: imageSize, height: imageSize, over: picture, for: item.relativePath)
                    }
                }
                if keepMaps { maps[item.relativePath] = map }
            }
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

    /// anomalib's image and pixel metrics over the images that were scored. Pixel metrics need
    /// a mask for every anomalous image (good images count as all-normal).
    public func metrics(items: [DatasetItem]) throws -> MetricsReport? {
        let labeled = items.filter { $0.label != nil && scores[$0.relativePath] != nil }
        guard !labeled.isEmpty else { return nil }
        let s = labeled.map { scores[$0.relativePath]! }
        let labels = labeled.map { $0.label! == 1 }
        var pixelMaps: [[Float]]?
        var pixelMasks: [[Bool]]?
        if keepMaps, labeled.allSatisfy({ $0.label == 0 || $0.maskURL != nil }), labeled.allSatisfy({ maps[$0.relativePath] != nil }) {
            pixelMaps = labeled.map { maps[$0.relativePath]! }
            pixelMasks = try labeled.map { try MaskLoader.mask(for: $0, size: imageSize) ?? MaskLoader.empty(size: imageSize) }
        }
        return MetricsReport.compute(scores: s, labels: labels, maps: pixelMaps, masks: pixelMasks, width: imageSize, height: imageSize)
    }
}
