import Foundation
import Outputs
import AnomalyMetrics

/// `report.html`: one self-contained file (inline CSS, JS, SVG and images; nothing fetched, so
/// it works copied alone to another machine) with the metrics and thresholds, ROC /
/// precision-recall curves (image, and pixel when masks exist) and score histograms per label,
/// the heat maps' colour bar, counts and image AUROC per defect type, and a table of every image
/// — sortable, filterable, paged — with its thumbnail embedded (a small JPEG data URI, decoded
/// lazily) linking to its picture (an extra: the link needs the output folder).
///
/// Sized for large runs: the table's rows travel as compact JSON (folder and defect-type names
/// stored once, picture paths derived from the image path where they follow the output layout,
/// thumbnails of about 1.7 KB in base64: 10,000 images make about 18 MB) and only one page of rows
/// is in the DOM at a time; curves are thinned to a few hundred points.
public enum ReportWriter {
    /// The page's HTML.
    public static func html(_ input: ReportInput, generated: Date = Date()) -> String {
        var page = ReportPage.head(title: input.title)
        page += "<header><h1>\(esc(input.title))</h1>"
        page += factsTable(input, generated: generated)
        page += "</header><main>"
        page += metricsSection(input)
        page += chartsSection(input)
        page += defectsSection(input)
        page += imagesSection(input)
        page += "</main>"
        page += "<script type=\"application/json\" id=\"report-data\">" + tableData(input.rows) + "</script>"
        page += "<script>" + ReportPage.script + "</script></body></html>\n"
        return page
    }

