import Foundation
import XCTest
import WinCLIP
@testable import Outputs
import AnomalyMetrics
import ImageInput

/// The anomaly pictures: colour table against matplotlib, blending and contours against Pillow
/// (fixtures in Tests/Fixtures/pictures written by Tools/reference/picture_reference.py), and the
/// layout of a rendered picture checked pixel by pixel at known places.
final class AnomalyPictureTests: XCTestCase {
    private let fixtures = clusterFixtures.appendingPathComponent("pictures")

    private func greyFixture(_ name: String) throws -> RGBImage {
        try PNGDecoder.decode(Data(contentsOf: fixtures.appendingPathComponent(name)), path: name)
    }

    // MARK: - parity

    func testJetMatchesMatplotlib() throws {
        struct Samples: Decodable {
            let values: [Double]
            let rgba: [[Int]]
            let nan_rgba: [Int]
        }
        let samples = try JSONDecoder().decode(Samples.self, from: Data(contentsOf: fixtures.appendingPathComponent("jet_samples.json")))
        XCTAssertGreaterThan(samples.values.count, 60)
        for (value, rgba) in zip(samples.values, samples.rgba) {
            let c = try XCTUnwrap(JetColormap.color(for: Float(value)), "\(value)")
            XCTAssertEqual([Int(c.r), Int(c.g), Int(c.b)], Array(rgba[0..<3]), "jet(\(Float(value)))")
        }
        XCTAssertEqual(samples.nan_rgba[3], 0, "matplotlib draws NaN transparent")
        XCTAssertNil(JetColormap.color(for: .nan))
        XCTAssertEqual(JetColormap.rgb.count, 768)
        print("parity jet: \(samples.values.count) sample values equal matplotlib's cmap(values, bytes=True)")
    }

    func testHeatBlendMatchesPillowAlphaComposite() throws {
        let table = try greyFixture("alpha_composite.png")
        XCTAssertEqual(table.width, 256)
        var mismatches = 0
        for base in 0..<256 {
            for overlay in 0..<256 where pillowComposite(UInt8(overlay), over: UInt8(base), alpha: AnomalyPicture.heatAlpha)
                != table.pixels[3 * (base * 256 + overlay)] {
                mismatches += 1
            }
        }
        XCTAssertEqual(mismatches, 0, "overlay_image(alpha=0.5) values differing from Pillow")
    }

    func testContourMatchesPillowFindEdges() throws {
        let mask = try greyFixture("edges_mask.png")
        let expected = try greyFixture("edges_expected.png")
        let bits = (0..<(mask.width * mask.height)).map { mask.pixels[3 * $0] == 255 }
        let edges = MaskDrawing.edges(bits, width: mask.width, height: mask.height)
        let reference = (0..<(expected.width * expected.height)).map { expected.pixels[3 * $0] != 0 }
        XCTAssertEqual(edges, reference)
        XCTAssertGreaterThan(reference.filter { $0 }.count, 40)
    }

    // MARK: - layout

    /// A 64 x 48 grey image; an 8 x 8 map that is 1 in its top-left 4 x 4 quadrant and 0
    /// elsewhere; the ground truth is the same quadrant.
    private func sample() -> (RGBImage, [Float], [Bool]) {
        let image = RGBImage(width: 64, height: 48, pixels: [UInt8](repeating: 100, count: 64 * 48 * 3))
        var map = [Float](repeating: 0, count: 64)
        var mask = [Bool](repeating: false, count: 64)
        for y in 0..<4 { for x in 0..<4 { map[y * 8 + x] = 1; mask[y * 8 + x] = true } }
        return (image, map, mask)
    }

