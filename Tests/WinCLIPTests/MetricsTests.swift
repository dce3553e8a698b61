import Foundation
import XCTest
@testable import WinCLIP
@testable import AnomalyMetrics

/// AnomalyMetrics against anomalib 2.x (Tests/Fixtures/metrics.safetensors, written by
/// Tools/reference/metrics_reference.py: anomalib's `AUROC`, `F1Max`, `AUPRO` run on the CPU with
/// `update(ImageBatch)` then `compute()`), plus cases worked out by hand and degenerate inputs.
///
/// Tolerance 1e-6 everywhere: anomalib's curves are float32 (its results carry ~1e-7 of rounding;
/// on 100 maps of 240x240 the differences measured 6e-8 AUROC, 2e-8 F1Max, 3e-8 AUPRO), while
/// the Swift side counts exactly in integers / Double.
final class MetricsTests: XCTestCase {
    private static let tolerance = 1e-6

    private struct Reference {
        let file: SafeTensorsFile
        var imageCases: [String] { list("image_cases") }
        var pixelCases: [String] { list("pixel_cases") }
        var degenerate: Set<String> { Set(list("degenerate")) }

        func list(_ key: String) -> [String] {
            (file.metadata[key] ?? "").split(separator: ",").map(String.init)
        }
        func value(_ name: String) throws -> Double {
            let v = try file.floats(name)
            guard v.count == 1 else { throw SafeTensorsError("\(name): expected one value, found \(v.count)") }
            return Double(v[0])
        }
        /// Per-image rows of a [B, H, W] tensor.
        func images(_ name: String) throws -> (rows: [[Float]], width: Int, height: Int) {
            guard let shape = file.shape(name), shape.count == 3 else { throw SafeTensorsError("\(name): not [B, H, W]") }
            let flat = try file.floats(name)
            let n = shape[1] * shape[2]
            return ((0..<shape[0]).map { Array(flat[($0 * n)..<(($0 + 1) * n)]) }, shape[2], shape[1])
        }
    }