    /// Writes the page to `url` atomically.
    public static func write(_ input: ReportInput, to url: URL, generated: Date = Date()) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(html(input, generated: generated).utf8).write(to: url, options: .atomic)
    }

    // MARK: - sections

    private static func factsTable(_ input: ReportInput, generated: Date) -> String {
        let rows = input.rows
        let scored = rows.filter { $0.score != nil }.count
        let failed = rows.filter { $0.error != nil }.count
        let anomalous = rows.filter { $0.label == 1 }.count, normal = rows.filter { $0.label == 0 }.count
        let formatter = ISO8601DateFormatter()
        var facts = input.facts
        facts.append(ReportFact("images", "\(rows.count) (\(scored) scored, \(failed) failed)"))
        if anomalous + normal > 0 { facts.append(ReportFact("ground truth", "\(normal) normal, \(anomalous) anomalous")) }
        let predicted = rows.filter { $0.predLabel == 1 }.count, predictedNormal = rows.filter { $0.predLabel == 0 }.count
        if predicted + predictedNormal > 0 { facts.append(ReportFact("predicted", "\(predictedNormal) normal, \(predicted) anomalous")) }
        facts.append(ReportFact("generated", formatter.string(from: generated)))
        return "<table class=\"facts\" id=\"facts\">" + facts.map { "<tr><th>\(esc($0.name))</th><td>\(esc($0.value))</td></tr>" }.joined() + "</table>"
    }

    private static func metricsSection(_ input: ReportInput) -> String {
        var s = "<section id=\"metrics-section\"><h2>Metrics</h2><div class=\"cards\">"
        if let metrics = input.metrics {
            s += "<table id=\"metrics\" class=\"grid\"><tr><th>metric</th><th>value</th></tr>"
            for (name, value) in metrics.rows {
                s += "<tr><td>\(esc(name))</td><td class=\"num\">\(value.map { String(format: "%.4f", $0) } ?? "n/a")</td></tr>"
            }
            s += "<tr><td colspan=\"2\" class=\"note\">F1Max: the best F1 over all thresholds, anomalous when score &ge; threshold<br>(torchmetrics' precision-recall curve, as anomalib)</td></tr></table>"
        } else {
            s += "<p id=\"metrics\">No metrics: the run has no ground-truth labels.</p>"
        }
        if let t = input.thresholds {
            s += "<table id=\"thresholds\" class=\"grid\"><tr><th>level</th><th>threshold</th><th>min</th><th>max</th><th>source</th><th>F1 at the threshold<br>(score &ge; threshold)</th></tr>"
            for (name, level) in [("image", t.image), ("pixel", t.pixel)] {
                guard let level else { continue }
                s += "<tr><td>\(name)</td><td class=\"num\">\(num(level.threshold))</td><td class=\"num\">\(num(level.min))</td><td class=\"num\">\(num(level.max))</td><td>\(esc(level.source.rawValue))</td><td class=\"num\">\(level.f1.map { String(format: "%.4f", Double($0)) } ?? "")</td></tr>"
            }
            s += "</table>"
        }
        if let c = ReportStatistics.confusion(input.rows) {
            func pct(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "n/a" }
            s += "<table id=\"confusion\" class=\"grid\"><tr><th></th><th>predicted anomalous</th><th>predicted normal</th></tr>"
            s += "<tr><th>anomalous</th><td class=\"num tp\">\(c.truePositives)</td><td class=\"num fn\">\(c.falseNegatives)</td></tr>"
            s += "<tr><th>normal</th><td class=\"num fp\">\(c.falsePositives)</td><td class=\"num tn\">\(c.trueNegatives)</td></tr>"
            s += "<tr><td colspan=\"3\">precision \(pct(c.precision)) · recall \(pct(c.recall)) · F1 \(pct(c.f1)) · accuracy \(pct(c.accuracy))</td></tr>"
            s += "<tr><td colspan=\"3\" class=\"note\">of the decisions: anomalous when score &gt; threshold (anomalib's rule;<br>a score equal to the threshold is normal)</td></tr></table>"
        }
        return s + "</div></section>"
    }

    private static func chartsSection(_ input: ReportInput) -> String {
        let labelled = input.rows.filter { $0.label != nil && $0.score.map { $0.isFinite } == true }
        let scores = labelled.map { $0.score! }, labels = labelled.map { $0.label == 1 }
        var s = "<section id=\"charts-section\"><h2>Curves and score distribution</h2><div class=\"cards\">"
        // Image curves, and the pixel curves (every pixel of every masked image) when masks exist.
        let pixel = input.pixelCurves
        let roc = ReportStatistics.roc(scores: scores, labels: labels)
        if roc != nil || pixel != nil {
            var series: [SVGChart.Series] = []
            if let roc {
                let area = AnomalyMetrics.auroc(scores: scores, labels: labels).map { String(format: " (AUROC %.4f)", $0) } ?? ""
                series.append(.init(name: "image" + area, color: "#1f77b4", points: ReportStatistics.simplified(roc)))
            }
            if let pixel {
                let area = input.metrics?.pixelAUROC.map { String(format: " (AUROC %.4f)", $0) } ?? ""
                series.append(.init(name: "pixel" + area, color: "#ff7f0e", points: pixel.roc))
            }
            s += SVGChart.lines(id: "roc", title: "ROC", xLabel: "false positive rate", yLabel: "true positive rate", series: series, diagonal: true)
        }
        let pr = ReportStatistics.precisionRecall(scores: scores, labels: labels)
        if pr != nil || pixel != nil {
            var series: [SVGChart.Series] = []
            if let pr {
                let best = AnomalyMetrics.f1Max(scores: scores, labels: labels).map { String(format: " (F1Max %.4f)", $0) } ?? ""
                series.append(.init(name: "image" + best, color: "#d62728", points: ReportStatistics.simplified(pr)))
            }
            if let pixel {
                let best = input.metrics?.pixelF1Max.map { String(format: " (F1Max %.4f)", $0) } ?? ""
                series.append(.init(name: "pixel" + best, color: "#9467bd", points: pixel.precisionRecall))
            }
            s += SVGChart.lines(id: "pr", title: "Precision-recall", xLabel: "recall", yLabel: "precision", series: series)
        }
        let scoredRows = input.rows.filter { $0.score.map { $0.isFinite } == true }
        let groups: [(String, String, [Float])] = [
            ("normal", "rgba(31,119,180,0.6)", scoredRows.filter { $0.label == 0 }.map { $0.score! }),
            ("anomalous", "rgba(214,39,40,0.6)", scoredRows.filter { $0.label == 1 }.map { $0.score! }),
            ("unlabelled", "rgba(120,120,120,0.6)", scoredRows.filter { $0.label == nil }.map { $0.score! }),
        ].filter { !$0.2.isEmpty }
        if let c = input.colourScale { s += colourBar(c) }
        if let h = ReportStatistics.histogram(groups.map(\.2)) {
            let marker = input.thresholds?.image.map { (Double($0.threshold), "threshold " + num($0.threshold)) }
            s += SVGChart.histogram(id: "hist", title: "Image scores", xLabel: "score", lower: h.lower, upper: h.upper,
                                    bars: zip(groups, h.counts).map { .init(name: $0.0.0, color: $0.0.1, counts: $0.1) }, marker: marker)
        }
        return s + "</div></section>"
    }

    /// Only for a run whose layout names defect types (an unlabelled run's folders are not
    /// types); the prediction column only with decisions.
    /// The heat maps' colours (`jet`) with the raw map values at both ends and the pixel threshold.
    static func colourBar(_ c: ReportColourScale) -> String {
        let stops = (0...16).map { k -> String in
            let color = JetColormap.color(for: Float(k) / 16)!
            return String(format: "#%02x%02x%02x %.2f%%", color.r, color.g, color.b, Double(k) * 100 / 16)
        }.joined(separator: ",")
        var s = "<figure id=\"colour-bar\" class=\"colours\"><figcaption>Heat-map colours (--map-normalization \(c.mode.rawValue))</figcaption>"
        s += "<div class=\"bar\" style=\"background:linear-gradient(to right,\(stops))\">"
        if let scale = c.scale, let t = c.threshold, scale.high > scale.low {
            let position = Double((t - scale.low) / (scale.high - scale.low))
            if position >= 0 && position <= 1 { s += String(format: "<span class=\"tick\" style=\"left:%.2f%%\"></span>", 100 * position) }
        }
        s += "</div>"
        if let scale = c.scale {
            s += "<div class=\"ends\"><span>\(num(scale.low))</span>"
                + (c.threshold.map { "<span>pixel threshold \(num($0))</span>" } ?? "") + "<span>\(num(scale.high))</span></div>"
            s += "<p class=\"note\">anomaly-map values; every picture and maps/*.png use this one scale" + (c.threshold != nil ? ", the pixel threshold in the middle" : "") + "</p>"
        } else {
            s += "<p class=\"note\">each picture is coloured over its own map's min…max, printed under it</p>"
        }
        return s + "</figure>"
    }

    private static func defectsSection(_ input: ReportInput) -> String {
        guard input.rows.contains(where: { $0.defectType != nil }) else { return "" }
        let defects = ReportStatistics.defects(input.rows)
        let decided = input.rows.contains { $0.predLabel != nil }
        var s = "<section id=\"defects-section\"><h2>Defect types</h2><table id=\"defects\" class=\"grid\">"
        s += "<tr><th>type</th><th>images</th><th>scored</th><th>anomalous</th>" + (decided ? "<th>predicted anomalous</th>" : "")
            + "<th>mean score</th><th>image AUROC</th></tr>"
        for d in defects {
            s += "<tr><td>\(esc(d.name))</td><td class=\"num\">\(d.images)</td><td class=\"num\">\(d.scored)</td><td class=\"num\">\(d.anomalous)</td>"
                + (decided ? "<td class=\"num\">\(d.predictedAnomalous)</td>" : "")
            s += "<td class=\"num\">\(d.meanScore.map { String(format: "%.4f", $0) } ?? "")</td><td class=\"num\">\(d.auroc.map { String(format: "%.4f", $0) } ?? "—")</td></tr>"
        }
        return s + "</table><p class=\"note\">Image AUROC of each type: its anomalous images against all normal images of the run.</p></section>"
    }

    private static func imagesSection(_ input: ReportInput) -> String {
        ReportPage.imagesSection(types: ReportStatistics.defects(input.rows).map(\.name).filter { $0 != "(none)" })
    }

    // MARK: - table data

    /// `{"dirs": [...], "types": [...], "pic": "pictures/", "rows": [...]}`, each row
    /// `[dir, name, score, label, pred, normalized, type, picture, thumbnail, error]` with
    /// trailing nulls dropped; picture is 1 when it is `<pic><image path without extension>.png`,
    /// else the path or null; thumbnail is the JPEG's base64 or null.
    static func tableData(_ rows: [ReportRow]) -> String {
        var dirs: [String: Int] = [:], dirList: [String] = []
        var types: [String: Int] = [:], typeList: [String] = []
        var out = "{\"pic\":\"pictures/\",\"rows\":["
        for (k, row) in rows.enumerated() {
            let slash = row.image.lastIndex(of: "/")
            let dir = slash.map { String(row.image[..<$0]) } ?? ""
            let name = slash.map { String(row.image[row.image.index(after: $0)...]) } ?? row.image
            let d = dirs[dir] ?? { dirs[dir] = dirList.count; dirList.append(dir); return dirList.count - 1 }()
            var t: Int?
            if let type = row.defectType {
                t = types[type] ?? { types[type] = typeList.count; typeList.append(type); return typeList.count - 1 }()
            }
            let stem = ResultWriter.withoutExtension(row.image)
            func path(_ p: String?, _ prefix: String) -> String {
                guard let p else { return "null" }
                return p == prefix + stem + ".png" ? "1" : json(p)
            }
            let thumbnail: String = row.thumbnail.map { (data: Data) -> String in "\"" + data.base64EncodedString() + "\"" } ?? "null"
            var cells: [String] = [String(d), json(name), number(row.score), row.label.map(String.init) ?? "null",
                                   row.predLabel.map(String.init) ?? "null", number(row.normalizedScore), t.map(String.init) ?? "null",
                                   path(row.picture, "pictures/"), thumbnail, row.error.map(json) ?? "null"]
            while cells.count > 2 && cells.last == "null" { cells.removeLast() }
            out += (k == 0 ? "[" : ",[") + cells.joined(separator: ",") + "]"
        }
        out += "],\"dirs\":[" + dirList.map(json).joined(separator: ",") + "],\"types\":[" + typeList.map(json).joined(separator: ",") + "]}"
        return out
    }

    /// Six significant digits: enough to rank and read, short in the page.
    private static func number(_ v: Float?) -> String {
        guard let v, v.isFinite else { return "null" }
        return String(format: "%.6g", Double(v))
    }

    private static func num(_ v: Float) -> String { String(format: "%.6g", Double(v)) }

    /// A JSON string that is also safe inside a <script> element.
    static func json(_ text: String) -> String { ImageResult.quoted(text, scriptSafe: true) }

    private static func esc(_ text: String) -> String { SVGChart.escape(text) }
}
