import Foundation
import XCTest
@testable import WinCLIP
@testable import Datasets
@testable import Outputs
@testable import Report
@testable import AnomalyMetrics
@testable import ImageInput

/// report.html, its figures, and the end of a job (JobReport): thresholds.json, decisions in
/// results.jsonl, pictures. The page in a real browser: ReportBrowserTests.
final class ReportTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    // MARK: - figures

    func testCurvesByHand() throws {
        // anomalib's docstring example: scores .1 .4 .35 .8, labels 0 0 1 1 (AUROC 0.75).
        let roc = try XCTUnwrap(ReportStatistics.roc(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true]))
        XCTAssertEqual(roc, [CurvePoint(0, 0), CurvePoint(0, 0.5), CurvePoint(0.5, 0.5), CurvePoint(0.5, 1), CurvePoint(1, 1)])
        let pr = try XCTUnwrap(ReportStatistics.precisionRecall(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true]))
        XCTAssertEqual(pr, [CurvePoint(0, 1), CurvePoint(0.5, 1), CurvePoint(0.5, 0.5), CurvePoint(1, 2.0 / 3), CurvePoint(1, 0.5)])
        // Ties form one point.
        XCTAssertEqual(ReportStatistics.roc(scores: [0.5, 0.5], labels: [false, true]), [CurvePoint(0, 0), CurvePoint(1, 1)])
        XCTAssertNil(ReportStatistics.roc(scores: [0.5, 0.6], labels: [true, true]))
        let dense = (0...1000).map { CurvePoint(Double($0) / 1000, Double($0) / 1000) }
        let thin = ReportStatistics.simplified(dense)
        XCTAssertLessThan(thin.count, 510)
        XCTAssertEqual(thin.first, dense.first)
        XCTAssertEqual(thin.last, dense.last)
    }

    func testPixelCurvesFollowTheCurveDefinitionThinned() throws {
        // 6 maps of 40 x 40 with a few ties: the accumulator's curves (swept from spilled runs)
        // equal the report's curve of all pixels, thinned the same way.
        var rng = SplitMix64(seed: 3)
        let side = 40
        var maps: [[Float]] = [], masks: [[Bool]] = []
        for i in 0..<6 {
            maps.append((0..<(side * side)).map { _ in Float(Int(rng.nextUnitFloat() * 3000)) / 3000 })
            masks.append((0..<(side * side)).map { k in i % 2 == 1 && k % side < 12 && k / side < 15 })
        }
        let accumulator = try PixelMetricsAccumulator(width: side, height: side, spillDirectory: directory,
                                                      tuning: .init(chunkPixels: 1000, batchPixels: 700, denseBinPixels: 300))
        for (map, mask) in zip(maps, masks) { try accumulator.add(map: map, mask: mask) }
        let curves = try XCTUnwrap(try accumulator.finish().curves)
        let scores = maps.flatMap { $0 }, labels = masks.flatMap { $0 }
        XCTAssertEqual(curves.roc, ReportStatistics.simplified(try XCTUnwrap(ReportStatistics.roc(scores: scores, labels: labels))))
        XCTAssertEqual(curves.precisionRecall,
                       ReportStatistics.simplified(try XCTUnwrap(ReportStatistics.precisionRecall(scores: scores, labels: labels))))
        XCTAssertGreaterThan(curves.roc.count, 100)
        XCTAssertLessThan(curves.roc.count, 1002)
        // Without both classes: no curves.
        let normalOnly = try PixelMetricsAccumulator(width: 2, height: 1, spillDirectory: nil)
        try normalOnly.add(map: [0.1, 0.2], mask: [false, false])
        XCTAssertNil(try normalOnly.finish().curves)
    }

    func testHistogramAndDefectSummaries() throws {
        let h = try XCTUnwrap(ReportStatistics.histogram([[0, 0.5, 1], [0.25]], bins: 4))
        XCTAssertEqual(h.counts, [[1, 0, 1, 1], [0, 1, 0, 0]])
        let rows = [
            ReportRow(image: "test/good/0.png", score: 0.1, label: 0, predLabel: 0, defectType: "good"),
            ReportRow(image: "test/good/1.png", score: 0.4, label: 0, predLabel: 1, defectType: "good"),
            ReportRow(image: "test/crack/0.png", score: 0.3, label: 1, predLabel: 0, defectType: "crack"),
            ReportRow(image: "test/crack/1.png", score: 0.9, label: 1, predLabel: 1, defectType: "crack"),
            ReportRow(image: "test/hole/0.png", score: nil, label: 1, defectType: "hole", error: "broken"),
        ]
        let defects = ReportStatistics.defects(rows)
        XCTAssertEqual(defects.map(\.name), ["good", "crack", "hole"])
        XCTAssertNil(defects[0].auroc)
        XCTAssertEqual(defects[1].auroc, 0.75)  // (0.3 vs 0.1, 0.4) and (0.9 vs both): 3 of 4 pairs
        XCTAssertEqual(defects[1].predictedAnomalous, 1)
        XCTAssertEqual(defects[2].scored, 0)
        XCTAssertNil(defects[2].auroc)
        let c = try XCTUnwrap(ReportStatistics.confusion(rows))
        XCTAssertEqual([c.truePositives, c.falsePositives, c.falseNegatives, c.trueNegatives], [1, 1, 1, 1])
        XCTAssertEqual(ReportRow.defectType(forImage: "test/crack/000.png"), "crack")
        XCTAssertNil(ReportRow.defectType(forImage: "a.png"))
    }

    // MARK: - the page

    /// Thumbnails as a job makes them: the heat-map panel of real texture images (the
    /// mvtec-decisions fixture, squashed to 256 px) under a smooth random map, as 64-px JPEGs.
    private static let realisticThumbnails: [Data] = {
        let root = clusterFixtures.appendingPathComponent("mvtec-decisions/gravel/test")
        var rng = SplitMix64(seed: 11)
        var out: [Data] = []
        for folder in ["good", "hole", "scratch"] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []
            for name in names.sorted() {
                guard let image = try? ImageLoader.load(path: root.appendingPathComponent("\(folder)/\(name)").path) else { continue }
                let cx = Float(rng.next() % 24), cy = Float(rng.next() % 24)
                let map = (0..<(24 * 24)).map { k -> Float in
                    let dx = Float(k % 24) - cx, dy = Float(k / 24) - cy
                    return 0.3 + 0.6 * Foundation.exp(-(dx * dx + dy * dy) / 40) + 0.05 * rng.nextUnitFloat()
                }
                let panels = try! AnomalyPicture.panels(image: image, map: map, mapSize: 24, groundTruth: nil,
                                                        heat: .dataset(ScoreNormalization(min: 0.3, max: 0.95)), decision: nil)
                out.append(try! Thumbnail.jpeg(of: panels.heatMap))
            }
        }
        precondition(out.count >= 10, "the texture fixture is missing")
        return out
    }()

    private func syntheticRows(_ n: Int) -> [ReportRow] {
        var rng = SplitMix64(seed: 7)
        let thumbnails = Self.realisticThumbnails
        return (0..<n).map { i in
            let type = ["good", "good", "good", "crack", "scratch", "hole"][i % 6]
            let label = type == "good" ? 0 : 1
            let score = min(1, max(0, Float(label == 1 ? 0.6 : 0.35) + 0.15 * rng.normal()))
            let path = "test/\(type)/\(String(format: "%05d", i)).png"
            let stem = String(path.dropLast(4))
            return ReportRow(image: path, score: score, label: label, predLabel: score > 0.5 ? 1 : 0,
                             normalizedScore: min(1, max(0, score - 0.5 + 0.5)), defectType: type,
                             picture: "pictures/\(stem).png", thumbnail: thumbnails[i % thumbnails.count])
        }
    }

    func testPageHoldsEveryPartAndCompactData() throws {
        let rows = syntheticRows(600) + [ReportRow(image: "odd/na<me>.jpg", score: nil, label: 1, picture: "elsewhere/x.png",
                                                    error: "cannot </script> load")]
        let metrics = MetricsReport(imageAUROC: 0.9125, imageF1Max: 0.8, pixelAUROC: nil, pixelF1Max: nil, pixelAUPRO: nil)
        let thresholds = Thresholds(image: .init(threshold: 0.5, min: 0, max: 1, source: .f1Optimal, f1: 0.8), pixel: nil)
        let html = ReportWriter.html(ReportInput(title: "Run <1>", rows: rows, metrics: metrics, thresholds: thresholds,
                                                 facts: [ReportFact("dataset", "/data/bottle")]))
        for id in ["id=\"metrics\"", "id=\"thresholds\"", "id=\"confusion\"", "id=\"roc\"", "id=\"pr\"", "id=\"hist\"", "id=\"defects\"", "id=\"rows\""] {
            XCTAssertTrue(html.contains(id), id)
        }
        XCTAssertTrue(html.contains("<td class=\"num\">0.9125</td>"))
        XCTAssertTrue(html.contains("Run &lt;1&gt;"))
        XCTAssertFalse(html.contains("http://") && html.contains("src=\"http"), "nothing is fetched")
        XCTAssertFalse(html.lowercased().contains("<script src"), "no external script")
        // One </script> only per script element: the error text's "</script>" is escaped in the data.
        XCTAssertEqual(html.components(separatedBy: "</script>").count - 1, 2)

        // The table's data: decode it as the page's script does.
        let start = try XCTUnwrap(html.range(of: "<script type=\"application/json\" id=\"report-data\">", options: []))
        let end = try XCTUnwrap(html.range(of: "</script>", options: [], range: start.upperBound..<html.endIndex))
        let data = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(html[start.upperBound..<end.lowerBound].utf8)) as? [String: Any])
        let encoded = try XCTUnwrap(data["rows"] as? [[Any]])
        XCTAssertEqual(encoded.count, 601)
        let dirs = try XCTUnwrap(data["dirs"] as? [String])
        XCTAssertEqual(Set(dirs), ["test/good", "test/crack", "test/scratch", "test/hole", "odd"])
        XCTAssertEqual(encoded[3][7] as? Int, 1, "a picture path that follows the layout is derived, not stored")
        XCTAssertEqual(encoded[600][1] as? String, "na<me>.jpg")
        XCTAssertEqual(encoded[600][7] as? String, "elsewhere/x.png")
        XCTAssertEqual(encoded[600][9] as? String, "cannot </script> load")
    }

    func testPageSizeStaysSmallAtTenThousandImages() throws {
        var sizes: [Int: Int] = [:]
        for n in [1_000, 10_000] {
            let rows = syntheticRows(n)
            let url = directory.appendingPathComponent("report-\(n).html")
            try ReportWriter.write(ReportInput(title: "size", rows: rows, metrics: MetricsReport(imageAUROC: 0.9),
                                               thresholds: Thresholds(image: .init(threshold: 0.5, min: 0, max: 1, source: .f1Optimal), pixel: nil)),
                                   to: url)
            sizes[n] = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
        }
        let thumbnails = Self.realisticThumbnails.map(\.count)
        print("report.html size: 1,000 images \(sizes[1_000]!) bytes, 10,000 images \(sizes[10_000]!) bytes; "
              + "thumbnails \(thumbnails.min()!)-\(thumbnails.max()!) bytes (mean \(thumbnails.reduce(0, +) / thumbnails.count))")
        XCTAssertLessThan(sizes[10_000]!, 25_000_000, "a 10,000-image report, thumbnails embedded, stays under 25 MB")
        XCTAssertLessThan(Double(sizes[10_000]!) / Double(sizes[1_000]!), 10.5, "grows at most linearly with the rows")
    }

    // MARK: - results.jsonl

    func testResultsReadBackAndDecisionsAdded() throws {
        let writer = try ResultWriter(directory: directory, datasetName: "t")
        let rows = [ImageResult(image: "a.png", score: 0.123456789, label: 1, map: "maps/a.npy"),
                    ImageResult(image: "b \"q\".png", score: 0.75, label: 0),
                    ImageResult(image: "c.png", error: "cannot load image"),
                    ImageResult(image: "d.png", score: .infinity)]
        for row in rows { try writer.write(row) }
        try writer.close()
        let back = try ResultsFile.readAll(writer.resultsURL)
        XCTAssertEqual(back.count, 4)
        XCTAssertEqual(Array(back.prefix(3)), Array(rows.prefix(3)))
        XCTAssertTrue(try XCTUnwrap(back[3].score).isNaN, "a non-finite score (written as null) reads back as NaN")

        try ResultsFile.addDecisions(writer.resultsURL, decision: ScoreNormalization(threshold: 0.5, min: 0, max: 1))
        let decided = try ResultsFile.readAll(writer.resultsURL)
        XCTAssertEqual(decided[0].predLabel, 0)
        XCTAssertEqual(decided[0].normalizedScore, ScoreNormalization(threshold: 0.5, min: 0, max: 1).normalize(0.123456789))
        XCTAssertEqual(decided[1].predLabel, 1)
        XCTAssertNil(decided[2].predLabel)
        XCTAssertNil(decided[3].predLabel)
        let text = try String(contentsOf: writer.resultsURL, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("{\"image\": \"a.png\", \"score\": 0.12345679, \"label\": 1, \"pred_label\": 0, \"normalized_score\": "), text)

        try Data("{\"image\": \"a.png\"}\nnot json\n".utf8).write(to: writer.resultsURL)
        XCTAssertThrowsError(try ResultsFile.readAll(writer.resultsURL)) {
            XCTAssertEqual("\($0)", "\(writer.resultsURL.path) line 2: not JSON")
        }
    }

    func testNPYReadsWhatNPYWriterWrites() throws {
        let values: [Float] = [0, 1.5, -2, .pi, 7, 8]
        let decoded = try NPYReader.decode(NPYWriter.encode(values, shape: [2, 3]))
        XCTAssertEqual(decoded.values, values)
        XCTAssertEqual(decoded.shape, [2, 3])
        XCTAssertThrowsError(try NPYReader.decode(Data("hello".utf8))) { XCTAssertEqual("\($0)", "<memory> is not a .npy file") }
        var truncated = NPYWriter.encode(values, shape: [2, 3])
        truncated.removeLast(4)
        XCTAssertThrowsError(try NPYReader.decode(truncated)) {
            XCTAssertEqual("\($0)", "<memory>: 20 data bytes for shape [2, 3] (expected 24)")
        }
    }

    // MARK: - the end of a job

    func testFinishLearnsDecidesDrawsAndReports() throws {
        let run = try SyntheticRun(count: 40, in: directory)
        let outcome = try JobReport.finish(directory: run.output, writer: run.writer, title: "synthetic", metrics: nil,
                                           thresholds: .learn(pixel: nil, fingerprint: "fp", options: .object(["k": .number(2)])),
                                           pictures: .init(items: run.items, panelSize: 64))
        let rows = try ResultsFile.readAll(run.output.appendingPathComponent("results.jsonl"))
        let scored = rows.filter { $0.error == nil }
        let learned = try AnomalyThresholds.f1Adaptive(scores: scored.map { $0.score! }, labels: scored.map { $0.label == 1 })
        let saved = try Thresholds.load(from: try XCTUnwrap(outcome.thresholdsFile))
        XCTAssertEqual(saved.image?.threshold, learned.value)
        XCTAssertEqual(saved.fingerprint, "fp")
        XCTAssertEqual(saved.options, .object(["k": .number(2)]))
        for row in scored {
            XCTAssertEqual(row.predLabel, row.score! > learned.value ? 1 : 0, row.image)
            XCTAssertNotNil(row.normalizedScore)
        }
        XCTAssertTrue(rows.filter { $0.error != nil }.allSatisfy { $0.predLabel == nil })
        XCTAssertEqual(outcome.picturesWritten, scored.count)
        XCTAssertEqual(outcome.pictureFailures, [])
        let first = try XCTUnwrap(scored.first { $0.label == 1 })
        let files = PictureFiles(writer: run.writer, image: first.image, predMask: true, overlay: true)
        let picture = try PNGDecoder.decode(Data(contentsOf: run.output.appendingPathComponent(files.picture)))
        XCTAssertEqual(picture.width, 4 * 64, "image | gt | heat map | pred mask")
        let predMask = try PNGDecoder.decode(Data(contentsOf: run.output.appendingPathComponent(files.predMask!)))
        XCTAssertEqual([predMask.width, predMask.height], [SyntheticRun.imageSize, SyntheticRun.imageSize], "at the image's own size")
        let overlay = try PNGDecoder.decode(Data(contentsOf: run.output.appendingPathComponent(files.overlay!)))
        XCTAssertEqual([overlay.width, overlay.height], [SyntheticRun.imageSize, SyntheticRun.imageSize])
        let html = try String(contentsOf: outcome.report, encoding: .utf8)
        XCTAssertTrue(html.contains("id=\"thresholds\""))
        XCTAssertTrue(html.contains(">crack<"))
    }

    func testUnlabelledRunListsNoDefectTypes() throws {
        let writer = try ResultWriter(directory: directory, datasetName: "t")
        try writer.write(ImageResult(image: "line1/a.png", score: 0.4))
        try writer.write(ImageResult(image: "line2/b.png", score: 0.2))
        try writer.close()
        // Folders of an unlabelled run are not defect types, and there are no predictions to count.
        let plain = try JobReport.finish(directory: directory, writer: writer, title: "t", metrics: nil,
                                         thresholds: .learn(pixel: nil, fingerprint: nil, options: nil), pictures: nil)
        var html = try String(contentsOf: plain.report, encoding: .utf8)
        XCTAssertFalse(html.contains("defects-section"))
        XCTAssertFalse(html.contains("<option value=\"line1\">"), "no type filter made of folders")
        XCTAssertFalse(html.contains("predicted anomalous"))
        // With a saved rule there are predictions, but still no defect types.
        let rule = Thresholds(image: .init(threshold: 0.3, min: 0, max: 1, source: .manual), pixel: nil)
        let applied = try JobReport.finish(directory: directory, writer: writer, title: "t", metrics: nil, thresholds: .apply(rule), pictures: nil)
        html = try String(contentsOf: applied.report, encoding: .utf8)
        XCTAssertFalse(html.contains("defects-section"))
        XCTAssertTrue(html.contains("<td>1 normal, 1 anomalous</td>"), "the predictions it made are counted")
        // A labelled layout's types come from the dataset's items, not from folder names.
        let items = [DatasetItem(relativePath: "line1/a.png", url: directory, label: 1, maskURL: nil, defectType: "scratch"),
                     DatasetItem(relativePath: "line2/b.png", url: directory, label: 0, maskURL: nil, defectType: "good")]
        let typed = try JobReport.finish(directory: directory, writer: writer, title: "t", metrics: nil, thresholds: .none, pictures: nil, items: items)
        html = try String(contentsOf: typed.report, encoding: .utf8)
        XCTAssertTrue(html.contains("<td>scratch</td>") && html.contains("<td>good</td>"))
        XCTAssertFalse(html.contains("<td>line1</td>"))
    }

    func testFinishWithoutLabelsMakesNoDecision() throws {
        let writer = try ResultWriter(directory: directory, datasetName: "t")
        try writer.write(ImageResult(image: "a.png", score: 0.4))
        try writer.close()
        let outcome = try JobReport.finish(directory: directory, writer: writer, title: "t", metrics: nil,
                                           thresholds: .learn(pixel: nil, fingerprint: nil, options: nil), pictures: nil)
        XCTAssertNil(outcome.thresholds)
        XCTAssertNil(outcome.thresholdsFile)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("thresholds.json").path))
        XCTAssertNil(try ResultsFile.readAll(writer.resultsURL)[0].predLabel)
        // A saved rule applies to an unlabelled run.
        let rule = Thresholds(image: .init(threshold: 0.3, min: 0, max: 1, source: .manual), pixel: nil)
        let applied = try JobReport.finish(directory: directory, writer: writer, title: "t", metrics: nil, thresholds: .apply(rule), pictures: nil)
        XCTAssertEqual(applied.thresholds, rule)
        XCTAssertEqual(try ResultsFile.readAll(writer.resultsURL)[0].predLabel, 1)
        // A threshold by hand: the run's own score range (one score: min = max, anomalib's degenerate case).
        let manual = try JobReport.finish(directory: directory, writer: writer, title: "t", metrics: nil,
                                          thresholds: .manual(imageThreshold: 0.5, fingerprint: nil, options: nil), pictures: nil)
        XCTAssertEqual(manual.thresholds?.image, .init(threshold: 0.5, min: 0.4, max: 0.4, source: .manual))
        XCTAssertNotNil(manual.thresholdsFile)
        let row = try ResultsFile.readAll(writer.resultsURL)[0]
        XCTAssertEqual(row.predLabel, 0)
        XCTAssertEqual(row.normalizedScore, 0, "below the threshold with a zero range: 0")
        XCTAssertThrowsError(try JobReport.finish(directory: directory, writer: writer, title: "t", metrics: nil,
                                                  thresholds: .manual(imageThreshold: .nan, fingerprint: nil, options: nil), pictures: nil)) {
            XCTAssertEqual("\($0)", "the threshold must be a finite number, not nan")
        }
    }
}