    func testPictureHasPanelsAtKnownPlaces() throws {
        let (image, map, mask) = sample()
        let decision = ScoreNormalization(threshold: 0.5, min: 0, max: 1)
        let picture = try AnomalyPicture.render(image: image, map: map, mapSize: 8, groundTruth: mask,
                                                heat: .dataset(decision), decision: decision,
                                                caption: .init(score: 0.8123, normalizedScore: 0.81, predictedAnomalous: true),
                                                panelSize: 128)
        XCTAssertEqual(picture.width, 4 * 128)
        XCTAssertEqual(picture.height, 128 + AnomalyPicture.footerHeight(panelSize: 128))
        let grey = RGBColor(100, 100, 100)
        // Panel 1: the image (a constant image stays constant when resized).
        XCTAssertEqual(picture.color(x: 64, y: 64), grey)
        // Panel 2: ground truth, white in the top-left quadrant, black elsewhere.
        XCTAssertEqual(picture.color(x: 128 + 40, y: 40), .white)
        XCTAssertEqual(picture.color(x: 128 + 100, y: 100), .black)
        // Panel 3: jet(1) = (127, 0, 0) and jet(0.0) = (0, 0, 127) blended at alpha 127.
        func blend(_ c: RGBColor) -> RGBColor {
            RGBColor(pillowComposite(c.r, over: 100, alpha: 127), pillowComposite(c.g, over: 100, alpha: 127),
                     pillowComposite(c.b, over: 100, alpha: 127))
        }
        XCTAssertEqual(picture.color(x: 256 + 30, y: 30), blend(RGBColor(127, 0, 0)))
        XCTAssertEqual(picture.color(x: 256 + 100, y: 64), blend(RGBColor(0, 0, 127)))
        // Panel 4: a red contour around the predicted mask at the image's size (64 x 48), shown in
        // the panel; the image inside and outside it.
        let atImageSize = BilinearUpsample.resize(map, inHeight: 8, inWidth: 8, outHeight: 48, outWidth: 64).map { $0 > 0.5 }
        let predicted = MaskDrawing.resizeNearest(atImageSize, width: 64, height: 48, outWidth: 128, outHeight: 128)
        let boundaryX = (0..<128).last { predicted[40 * 128 + $0] }!
        XCTAssertTrue((56...72).contains(boundaryX), "the 0.5 crossing lies near the quadrant's edge, at \(boundaryX)")
        XCTAssertEqual(picture.color(x: 384 + boundaryX, y: 40), .red)
        XCTAssertEqual(picture.color(x: 384 + boundaryX - 3, y: 40), grey)
        XCTAssertEqual(picture.color(x: 384 + boundaryX + 3, y: 40), grey)
        XCTAssertEqual(picture.color(x: 384, y: 40), .red, "a predicted region touching the border is outlined there")
        XCTAssertEqual(picture.color(x: 384 + 2, y: 40), grey)
        // Captions: titles at the top-left of each panel, score and label at the bottom of the last.
        for k in 0..<4 { XCTAssertTrue(hasText(picture, x: k * 128, y: 0, width: 128, height: 14, color: .white), "title \(k)") }
        XCTAssertTrue(hasText(picture, x: 384, y: 100, width: 128, height: 28, color: RGBColor(255, 80, 80)), "ANOMALOUS")
        XCTAssertTrue(hasText(picture, x: 384, y: 90, width: 128, height: 20, color: .white), "score")
        XCTAssertEqual(AnomalyPicture.Caption(score: 0.8123, normalizedScore: 0.81, predictedAnomalous: true).scoreText, "score 0.8123 (0.810)")
        // The colour bar under the heat map: jet from its first to its last colour, the threshold
        // (0.5 of [0, 1]) as a black tick in the middle, the values of both ends printed below.
        let barY = 128 + 3 + 3, barX0 = 256 + 6, barX1 = 256 + 128 - 6 - 1
        XCTAssertEqual(picture.color(x: barX0, y: barY), JetColormap.color(for: 0))
        XCTAssertEqual(picture.color(x: barX1, y: barY), JetColormap.color(for: 1))
        XCTAssertTrue((barX0 + 50...barX0 + 66).contains { picture.color(x: $0, y: barY) == .black }, "threshold tick")
        XCTAssertTrue(hasText(picture, x: 256, y: barY + 6, width: 40, height: 12, color: .black), "low end's value")
        XCTAssertTrue(hasText(picture, x: 256 + 88, y: barY + 6, width: 40, height: 12, color: .black), "high end's value")
        XCTAssertFalse(hasText(picture, x: 0, y: 129, width: 256, height: 21, color: .black), "no bar under the other panels")
        XCTAssertEqual(AnomalyPicture.label(0.38878614), "0.3888")
        XCTAssertEqual(MapNormalization.dataset(decision).scale(for: map), HeatScale(low: 0, high: 1))
        XCTAssertEqual(MapNormalization.dataset(ScoreNormalization(threshold: 0.39, min: 0.35, max: 0.41)).scale(for: map)!.low, 0.36, accuracy: 1e-6)
        XCTAssertEqual(MapNormalization.image.scale(for: [0.2, 0.7]), HeatScale(low: 0.2, high: 0.7))
        // The ground truth beside the prediction.
        let caption = AnomalyPicture.Caption(score: 0.3, predictedAnomalous: false, groundTruthAnomalous: true)
        XCTAssertEqual([caption.labelText, caption.truthText], ["pred: NORMAL", "truth: ANOMALOUS"])
    }

