import Foundation
import XCTest
import WinCLIP
@testable import Datasets
@testable import Outputs
import AnomalyMetrics

/// Benchmark roots (a folder of categories) and the summary table of a whole-benchmark run.
final class DatasetBenchmarkTests: XCTestCase {
    func makeMVTecCategory(_ root: URL, _ name: String) throws {
        try writeTestPNG(root, "\(name)/train/good/000.png")
        try writeTestPNG(root, "\(name)/test/good/000.png")
        try writeTestPNG(root, "\(name)/test/broken/000.png")
        try writeTestPNG(root, "\(name)/ground_truth/broken/000_mask.png")
    }

    func detect(_ root: URL) throws -> BenchmarkRoot? {
        let path = root.path
        return try bounded { try BenchmarkRoot.detect(path: path) }
    }

    func testMVTecADRoot() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("mvtec_ad")
        try makeMVTecCategory(root, "cable")
        try makeMVTecCategory(root, "bottle")
        try writeTestText(root, "license.txt")
        try writeTestPNG(root, ".thumbs/x.png")
        let benchmark = try XCTUnwrap(try detect(root))
        XCTAssertEqual(benchmark.layout, .mvtec)
        XCTAssertEqual(benchmark.categories.map(\.name), ["bottle", "cable"])
        XCTAssertEqual(benchmark.categories.map(\.url.path), [root.appendingPathComponent("bottle").path, root.appendingPathComponent("cable").path])
        XCTAssertEqual(benchmark.otherFolders, [])
        let bottle = try benchmark.dataset(benchmark.categories[0])
        XCTAssertEqual(bottle.className, "bottle")
        XCTAssertEqual(bottle.items.map(\.relativePath), ["test/broken/000.png", "test/good/000.png"])
        // Read as one dataset, the root is refused rather than scored as a plain folder.
        XCTAssertThrowsError(try Dataset(path: root.path)) { error in
            XCTAssertEqual(error as? DatasetError, .benchmarkRoot(folder: root.path, categories: ["bottle", "cable"]))
            XCTAssertTrue("\(error)".contains("--all-categories"), "\(error)")
        }
        XCTAssertEqual(try Dataset(path: root.path, options: DatasetOptions(layout: .plain)).items.count, 8)
    }

    func testVisARoot() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("VisA")
        try writeTestPNG(root, "pcb1/Data/Images/Normal/0000.JPG")
        try writeTestPNG(root, "pcb1/Data/Images/Anomaly/000.JPG")
        try writeTestPNG(root, "candle/Data/Images/Normal/0000.JPG")
        try writeTestText(root, "split_csv/1cls.csv", """
            object,split,label,image,mask
            candle,test,normal,candle/Data/Images/Normal/0000.JPG,
            pcb1,train,normal,pcb1/Data/Images/Normal/0000.JPG,
            pcb1,test,anomaly,pcb1/Data/Images/Anomaly/000.JPG,pcb1/Data/Masks/Anomaly/000.png
            """)
        let benchmark = try XCTUnwrap(try detect(root))
        XCTAssertEqual(benchmark.layout, .visa)
        XCTAssertEqual(benchmark.categories.map(\.name), ["candle", "pcb1"])
        XCTAssertEqual(benchmark.otherFolders, ["split_csv"])
        let pcb1 = try benchmark.dataset(benchmark.categories[1])
        XCTAssertEqual(pcb1.items.map(\.relativePath), ["Data/Images/Anomaly/000.JPG"])
        XCTAssertEqual(try pcb1.references(kShot: 1).map(\.lastPathComponent), ["0000.JPG"])
    }

    func testMVTecAD2Root() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("mvtec_ad_2")
        for name in ["vial", "can"] {
            try writeTestPNG(root, "\(name)/train/good/000.png")
            try writeTestPNG(root, "\(name)/validation/good/000.png")
            try writeTestPNG(root, "\(name)/test_public/good/000.png")
        }
        let benchmark = try XCTUnwrap(try detect(root))
        XCTAssertEqual(benchmark.layout, .mvtecAD2)
        XCTAssertEqual(benchmark.categories.map(\.name), ["can", "vial"])
    }

    func testNotBenchmarkRoots() throws {
        let base = try temporaryOutputFolder(self)
        // A category itself.
        try makeMVTecCategory(base, "single")
        XCTAssertNil(try detect(base.appendingPathComponent("single")))
        // Images of its own beside a category: a plain folder.
        let mixed = base.appendingPathComponent("mixed")
        try makeMVTecCategory(mixed, "bottle")
        try writeTestPNG(mixed, "loose.png")
        XCTAssertNil(try detect(mixed))
        // Sub-folders that are not categories.
        let plain = base.appendingPathComponent("plain")
        try writeTestPNG(plain, "a/x.png")
        try writeTestPNG(plain, "train/y.png")
        XCTAssertNil(try detect(plain))
        XCTAssertThrowsError(try detect(base.appendingPathComponent("missing")))
    }

    func testCategoriesOfDifferentLayoutsAreAnError() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("both")
        try makeMVTecCategory(root, "bottle")
        try writeTestPNG(root, "candle/Data/Images/Normal/0000.JPG")
        XCTAssertThrowsError(try detect(root)) { error in
            XCTAssertEqual(error as? DatasetError, .mixedLayouts(folder: root.path, categories: ["bottle (mvtec)", "candle (visa)"]))
        }
    }

    // MARK: summary

    func makeSummary() -> BenchmarkSummary {
        BenchmarkSummary(title: "MVTec AD, zero-shot, ViT-B-16-plus-240", categories: [
            .init(name: "bottle", metrics: MetricsReport(imageAUROC: 0.99, imageF1Max: 0.97, pixelAUROC: 0.896, pixelF1Max: 0.5, pixelAUPRO: 0.76)),
            .init(name: "cable", metrics: MetricsReport(imageAUROC: 0.862, imageF1Max: 0.8, pixelAUROC: 0.77, pixelF1Max: 0.2, pixelAUPRO: 0.4)),
            .init(name: "screw|odd", metrics: MetricsReport(imageAUROC: 0.5, imageF1Max: 0.9)),
            .init(name: "zipper", metrics: nil, error: "no worker had the model"),
        ])
    }

    func testSummaryMarkdown() {
        let expected = """
            # MVTec AD, zero-shot, ViT-B-16-plus-240

            | Category | Image AUROC | Pixel AUROC | AUPRO |
            |---|---:|---:|---:|
            | bottle | 99.0 | 89.6 | 76.0 |
            | cable | 86.2 | 77.0 | 40.0 |
            | screw\\|odd | 50.0 | n/a | n/a |
            | zipper | n/a | n/a | n/a |
            | **Mean** | **78.4** (3 of 4) | **83.3** (2 of 4) | **58.0** (2 of 4) |

            Percent. Image and pixel AUROC and AUPRO (FPR limit 0.3) as anomalib computes them; a mean is over the categories that have the value; n/a: not computed.

            - zipper: no worker had the model

            """
        XCTAssertEqual(makeSummary().markdown(), expected)

        let complete = BenchmarkSummary(title: "t", categories: [
            .init(name: "a", metrics: MetricsReport(imageAUROC: 0.9, pixelAUROC: 0.8, pixelAUPRO: 0.7)),
            .init(name: "b", metrics: MetricsReport(imageAUROC: 0.7, pixelAUROC: 0.6, pixelAUPRO: 0.5)),
        ])
        XCTAssertTrue(complete.markdown().contains("| **Mean** | **80.0** | **70.0** | **60.0** |"), complete.markdown())
    }

    func testSummaryJSONAndFiles() throws {
        let summary = makeSummary()
        let folder = try temporaryOutputFolder(self).appendingPathComponent("all")
        let written = try summary.write(to: folder)
        XCTAssertEqual(written.markdown.lastPathComponent, "summary.md")
        XCTAssertEqual(try String(contentsOf: written.markdown, encoding: .utf8), summary.markdown())
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: written.json)) as? [String: Any])
        XCTAssertEqual(json["title"] as? String, "MVTec AD, zero-shot, ViT-B-16-plus-240")
        let categories = try XCTUnwrap(json["categories"] as? [[String: Any]])
        XCTAssertEqual(categories.map { $0["category"] as? String }, ["bottle", "cable", "screw|odd", "zipper"])
        let bottle = try XCTUnwrap(categories[0]["metrics"] as? [String: Any])
        XCTAssertEqual(bottle["pixel_auroc"] as? Double, 0.896)
        XCTAssertTrue(categories[0]["error"] is NSNull)
        XCTAssertTrue(categories[3]["metrics"] is NSNull)
        XCTAssertEqual(categories[3]["error"] as? String, "no worker had the model")
        let mean = try XCTUnwrap(json["mean"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(mean["image_auroc"] as? Double), (0.99 + 0.862 + 0.5) / 3, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(mean["pixel_aupro"] as? Double), (0.76 + 0.4) / 2, accuracy: 1e-12)
        XCTAssertEqual(json["mean_count"] as? [String: Int],
                       ["image_auroc": 3, "image_f1_max": 3, "pixel_auroc": 2, "pixel_f1_max": 2, "pixel_aupro": 2])
        // The mean's metrics decode as a MetricsReport.
        let meanData = try JSONSerialization.data(withJSONObject: mean)
        XCTAssertEqual(try JSONDecoder().decode(MetricsReport.self, from: meanData), summary.meanReport)
    }

    func testEmptySummary() {
        let summary = BenchmarkSummary(title: "none", categories: [])
        XCTAssertTrue(summary.markdown().contains("| **Mean** | n/a | n/a | n/a |"), summary.markdown())
        XCTAssertNil(summary.meanReport.imageAUROC)
    }
}
