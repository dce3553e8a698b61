import Foundation

/// The evaluation numbers of one run, as anomalib reports them (image and pixel AUROC, F1Max,
/// pixel AUPRO with FPR limit 0.3). `nil` where a metric is undefined or was not computed.
/// JSON always carries all five keys, `null` for the missing ones.
public struct MetricsReport: Codable, Sendable, Equatable {
    public var imageAUROC: Double?
    public var imageF1Max: Double?
    public var pixelAUROC: Double?
    public var pixelF1Max: Double?
    public var pixelAUPRO: Double?

    public init(imageAUROC: Double? = nil, imageF1Max: Double? = nil, pixelAUROC: Double? = nil,
                pixelF1Max: Double? = nil, pixelAUPRO: Double? = nil) {
        self.imageAUROC = imageAUROC
        self.imageF1Max = imageF1Max
        self.pixelAUROC = pixelAUROC
        self.pixelF1Max = pixelF1Max
        self.pixelAUPRO = pixelAUPRO
    }

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case imageAUROC = "image_auroc"
        case imageF1Max = "image_f1_max"
        case pixelAUROC = "pixel_auroc"
        case pixelF1Max = "pixel_f1_max"
        case pixelAUPRO = "pixel_aupro"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        imageAUROC = try c.decodeIfPresent(Double.self, forKey: .imageAUROC)
        imageF1Max = try c.decodeIfPresent(Double.self, forKey: .imageF1Max)
        pixelAUROC = try c.decodeIfPresent(Double.self, forKey: .pixelAUROC)
        pixelF1Max = try c.decodeIfPresent(Double.self, forKey: .pixelF1Max)
        pixelAUPRO = try c.decodeIfPresent(Double.self, forKey: .pixelAUPRO)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        for key in CodingKeys.allCases {
            if let v = self[key] { try c.encode(v, forKey: key) } else { try c.encodeNil(forKey: key) }
        }
    }

    private subscript(key: CodingKeys) -> Double? {
        switch key {
        case .imageAUROC: return imageAUROC
        case .imageF1Max: return imageF1Max
        case .pixelAUROC: return pixelAUROC
        case .pixelF1Max: return pixelF1Max
        case .pixelAUPRO: return pixelAUPRO
        }
    }

    /// The metric names and values of `table()`, in order.
    public var rows: [(name: String, value: Double?)] {
        [("image AUROC", imageAUROC), ("image F1Max", imageF1Max),
         ("pixel AUROC", pixelAUROC), ("pixel F1Max", pixelF1Max), ("pixel AUPRO", pixelAUPRO)]
    }

    /// A small aligned table for the terminal: one metric a line, values with 4 decimals, "n/a"
    /// for a missing value.
    ///
    ///     metric       value
    ///     -----------  ------
    ///     image AUROC  0.9125
    ///     pixel AUPRO     n/a
    public func table() -> String {
        let cells = rows.map { ($0.name, $0.value.map { String(format: "%.4f", $0) } ?? "n/a") }
        let nameWidth = max("metric".count, cells.map(\.0.count).max() ?? 0)
        let valueWidth = max("value".count, cells.map(\.1.count).max() ?? 0)
        func line(_ name: String, _ value: String) -> String {
            name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
                + String(repeating: " ", count: valueWidth - value.count) + value
        }
        var lines = [line("metric", "value"),
                     String(repeating: "-", count: nameWidth) + "  " + String(repeating: "-", count: valueWidth)]
        lines += cells.map { line($0.0, $0.1) }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension MetricsReport {
    /// Computes every metric as anomalib's default evaluation does (plus F1Max and AUPRO):
    /// image AUROC and F1Max from one score and label per image; pixel AUROC, F1Max and AUPRO
    /// (FPR limit 0.3) from the maps and masks of all images together.
    ///
    /// Pixel metrics use only the images that have a mask, as anomalib skips batches without
    /// `gt_mask`: an image whose mask is empty (`[]`) is left out; good images must carry an
    /// all-false mask to count (MVTec's good images have all-zero masks and are included). Pixel
    /// metrics are nil when `maps` or `masks` is nil. For many images, feed a
    /// `PixelMetricsAccumulator` instead and set the pixel metrics with `setPixel`.
    /// - Parameters:
    ///   - maps: one row-major `width` x `height` anomaly map per image (same order as `scores`).
    ///   - masks: one ground-truth mask per image, or `[]` for an image without one.
    /// - Throws: `PixelMetricsError` when maps and masks disagree in number or size.
    public static func compute(scores: [Float], labels: [Bool], maps: [[Float]]?, masks: [[Bool]]?,
                               width: Int, height: Int) throws -> MetricsReport {
        let image = AnomalyMetrics.sweep(scores: scores, labels: labels)
        var report = MetricsReport(imageAUROC: image.auroc, imageF1Max: image.f1Max)
        guard let maps, let masks else { return report }
        guard maps.count == masks.count else { throw PixelMetricsError("\(maps.count) maps but \(masks.count) masks") }
        let accumulator = try PixelMetricsAccumulator(width: width, height: height, spillDirectory: nil)
        for (map, mask) in zip(maps, masks) where !mask.isEmpty {
            try accumulator.add(map: map, mask: mask)
        }
        report.setPixel(try accumulator.finish())
        return report
    }

    /// Sets the three pixel metrics from `metrics`. (There is deliberately no getter: the report
    /// does not keep `metrics.f1Threshold`, and a getter that rebuilt `PixelMetrics` from the
    /// three numbers silently lost it — the pixel threshold a job saved was then anomalib's
    /// no-normal-samples fallback.)
    public mutating func setPixel(_ metrics: PixelMetrics) {
        pixelAUROC = metrics.auroc
        pixelF1Max = metrics.f1Max
        pixelAUPRO = metrics.aupro
    }
}
