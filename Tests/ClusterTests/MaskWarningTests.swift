import Foundation
import XCTest
@testable import Datasets
@testable import Submit

/// An MVTec-layout dataset whose masks are missing: a warning with the count before the job,
/// and pixel metrics marked as skipped, with the reason, in metrics.json and the report.
final class MaskWarningTests: XCTestCase {
    /// mvtec-tiny/tile without the mask of test/crack/000.png.
    func datasetMissingAMask() throws -> URL {
        let copy = try temporaryOutputFolder(self).appendingPathComponent("tile")
        try FileManager.default.copyItem(at: clusterFixtures.appendingPathComponent("mvtec-tiny/tile"), to: copy)
        try FileManager.default.removeItem(at: copy.appendingPathComponent("ground_truth/crack/000_mask.png"))
        return copy
    }

    func testMissingMasksAreWarnedAboutAndThePixelMetricsSaySkipped() throws {
        let dataset = try datasetMissingAMask()
        let out = try temporaryOutputFolder(self).appendingPathComponent("out")
        var printed: [String] = []
        let outcome = try SubmitRunner.run(tinySubmitOptions(dataset: dataset.path, output: out), logger: quietLogger(), print: { printed.append($0) })

        let coverage = MaskCoverage(items: try Dataset(path: dataset.path).items)
        XCTAssertEqual(coverage.missing, ["test/crack/000.png"])
        XCTAssertEqual(coverage.anomalous, 3)
        XCTAssertEqual(outcome.warnings, [.missingMasks(coverage)])
        let warningLine = try XCTUnwrap(printed.firstIndex(of: "warning: \(JobWarning.missingMasks(coverage))"), "\(printed)")
        let scoringLine = try XCTUnwrap(printed.firstIndex { $0.hasPrefix("scoring ") })
        XCTAssertLessThan(warningLine, scoringLine, "warned before the job starts")

        // The truncated crack/002.png is never scored: 2 anomalous images reach the metrics, 1 without a mask.
        XCTAssertEqual(outcome.pixelMetricsSkipped, .missingMasks(missing: 1, anomalous: 2))
        XCTAssertNil(outcome.metrics?.pixelAUROC)
        XCTAssertNotNil(outcome.metrics?.imageAUROC)
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("metrics.json"))) as! [String: Any]
        let skipped = try XCTUnwrap(metrics["pixel_metrics_skipped"] as? [String: String])
        XCTAssertEqual(skipped["reason"], "missing_masks")
        XCTAssertEqual(skipped["message"], outcome.pixelMetricsSkipped?.description)
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssert(html.contains(JobWarning.missingMasks(coverage).description), "the report carries the warning")
        XCTAssert(html.contains(try XCTUnwrap(outcome.pixelMetricsSkipped).description), "and why the pixel metrics are missing")
    }

    func testCompleteMasksGiveNoWarning() throws {
        let outcome = try SubmitRunner.run(tinySubmitOptions(dataset: clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path,
                                                             output: try temporaryOutputFolder(self).appendingPathComponent("out")),
                                           logger: quietLogger(), print: { _ in })
        XCTAssertEqual(outcome.warnings, [])
        XCTAssertNil(outcome.pixelMetricsSkipped)
        XCTAssertNotNil(outcome.metrics?.pixelAUROC)
    }

    /// The folder layout expects masks only with --mask-dir; an abnormal image whose mask has
    /// no matching name counts as missing.
    func testFolderLayoutMasksAreExpectedWithMaskDir() throws {
        let root = try temporaryOutputFolder(self)
        for name in ["good/a.png", "good/b.png", "bad/c.png", "bad/d.png", "masks/c.png", "masks/x.png"] { try writeTestPNG(root, name) }
        let withMasks = try Dataset(path: root.path, options: DatasetOptions(folder: FolderLayoutDirs(normalDir: "good", abnormalDir: "bad", maskDir: "masks")))
        XCTAssertTrue(withMasks.masksExpected)
        XCTAssertEqual(MaskCoverage(items: withMasks.items), MaskCoverage(anomalous: 2, missing: ["bad/d.png"]))
        let without = try Dataset(path: root.path, options: DatasetOptions(folder: FolderLayoutDirs(normalDir: "good", abnormalDir: "bad")))
        XCTAssertFalse(without.masksExpected, "no --mask-dir: no masks were promised")
    }

    /// Classification makes no maps: metrics.json says why its pixel figures are null.
    func testClassificationSaysWhyThereAreNoPixelMetrics() throws {
        var o = tinySubmitOptions(dataset: clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path,
                                  output: try temporaryOutputFolder(self).appendingPathComponent("out"))
        o.config.winclip.task = .classification
        let outcome = try SubmitRunner.run(o, logger: quietLogger(), print: { _ in })
        XCTAssertEqual(outcome.pixelMetricsSkipped, .missingMaps(images: 4))
    }
}