    private func hasText(_ image: RGBImage, x: Int, y: Int, width: Int, height: Int, color: RGBColor) -> Bool {
        for yy in y..<(y + height) { for xx in x..<(x + width) where image.color(x: xx, y: yy) == color { return true } }
        return false
    }

    func testPanelsFollowWhatIsKnown() throws {
        let (image, map, _) = sample()
        let picture = try AnomalyPicture.render(image: image, map: map, mapSize: 8, groundTruth: nil, heat: .none, decision: nil,
                                                caption: .init(score: 0.5), panelSize: 32)
        XCTAssertEqual(picture.width, 2 * 32, "Image | Image + Anomaly Map")
        XCTAssertEqual(AnomalyPicture.titles(groundTruth: false, decision: false), ["Image", "Image + Anomaly Map"])
        XCTAssertEqual(AnomalyPicture.titles(groundTruth: true, decision: true),
                       ["Image", "Gt Mask", "Image + Anomaly Map", "Image + Pred Mask"])
    }

    func testHeatNormalizations() {
        let map: [Float] = [0.2, 0.4, 0.6, .nan]
        XCTAssertEqual(MapNormalization.none.apply(map).prefix(3), [0.2, 0.4, 0.6])
        let perImage = MapNormalization.image.apply(map)
        XCTAssertEqual(perImage[0], 0)
        XCTAssertEqual(perImage[2], 1)
        XCTAssertEqual(perImage[1], 0.5, accuracy: 1e-6)
        XCTAssertTrue(perImage[3].isNaN)
        XCTAssertEqual(MapNormalization.image.apply([0.3, 0.3]), [0, 0], "a constant map is all 0, as anomalib's normalize=True")
        let dataset = MapNormalization.dataset(ScoreNormalization(threshold: 0.4, min: 0, max: 0.8)).apply(map)
        XCTAssertEqual(dataset[1], 0.5, "the threshold lands on 0.5")
        XCTAssertEqual(dataset[2], 0.75, accuracy: 1e-6)
        XCTAssertEqual(MapNormalization.Mode(rawValue: "dataset"), .dataset)
        XCTAssertNil(MapNormalization.Mode(rawValue: "global"))
    }

