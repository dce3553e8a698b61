import Foundation
import XCTest
import WinCLIP
@testable import Outputs
@testable import Report
import AnomalyMetrics
import ImageInput

/// The decisions a `submit` writes (thresholds.json, every row's `pred_label` and
/// `normalized_score`) equal what anomalib 2.7's `PostProcessor` learns and decides from the same
/// scores, maps and masks: checked through the product path (embedded cluster, tiny fixture
/// model) on `mvtec-decisions/gravel`, zero-shot and 2-shot. The fixture is written by
/// `Tools/reference/job_thresholds_reference.py` from jobs of this test's settings; it records the
/// scores it was fed, so a changed model or dataset shows as such, not as a wrong decision.
final class JobDecisionParityTests: XCTestCase {
    static let dataset = clusterFixtures.appendingPathComponent("mvtec-decisions/gravel")

    struct Fixture: Decodable {
        let versions: String
        let runs: [String: Run]
    }

    struct Run: Decodable {
        let image: Level
        let pixel: Level
        let mapSize: Int
        let images: [String: Image]

        enum CodingKeys: String, CodingKey {
            case image, pixel, images
            case mapSize = "map_size"
        }
    }

    struct Level: Decodable {
        let threshold: Float
        let min: Float
        let max: Float
    }

    struct Image: Decodable {
        let score: Float
        let label: Int
        let normalizedScore: Float
        let predLabel: Int
        /// anomalib's `pred_mask` at the map's size: how many pixels it marks.
        let predMaskPixels: Int

        enum CodingKeys: String, CodingKey {
            case score, label
            case normalizedScore = "normalized_score"
            case predLabel = "pred_label"
            case predMaskPixels = "pred_mask_pixels"
        }
    }

    static func fixture() throws -> Fixture {
        let data = try Data(contentsOf: clusterFixtures.appendingPathComponent("mvtec-decisions/gravel.decisions.json"))
        return try JSONDecoder().decode(Fixture.self, from: data)
    }

    func testZeroShotDecisionsEqualAnomalib() throws {
        try check(run: "zero_shot", kShot: 0)
    }

    func testFewShotDecisionsEqualAnomalib() throws {
        try check(run: "k_shot_2", kShot: 2)
    }

