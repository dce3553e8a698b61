import Foundation
import AnomalyMetrics

/// The table of a whole-benchmark run, like the WinCLIP paper's per-category tables: image
/// AUROC, pixel AUROC and AUPRO per category and their mean, in percent with one decimal
/// (`summary.md`), and every metric unrounded (`summary.json`). A pure value: it is built from
/// the categories' `MetricsReport`s and only writes when asked.
///
/// A mean is over the categories that have the value; when some lack it (a failed category,
/// no masks) the markdown says over how many, so a partial mean is never mistaken for the
/// paper's.
public struct BenchmarkSummary: Sendable, Equatable {
    public struct Category: Sendable, Equatable {
        public var name: String
        /// nil when the category has no metrics (its job failed, or it has no labels).
        public var metrics: MetricsReport?
        /// Why the category has no metrics, for the table's notes.
        public var error: String?

        public init(name: String, metrics: MetricsReport?, error: String? = nil) {
            self.name = name
            self.metrics = metrics
            self.error = error
        }
    }

    /// A heading such as "MVTec AD, zero-shot, ViT-B-16-plus-240".
    public var title: String
    public var categories: [Category]

    public init(title: String, categories: [Category]) {
        self.title = title
        self.categories = categories
    }

    /// The columns of the markdown table.
    package static var columns: [(heading: String, value: KeyPath<MetricsReport, Double?>)] {
        [("Image AUROC", \.imageAUROC), ("Pixel AUROC", \.pixelAUROC), ("AUPRO", \.pixelAUPRO)]
    }

    package static var allMetrics: [(key: String, value: KeyPath<MetricsReport, Double?>)] {
        [("image_auroc", \.imageAUROC), ("image_f1_max", \.imageF1Max), ("pixel_auroc", \.pixelAUROC),
         ("pixel_f1_max", \.pixelF1Max), ("pixel_aupro", \.pixelAUPRO)]
    }

    /// Mean of one metric over the categories that have it, and how many those are.
    public func mean(_ metric: KeyPath<MetricsReport, Double?>) -> (value: Double?, count: Int) {
        let values = categories.compactMap { $0.metrics?[keyPath: metric] }
        return (values.isEmpty ? nil : values.reduce(0, +) / Double(values.count), values.count)
    }

    /// Every metric's mean (over the categories that have it).
    public var meanReport: MetricsReport {
        MetricsReport(imageAUROC: mean(\.imageAUROC).value, imageF1Max: mean(\.imageF1Max).value,
                      pixelAUROC: mean(\.pixelAUROC).value, pixelF1Max: mean(\.pixelF1Max).value,
                      pixelAUPRO: mean(\.pixelAUPRO).value)
    }

    public func markdown() -> String {
        func percent(_ value: Double?) -> String { value.map { String(format: "%.1f", $0 * 100) } ?? "n/a" }
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
        }
        var lines = ["# \(escape(title))", ""]
        lines.append("| Category | " + Self.columns.map(\.heading).joined(separator: " | ") + " |")
        lines.append("|---|" + String(repeating: "---:|", count: Self.columns.count))
        for category in categories {
            let cells = Self.columns.map { percent(category.metrics?[keyPath: $0.value]) }
            lines.append("| \(escape(category.name)) | " + cells.joined(separator: " | ") + " |")
        }
        let means = Self.columns.map { column -> String in
            let (value, count) = mean(column.value)
            guard let value else { return "n/a" }
            let cell = "**\(percent(value))**"
            return count == categories.count ? cell : "\(cell) (\(count) of \(categories.count))"
        }
        lines.append("| **Mean** | " + means.joined(separator: " | ") + " |")
        lines.append("")
        lines.append("Percent. Image and pixel AUROC and AUPRO (FPR limit 0.3) as anomalib computes them; "
                     + "a mean is over the categories that have the value; n/a: not computed.")
        let failed = categories.filter { $0.error != nil }
        if !failed.isEmpty {
            lines.append("")
            for category in failed { lines.append("- \(escape(category.name)): \(escape(category.error!))") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `{"title", "categories": [{"category", "metrics" (all five keys, or null), "error"}],
    /// "mean": {five keys}, "mean_count": {five keys: categories in each mean}}`.
    public func json() throws -> Data {
        struct Row: Encodable {
            let category: String
            let metrics: MetricsReport?
            let error: String?
            func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: Key.self)
                try c.encode(category, forKey: Key("category"))
                if let metrics { try c.encode(metrics, forKey: Key("metrics")) } else { try c.encodeNil(forKey: Key("metrics")) }
                if let error { try c.encode(error, forKey: Key("error")) } else { try c.encodeNil(forKey: Key("error")) }
            }
        }
        struct Document: Encodable {
            let title: String
            let categories: [Row]
            let mean: MetricsReport
            let meanCount: [String: Int]
            enum CodingKeys: String, CodingKey { case title, categories, mean, meanCount = "mean_count" }
        }
        let document = Document(title: title, categories: categories.map { Row(category: $0.name, metrics: $0.metrics, error: $0.error) },
                                mean: meanReport,
                                meanCount: Dictionary(uniqueKeysWithValues: Self.allMetrics.map { ($0.key, mean($0.value).count) }))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(document)
    }

    /// Writes `summary.md` and `summary.json` into `directory` (created when missing).
    @discardableResult
    public func write(to directory: URL) throws -> (markdown: URL, json: URL) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let markdownURL = directory.appendingPathComponent("summary.md")
        let jsonURL = directory.appendingPathComponent("summary.json")
        try Data(markdown().utf8).write(to: markdownURL, options: .atomic)
        try json().write(to: jsonURL, options: .atomic)
        return (markdownURL, jsonURL)
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