    func testFontGlyphs() {
        var image = RGBImage(width: 20, height: 10, color: .black)
        BitmapFont.draw("A\u{e9}", on: &image, x: 1, y: 1, scale: 1, color: .white)
        // "A": row 0 is .###. and row 3 is #...#.
        XCTAssertEqual((0..<5).map { image.color(x: 1 + $0, y: 1) == .white }, [false, true, true, true, false])
        XCTAssertEqual((0..<5).map { image.color(x: 1 + $0, y: 5) == .white }, [true, true, true, true, true])
        // Not ASCII: drawn as "?" (row 0 is .###.).
        XCTAssertEqual((0..<5).map { image.color(x: 7 + $0, y: 1) == .white }, [false, true, true, true, false])
        XCTAssertEqual(BitmapFont.glyphs.count, 95 * 7)
        XCTAssertEqual(BitmapFont.size(of: "abc", scale: 2).width, (3 * 6 - 1) * 2)
    }

    func testBadInputIsAnError() {
        let (image, map, mask) = sample()
        XCTAssertThrowsError(try AnomalyPicture.render(image: image, map: Array(map.dropLast()), mapSize: 8, groundTruth: nil,
                                                       heat: .none, decision: nil, caption: .init(score: 1))) {
            XCTAssertEqual("\($0)", "the anomaly map has 63 values, expected 8 x 8")
        }
        XCTAssertThrowsError(try AnomalyPicture.render(image: image, map: map, mapSize: 8, groundTruth: Array(mask.prefix(10)),
                                                       heat: .none, decision: nil, caption: .init(score: 1))) {
            XCTAssertEqual("\($0)", "the ground-truth mask has 10 values, expected 8 x 8")
        }
        XCTAssertThrowsError(try Thumbnail.make(RGBImage(width: 0, height: 0, pixels: [])))
    }

    // MARK: - files

    func testPredictedMaskThumbnailAndPictureFiles() throws {
        let (image, map, mask) = sample()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pictures-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = try ResultWriter(directory: dir, datasetName: "t", images: ["test/crack/000.png"])
        let files = PictureFiles(writer: writer, image: "test/crack/000.png", predMask: true)
        XCTAssertEqual(files, PictureFiles(picture: "pictures/test/crack/000.png", predMask: "pred_masks/test/crack/000.png"))
        let decision = ScoreNormalization(threshold: 0.5, min: 0, max: 1)
        let thumbnailJPEG = try PictureOutput.write(in: dir, files: files, image: image, map: map, mapSize: 8, groundTruth: mask,
                                heat: .dataset(decision), decision: decision, caption: .init(score: 0.9, predictedAnomalous: true),
                                panelSize: 64, thumbnailSize: 32)
        let picture = try PNGDecoder.decode(Data(contentsOf: dir.appendingPathComponent(files.picture)))
        XCTAssertEqual(picture.width, 256)
        let thumbnail = try ImageLoader.decode(thumbnailJPEG)
        XCTAssertEqual([thumbnail.width, thumbnail.height], [32, 32], "the heat-map panel, for the report")
        XCTAssertEqual(Array(thumbnailJPEG.prefix(2)), [0xFF, 0xD8], "a JPEG")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("thumbnails").path))
        let predMask = try PNGDecoder.decode(Data(contentsOf: dir.appendingPathComponent(files.predMask!)))
        XCTAssertEqual([predMask.width, predMask.height], [64, 48], "the predicted mask has the image's own size")
        // The pixels whose map value, upsampled to the image as for the overlay, is above the
        // threshold (0.5 here: the normalisation is the identity).
        let upsampled = BilinearUpsample.resize(map, inHeight: 8, inWidth: 8, outHeight: 48, outWidth: 64)
        XCTAssertTrue(upsampled.contains { $0 > 0.5 } && upsampled.contains { $0 < 0.5 })
        for i in 0..<(64 * 48) { XCTAssertEqual(predMask.pixels[3 * i], upsampled[i] > 0.5 ? 255 : 0, "pixel \(i)") }
        XCTAssertEqual(try Thumbnail.make(RGBImage(width: 300, height: 200, color: .white)).height, 43, "64 x 43: the longer side 64, aspect kept")
    }
}