    private func reference() throws -> Reference {
        let dir = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil), "the test bundle has no Fixtures folder")
        return Reference(file: try SafeTensorsFile(path: dir.appendingPathComponent("metrics.safetensors").path))
    }

    /// Records |actual - expected| in `worst[metric]` and fails beyond the tolerance.
    private func check(_ actual: Double?, _ expected: Double, _ label: String, _ metric: String,
                       _ worst: inout [String: Double], file: StaticString = #filePath, line: UInt = #line) {
        guard let actual else { return XCTFail("\(label): nil, anomalib says \(expected)", file: file, line: line) }
        let d = abs(actual - expected)
        worst[metric] = max(worst[metric] ?? 0, d)
        XCTAssertLessThanOrEqual(d, Self.tolerance, "\(label): \(actual) vs anomalib \(expected)", file: file, line: line)
    }

    private func report(_ worst: [String: Double], _ what: String) {
        for (metric, d) in worst.sorted(by: { $0.key < $1.key }) {
            print("parity \(what) \(metric): max |diff| vs anomalib = \(d)")
        }
    }

    // MARK: - anomalib parity

    func testImageMetricsMatchAnomalib() throws {
        let ref = try reference()
        XCTAssertGreaterThanOrEqual(ref.imageCases.count, 8)
        var worst: [String: Double] = [:]
        for name in ref.imageCases {
            let prefix = "image.\(name)"
            let scores = try ref.file.floats("\(prefix).scores")
            let labels = try ref.file.ints("\(prefix).labels").map { $0 != 0 }
            let auroc = AnomalyMetrics.auroc(scores: scores, labels: labels)
            let f1 = AnomalyMetrics.f1Max(scores: scores, labels: labels)
            if ref.degenerate.contains(prefix) {
                // One class only: anomalib returns 0 or 1 with a warning; undefined here.
                let (a, f) = (try ref.value("\(prefix).auroc"), try ref.value("\(prefix).f1_max"))
                XCTAssertNil(auroc, "\(prefix) AUROC (anomalib: \(a))")
                XCTAssertNil(f1, "\(prefix) F1Max (anomalib: \(f))")
                continue
            }
            check(auroc, try ref.value("\(prefix).auroc"), "\(prefix) AUROC", "AUROC", &worst)
            check(f1, try ref.value("\(prefix).f1_max"), "\(prefix) F1Max", "F1Max", &worst)
        }
        report(worst, "image")
    }

    func testPixelMetricsMatchAnomalib() throws {
        let ref = try reference()
        XCTAssertGreaterThanOrEqual(ref.pixelCases.count, 4)
        var worst: [String: Double] = [:]
        for name in ref.pixelCases {
            let prefix = "pixel.\(name)"
            let (maps, width, height) = try ref.images("\(prefix).maps")
            let masks = try ref.images("\(prefix).masks").rows.map { $0.map { $0 != 0 } }
            let flatMaps = maps.flatMap { $0 }, flatMasks = masks.flatMap { $0 }
            let auroc = AnomalyMetrics.auroc(scores: flatMaps, labels: flatMasks)
            let f1 = AnomalyMetrics.f1Max(scores: flatMaps, labels: flatMasks)
            let aupro = try AnomalyMetrics.aupro(maps: maps, masks: masks, width: width, height: height)
            let aupro1 = try AnomalyMetrics.aupro(maps: maps, masks: masks, width: width, height: height, fprLimit: 1)
            // The report ranks the pixels once for all three; same numbers.
            let report = try MetricsReport.compute(scores: [], labels: [], maps: maps, masks: masks, width: width, height: height)
            XCTAssertEqual(report.pixelAUROC, auroc, prefix)
            XCTAssertEqual(report.pixelF1Max, f1, prefix)
            XCTAssertEqual(report.pixelAUPRO, aupro, prefix)
            if ref.degenerate.contains(prefix) {
                // No region or no normal pixel: anomalib returns 0 (AUPRO, AUROC) and 0 or 1 (F1Max).
                let (p, a, f) = (try ref.value("\(prefix).aupro"), try ref.value("\(prefix).auroc"), try ref.value("\(prefix).f1_max"))
                XCTAssertNil(aupro, "\(prefix) AUPRO (anomalib: \(p))")
                XCTAssertNil(aupro1, "\(prefix) AUPRO fpr 1")
                XCTAssertNil(auroc, "\(prefix) AUROC (anomalib: \(a))")
                XCTAssertNil(f1, "\(prefix) F1Max (anomalib: \(f))")
                continue
            }
            check(auroc, try ref.value("\(prefix).auroc"), "\(prefix) AUROC", "AUROC", &worst)
            check(f1, try ref.value("\(prefix).f1_max"), "\(prefix) F1Max", "F1Max", &worst)
            check(aupro, try ref.value("\(prefix).aupro"), "\(prefix) AUPRO(0.3)", "AUPRO(0.3)", &worst)
            check(aupro1, try ref.value("\(prefix).aupro_fpr1"), "\(prefix) AUPRO(1.0)", "AUPRO(1.0)", &worst)
        }
        report(worst, "pixel")
    }

    /// Same regions as anomalib's `connected_components_cpu` (cv2, 8-connectivity): the two
    /// labellings are equal up to renumbering, except that anomalib drops the one region of a mask
    /// without background (see AnomalyMetrics.aupro).
    func testConnectedComponentsMatchOpenCV() throws {
        let ref = try reference()
        for name in ref.pixelCases {
            let prefix = "pixel.\(name)"
            let (masks, width, height) = try ref.images("\(prefix).masks")
            let expected = try ref.images("\(prefix).cca").rows
            var offset: Int32 = 0
            var mine: [Int32: Int32] = [:], theirs: [Int32: Int32] = [:]  // bijection, both ways
            for (mask, cv) in zip(masks, expected) {
                var (labels, count) = ConnectedComponents.label(mask: mask.map { $0 != 0 }, width: width, height: height)
                if !labels.contains(0) {  // anomalib's quirk
                    XCTAssertEqual(count, 1)
                    (labels, count) = ([Int32](repeating: 0, count: labels.count), 0)
                }
                for (a, bFloat) in zip(labels, cv) {
                    let b = Int32(bFloat)
                    XCTAssertEqual(a == 0, b == 0, "\(prefix): background differs")
                    if (a == 0) != (b == 0) { return }
                    guard a != 0 else { continue }
                    let global = a + offset
                    if let m = mine[global] { XCTAssertEqual(m, b, "\(prefix): one Swift region, two OpenCV regions") } else { mine[global] = b }
                    if let t = theirs[b] { XCTAssertEqual(t, global, "\(prefix): one OpenCV region, two Swift regions") } else { theirs[b] = global }
                }
                offset += Int32(count)
            }
            XCTAssertEqual(mine.count, theirs.count, prefix)
        }
    }

    // MARK: - worked out by hand

    /// anomalib's docstring example. Scores 0.1 0.4 0.35 0.8 with labels normal normal anomalous
    /// anomalous. AUROC = fraction of (anomalous, normal) pairs ranked right: 0.35 > 0.1 yes,
    /// 0.35 > 0.4 no, 0.8 > both yes: 3/4 = 0.75. F1 at each threshold (>= t is anomalous),
    /// F1 = 2TP / (TP + FP + P) with P = 2: t=0.8: 2/3; t=0.4: 2/4; t=0.35: 4/5; t=0.1: 4/6.
    /// F1Max = 0.8.
    func testHandComputedImageCase() {
        let scores: [Float] = [0.1, 0.4, 0.35, 0.8]
        let labels = [false, false, true, true]
        XCTAssertEqual(AnomalyMetrics.auroc(scores: scores, labels: labels)!, 0.75, accuracy: 1e-12)
        XCTAssertEqual(AnomalyMetrics.f1Max(scores: scores, labels: labels)!, 0.8, accuracy: 1e-12)
        // A tie between an anomalous and a normal image counts one half: 0.5 vs 0.5.
        XCTAssertEqual(AnomalyMetrics.auroc(scores: [0.5, 0.5, 0.9], labels: [true, false, true])!, 0.75, accuracy: 1e-12)
    }

    /// 4x4 map, one region (the centre 2x2), 12 normal pixels:
    ///
    ///     0.10 0.20 0.30 0.05        . . . .
    ///     0.00 0.90 0.60 0.15        . # # .
    ///     0.25 0.70 0.35 0.40        . # # .
    ///     0.45 0.02 0.03 0.04        . . . .
    ///
    /// Descending thresholds and (FPR, PRO), PRO = share of the region above:
    ///   start (0, 0); 0.9 (0, 1/4); 0.7 (0, 2/4); 0.6 (0, 3/4); 0.45 (1/12, 3/4); 0.4 (2/12, 3/4);
    ///   0.35 (2/12, 1); 0.3 (3/12, 1); 0.25 (4/12, 1) passes 0.3: interpolate (0.3, 1).
    /// Area up to 0.3: 2/12 * 3/4 + (0.3 - 2/12) * 1 = 0.125 + 0.13333 = 0.258333;
    /// AUPRO = 0.258333 / 0.3 = 0.861111 (anomalib: 0.861111045).
    /// With one region PRO is the TPR, so AUPRO(fprLimit 1) = AUROC = 46/48 (the normals 0.45 and
    /// 0.4 are below 3 of the 4 region pixels, the other 10 below all 4).
    func testHandComputedAUPRO() throws {
        let map: [Float] = [0.10, 0.20, 0.30, 0.05,
                            0.00, 0.90, 0.60, 0.15,
                            0.25, 0.70, 0.35, 0.40,
                            0.45, 0.02, 0.03, 0.04]
        let mask: [Bool] = [false, false, false, false,
                            false, true, true, false,
                            false, true, true, false,
                            false, false, false, false]
        let aupro = try AnomalyMetrics.aupro(maps: [map], masks: [mask], width: 4, height: 4)
        XCTAssertEqual(aupro!, (2.0 / 12 * 0.75 + (0.3 - 2.0 / 12)) / 0.3, accuracy: 1e-6)
        let full = try AnomalyMetrics.aupro(maps: [map], masks: [mask], width: 4, height: 4, fprLimit: 1)
        XCTAssertEqual(full!, 46.0 / 48, accuracy: 1e-6)
        XCTAssertEqual(AnomalyMetrics.auroc(scores: map, labels: mask)!, 46.0 / 48, accuracy: 1e-12)
        // F1Max: at 0.6, TP 3, FP 0, P 4: 6/7.
        XCTAssertEqual(AnomalyMetrics.f1Max(scores: map, labels: mask)!, 6.0 / 7, accuracy: 1e-12)
    }

    /// Two regions of different sizes weigh the same in PRO: a 1-pixel region found first and a
    /// 3-pixel region, in separate images; 4 normal pixels, limit 1.
    func testRegionsWeighEqually() throws {
        let a: [Float] = [0.9, 0.1, 0.2, 0.3], am = [true, false, false, false]
        let b: [Float] = [0.8, 0.8, 0.8, 0.6], bm = [true, true, true, false]
        // Curve: (0,0) (0,1/2) [0.9: region A] (0,1) [0.8: region B] then normals up to (1,1).
        let v = try AnomalyMetrics.aupro(maps: [a, b], masks: [am, bm], width: 2, height: 2, fprLimit: 1)
        XCTAssertEqual(v!, 1, accuracy: 1e-12)
        // Normal 0.6 above region B: (0,1/2) then (1/4,1/2) then (1/4,1) ... limit 0.5:
        // area 1/4 * 1/2 + 1/4 * 1 = 0.375, / 0.5 = 0.75.
        let b2: [Float] = [0.5, 0.5, 0.5, 0.6]
        let a2: [Float] = [0.9, 0.1, 0.2, 0.3]
        XCTAssertEqual(try AnomalyMetrics.aupro(maps: [a2, b2], masks: [am, bm], width: 2, height: 2, fprLimit: 0.5)!,
                       0.75, accuracy: 1e-7)
    }

    func testEightConnectivity() {
        // Two squares touching at a corner, and a lone pixel.
        let rows = ["##...",
                    "##...",
                    "..##.",
                    "..##.",
                    "....#"]
        let mask = rows.flatMap { $0.map { $0 == "#" } }
        let eight = ConnectedComponents.label(mask: mask, width: 5, height: 5)
        XCTAssertEqual(eight.count, 1)
        let four = ConnectedComponents.label(mask: mask, width: 5, height: 5, connectivity: .four)
        XCTAssertEqual(four.count, 3)
        XCTAssertEqual(four.labels[0], 1)
        XCTAssertEqual(four.labels[12], 2)
        XCTAssertEqual(four.labels[24], 3)
        // A U shape whose arms meet only at the bottom (labels merged in the first pass).
        let u = ["#.#.#",
                 "#.#.#",
                 "#####"].flatMap { $0.map { $0 == "#" } }
        XCTAssertEqual(ConnectedComponents.label(mask: u, width: 5, height: 3, connectivity: .four).count, 1)
        XCTAssertEqual(Set(ConnectedComponents.label(mask: u, width: 5, height: 3).labels), [0, 1])
        XCTAssertEqual(ConnectedComponents.label(mask: [], width: 0, height: 0).count, 0)
    }

    // MARK: - degenerate inputs

    func testDegenerateInputsGiveNil() throws {
        XCTAssertNil(AnomalyMetrics.auroc(scores: [], labels: []))
        XCTAssertNil(AnomalyMetrics.f1Max(scores: [], labels: []))
        XCTAssertNil(AnomalyMetrics.auroc(scores: [0.2, 0.7], labels: [false, false]))
        XCTAssertNil(AnomalyMetrics.auroc(scores: [0.2, 0.7], labels: [true, true]))
        XCTAssertNil(AnomalyMetrics.f1Max(scores: [0.2, 0.7], labels: [false, false]))
        XCTAssertNil(AnomalyMetrics.f1Max(scores: [0.2, 0.7], labels: [true, true]))
        XCTAssertNil(AnomalyMetrics.auroc(scores: [0.3], labels: [true]))
        XCTAssertNil(try AnomalyMetrics.aupro(maps: [], masks: [], width: 4, height: 4))
        XCTAssertNil(try AnomalyMetrics.aupro(maps: [[], []], masks: [[], []], width: 0, height: 0))
        let map: [Float] = [0.1, 0.2, 0.3, 0.4]
        XCTAssertNil(try AnomalyMetrics.aupro(maps: [map], masks: [[false, false, false, false]], width: 2, height: 2))
        XCTAssertNil(try AnomalyMetrics.aupro(maps: [map], masks: [[true, true, true, true]], width: 2, height: 2))
        XCTAssertNil(try AnomalyMetrics.aupro(maps: [map], masks: [[true, false, false, false]], width: 2, height: 2, fprLimit: 0))
        XCTAssertNotNil(try AnomalyMetrics.aupro(maps: [map], masks: [[true, false, false, false]], width: 2, height: 2))
        // NaN scores are meaningless but must not crash.
        _ = AnomalyMetrics.auroc(scores: [.nan, 0.5, .nan, 0.2], labels: [true, false, false, true])
        _ = AnomalyMetrics.f1Max(scores: [.nan, 0.5, .nan, 0.2], labels: [true, false, false, true])
        _ = try AnomalyMetrics.aupro(maps: [[.nan, 0.5, .nan, 0.2]], masks: [[true, false, false, true]], width: 2, height: 2)
        // All scores equal: defined, AUROC 0.5, F1Max = 2P / (P + N + P).
        XCTAssertEqual(AnomalyMetrics.auroc(scores: [0.5, 0.5, 0.5], labels: [true, false, false])!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(AnomalyMetrics.f1Max(scores: [0.5, 0.5, 0.5], labels: [true, false, false])!, 0.5, accuracy: 1e-12)
    }

    /// torchmetrics' AUROC squashes scores with a sigmoid when any lies outside [0, 1]; in float32
    /// scores above ~16.6 become 1.0 and tie. F1Max (anomalib's own curve) does not.
    func testSigmoidTiesOfLogitScores() {
        let scores: [Float] = [17, 40, 0.5]
        let labels = [true, false, false]
        // After the sigmoid 17 and 40 tie: the pair (17, 40) counts 1/2, (17, 0.5) counts 1.
        XCTAssertEqual(AnomalyMetrics.auroc(scores: scores, labels: labels)!, 0.75, accuracy: 1e-12)
        // Without the squash (threshold 17 separates): F1 at t=17: TP 1, FP 1: 2/3; at t=40: 0.
        XCTAssertEqual(AnomalyMetrics.f1Max(scores: scores, labels: labels)!, 2.0 / 3, accuracy: 1e-12)
        // Within [0, 1] no sigmoid: 0.9 above 0.8 counts fully.
        XCTAssertEqual(AnomalyMetrics.auroc(scores: [0.9, 0.8, 0.1], labels: [true, false, false])!, 1, accuracy: 1e-12)
    }

    // MARK: - report

    func testReportSkipsImagesWithoutMaskAndKeepsGoodOnes() throws {
        let anomalous: [Float] = [0.9, 0.1, 0.2, 0.3]
        let good: [Float] = [0.95, 0.0, 0.0, 0.0]
        let maskA = [true, false, false, false], maskGood = [false, false, false, false]
        // The good image (all-false mask) counts: its 0.95 normal pixel is above the region.
        let withGood = try MetricsReport.compute(scores: [0.8, 0.2], labels: [true, false], maps: [anomalous, good],
                                             masks: [maskA, maskGood], width: 2, height: 2)
        XCTAssertEqual(withGood.imageAUROC, 1)
        XCTAssertEqual(withGood.pixelAUROC!, 6.0 / 7, accuracy: 1e-12)
        // Without a mask ([]), the second image is left out of the pixel metrics.
        let skipped = try MetricsReport.compute(scores: [0.8, 0.2], labels: [true, false], maps: [anomalous, good],
                                            masks: [maskA, []], width: 2, height: 2)
        XCTAssertEqual(skipped.pixelAUROC, 1)
        XCTAssertEqual(skipped.pixelAUPRO, 1)
        let imageOnly = try MetricsReport.compute(scores: [0.8, 0.2], labels: [true, false], maps: nil, masks: nil, width: 0, height: 0)
        XCTAssertEqual(imageOnly, MetricsReport(imageAUROC: 1, imageF1Max: 1))
    }

    func testReportJSONAndTable() throws {
        let report = MetricsReport(imageAUROC: 0.912345, imageF1Max: 0.88, pixelAUROC: nil, pixelF1Max: 0.5, pixelAUPRO: 1)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(report), as: UTF8.self)
        XCTAssertEqual(json, #"{"image_auroc":0.912345,"image_f1_max":0.88,"pixel_aupro":1,"pixel_auroc":null,"pixel_f1_max":0.5}"#)
        XCTAssertEqual(try JSONDecoder().decode(MetricsReport.self, from: Data(json.utf8)), report)
        XCTAssertEqual(try JSONDecoder().decode(MetricsReport.self, from: Data(#"{"image_auroc":0.5}"#.utf8)),
                       MetricsReport(imageAUROC: 0.5))
        let table = report.table()
        XCTAssertEqual(table, """
            metric        value
            -----------  ------
            image AUROC  0.9123
            image F1Max  0.8800
            pixel AUROC     n/a
            pixel F1Max  0.5000
            pixel AUPRO  1.0000

            """)
        print(table)
    }
}