    func check(run name: String, kShot: Int) throws {
        let expected = try XCTUnwrap(Self.fixture().runs[name], "no run \(name) in the fixture")
        let out = try runTinySubmit(self, dataset: Self.dataset.path) { o in
            o.kShot = kShot
            o.saveMaps = true
        }
        let rows = try ResultsFile.readAll(out.appendingPathComponent("results.jsonl"))
        XCTAssertEqual(Set(rows.map(\.image)), Set(expected.images.keys), "the job scored other images than the reference saw")

        // The inputs the reference was fed: if these differ, the fixture is stale (regenerate it).
        for row in rows {
            let reference = try XCTUnwrap(expected.images[row.image])
            XCTAssertNil(row.error, row.image)
            XCTAssertEqual(row.label, reference.label, row.image)
            XCTAssertEqual(try XCTUnwrap(row.score, row.image), reference.score, accuracy: 1e-6,
                           "\(row.image): the score differs from the one the fixture was made from")
        }

        let saved = try Thresholds.load(from: out.appendingPathComponent("thresholds.json"))
        let image = try XCTUnwrap(saved.image), pixel = try XCTUnwrap(saved.pixel, "thresholds.json has no pixel level")
        XCTAssertEqual(image.source, .f1Optimal)
        XCTAssertEqual(pixel.source, .f1Optimal, "the pixel threshold must be learned from both classes of pixels")
        for (what, ours, theirs) in [("image", image, expected.image), ("pixel", pixel, expected.pixel)] {
            XCTAssertEqual(ours.threshold, theirs.threshold, accuracy: 1e-5, "\(what) threshold [\(name)]")
            XCTAssertEqual(ours.min, theirs.min, accuracy: 1e-5, "\(what) min [\(name)]")
            XCTAssertEqual(ours.max, theirs.max, accuracy: 1e-5, "\(what) max [\(name)]")
        }

        for row in rows {
            let reference = expected.images[row.image]!
            XCTAssertEqual(row.predLabel, reference.predLabel, "\(row.image) pred_label [\(name)]")
            XCTAssertEqual(try XCTUnwrap(row.normalizedScore, row.image), reference.normalizedScore, accuracy: 1e-5,
                           "\(row.image) normalized_score [\(name)]")
            // anomalib's pred_mask at the map's size, from the saved map and the saved pixel rule.
            let (map, shape) = try NPYReader.read(out.appendingPathComponent(try XCTUnwrap(row.map)))
            XCTAssertEqual(shape, [expected.mapSize, expected.mapSize])
            let mask = try PredictedMask.compute(map: map, mapSize: expected.mapSize, decision: pixel.normalization)
            XCTAssertEqual(mask.filter { $0 }.count, reference.predMaskPixels, "\(row.image) pred_mask pixels [\(name)]")
        }
        // Both decisions occur, so the comparison can fail either way.
        XCTAssertEqual(Set(expected.images.values.map(\.predLabel)), [0, 1])
        let anomalibShare = Double(expected.images.values.map(\.predMaskPixels).reduce(0, +))
            / Double(expected.images.count * expected.mapSize * expected.mapSize)
        try checkPredictedMasks(out, rows: rows, threshold: pixel.threshold, expectedShare: anomalibShare)

        // The report: the model by name, pixel curves from the masks, the colour bar with the pixel threshold.
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("tiny-vit-48.json, weights tiny-vit-48.safetensors; fingerprint "), "the model named")
        XCTAssertTrue(html.contains("<title>pixel (AUROC ") && html.contains("<title>pixel (F1Max "), "pixel curves")
        XCTAssertTrue(html.contains(String(format: "pixel threshold %.6g", Double(pixel.threshold))), "colour bar")
    }

    /// pred_masks/ and the overlays in maps/ have the image's own size; a predicted pixel is one
    /// whose map value, upsampled to the image as for the overlay, is above the pixel threshold.
    func checkPredictedMasks(_ out: URL, rows: [ImageResult], threshold: Float, expectedShare: Double) throws {
        var marked = 0, total = 0
        for row in rows {
            let image = try ImageLoader.load(path: Self.dataset.appendingPathComponent(row.image).path)
            let stem = ResultWriter.withoutExtension(row.image)
            let mask = try PNGDecoder.decode(Data(contentsOf: out.appendingPathComponent("pred_masks/\(stem).png")))
            XCTAssertEqual([mask.width, mask.height], [image.width, image.height], "pred_masks/\(stem).png")
            let overlay = try PNGDecoder.decode(Data(contentsOf: out.appendingPathComponent("maps/\(stem).png")))
            XCTAssertEqual([overlay.width, overlay.height], [image.width, image.height], "maps/\(stem).png")
            let (map, shape) = try NPYReader.read(out.appendingPathComponent(try XCTUnwrap(row.map)))
            let upsampled = BilinearUpsample.resize(map, inHeight: shape[0], inWidth: shape[1], outHeight: image.height, outWidth: image.width)
            for (i, value) in upsampled.enumerated() where abs(value - threshold) > 1e-6 {
                XCTAssertEqual(mask.pixels[3 * i] == 255, value > threshold, "\(stem) pixel \(i)")
                if value > threshold { marked += 1 }
                total += 1
            }
        }
        // Upsampling keeps the share of marked pixels close to anomalib's at the map's size.
        let share = Double(marked) / Double(total)
        XCTAssertEqual(share, expectedShare, accuracy: 0.05, "share of predicted pixels vs anomalib's pred_mask")
        XCTAssertTrue(share > 0 && share < 1)
    }
}
