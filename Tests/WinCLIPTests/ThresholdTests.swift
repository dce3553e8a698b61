import Foundation
import XCTest
@testable import WinCLIP
@testable import AnomalyMetrics

/// Thresholds and normalisation against anomalib 2.x's own `PostProcessor`
/// (Tests/Fixtures/thresholds.safetensors, written by Tools/reference/thresholds_reference.py:
/// `F1AdaptiveThreshold` and `MinMax` learned on a labelled batch, then `post_process_batch`),
/// plus hand-made cases, errors and the thresholds.json model.
final class ThresholdTests: XCTestCase {
    private static let tolerance: Float = 1e-6

    private func reference() throws -> SafeTensorsFile { try Fixtures.open("thresholds.safetensors") }

    private func cases(_ file: SafeTensorsFile, _ key: String) -> [String] {
        (file.metadata[key] ?? "").split(separator: ",").map(String.init)
    }

    private func scalar(_ file: SafeTensorsFile, _ name: String) throws -> Float {
        let v = try file.floats(name)
        guard v.count == 1 else { throw SafeTensorsError("\(name): expected one value") }
        return v[0]
    }

    /// Same value within the tolerance, or both NaN.
    private func assertSame(_ a: Float, _ b: Float, _ label: String, file: StaticString = #filePath, line: UInt = #line) -> Float {
        if a.isNaN || b.isNaN {
            XCTAssert(a.isNaN && b.isNaN, "\(label): \(a) vs anomalib \(b)", file: file, line: line)
            return 0
        }
        let d = abs(a - b)
        XCTAssertLessThanOrEqual(d, Self.tolerance, "\(label): \(a) vs anomalib \(b)", file: file, line: line)
        return d
    }

    func testImageThresholdsMatchAnomalib() throws {
        let ref = try reference()
        let names = cases(ref, "image_cases")
        XCTAssertGreaterThanOrEqual(names.count, 12)
        var worst: Float = 0, values = 0, decisionsChecked = 0
        for name in names {
            let scores = try ref.floats("image.\(name).scores")
            let labels = try ref.ints("image.\(name).labels").map { $0 == 1 }
            let learned = try AnomalyThresholds.f1Adaptive(scores: scores, labels: labels)
            worst = max(worst, assertSame(learned.value, try scalar(ref, "image.\(name).threshold"), "\(name) threshold"))
            let range = try XCTUnwrap(AnomalyThresholds.range(of: scores))
            worst = max(worst, assertSame(range.lowerBound, try scalar(ref, "image.\(name).min"), "\(name) min"))
            worst = max(worst, assertSame(range.upperBound, try scalar(ref, "image.\(name).max"), "\(name) max"))

            let normalization = ScoreNormalization(threshold: learned.value, min: range.lowerBound, max: range.upperBound)
            let test = try ref.floats("image.\(name).test")
            let normalized = try ref.floats("image.\(name).normalized")
            let predicted = try ref.ints("image.\(name).pred_label")
            XCTAssertEqual(test.count, normalized.count)
            for (i, x) in test.enumerated() {
                worst = max(worst, assertSame(normalization.normalize(x), normalized[i], "\(name) normalized[\(i)] of \(x)"))
                XCTAssertEqual(normalization.isAnomalous(x), predicted[i] == 1, "\(name) pred_label[\(i)] of \(x)")
                values += 1
                decisionsChecked += 1
            }
        }
        print("parity thresholds image: \(names.count) cases, \(values) normalised scores and labels, max |diff| vs anomalib = \(worst)")
    }

    func testPixelThresholdsMatchAnomalib() throws {
        let ref = try reference()
        let names = cases(ref, "pixel_cases")
        XCTAssertGreaterThanOrEqual(names.count, 8)
        var worst: Float = 0, pixels = 0
        for name in names {
            let shape = try XCTUnwrap(ref.shape("pixel.\(name).maps"))
            let n = shape[1] * shape[2]
            let flat = try ref.floats("pixel.\(name).maps")
            let flatMasks = try ref.ints("pixel.\(name).masks")
            let maps = (0..<shape[0]).map { Array(flat[($0 * n)..<(($0 + 1) * n)]) }
            let masks = (0..<shape[0]).map { flatMasks[($0 * n)..<(($0 + 1) * n)].map { $0 == 1 } }
            let learned = try AnomalyThresholds.f1Adaptive(maps: maps, masks: masks)
            worst = max(worst, assertSame(learned.value, try scalar(ref, "pixel.\(name).threshold"), "\(name) threshold"))
            let range = try XCTUnwrap(AnomalyThresholds.range(ofMaps: maps))
            worst = max(worst, assertSame(range.lowerBound, try scalar(ref, "pixel.\(name).min"), "\(name) min"))
            worst = max(worst, assertSame(range.upperBound, try scalar(ref, "pixel.\(name).max"), "\(name) max"))

            let thresholds = try Thresholds.learn(scores: [0, 1], labels: [false, true], maps: maps, maskedMaps: maps, masks: masks)
            let normalization = try XCTUnwrap(thresholds.pixelNormalization())
            let normalized = try ref.floats("pixel.\(name).normalized")
            let predMask = try ref.ints("pixel.\(name).pred_mask")
            var mismatches = 0
            for i in 0..<flat.count {
                worst = max(worst, assertSame(normalization.normalize(flat[i]), normalized[i], "\(name) normalized[\(i)]"))
                if normalization.isAnomalous(flat[i]) != (predMask[i] == 1) { mismatches += 1 }
            }
            XCTAssertEqual(mismatches, 0, "\(name): pred_mask pixels differing from anomalib")
            pixels += flat.count
        }
        print("parity thresholds pixel: \(names.count) cases, \(pixels) pixels normalised and decided, max |diff| vs anomalib = \(worst)")
    }

    // MARK: - cases worked out by hand

    func testEqualF1TakesTheLowestThreshold() throws {
        // 0.8: P = 1, R = 1/2, F1 = 2/3; 0.3: P = 1/2, R = 1, F1 = 2/3. anomalib's argmax over the
        // ascending curve takes 0.3.
        let t = try AnomalyThresholds.f1Adaptive(scores: [0.3, 0.4, 0.8, 0.3], labels: [true, false, true, false])
        XCTAssertEqual(t.value, 0.3)
        XCTAssertEqual(t.basis, .f1Optimal)
        XCTAssertEqual(try XCTUnwrap(t.f1), 2.0 / 3.0, accuracy: 1e-6)
    }

    func testOneClassFallbacks() throws {
        let normalOnly = try AnomalyThresholds.f1Adaptive(scores: [0.1, 0.5, 0.3], labels: [false, false, false])
        XCTAssertEqual(normalOnly, AdaptiveThreshold(value: 0.5, basis: .noAnomalousSamples))
        let anomalousOnly = try AnomalyThresholds.f1Adaptive(scores: [0.1, 0.5, 0.3], labels: [true, true, true])
        XCTAssertEqual(anomalousOnly, AdaptiveThreshold(value: 0.1, basis: .noNormalSamples))
    }

    func testDecisionAtTheThresholdIsNormal() {
        let n = ScoreNormalization(threshold: 0.4, min: 0.2, max: 0.9)
        XCTAssertEqual(n.normalize(0.4), 0.5)
        XCTAssertFalse(n.isAnomalous(0.4))
        XCTAssertTrue(n.isAnomalous(0.4000001))
        XCTAssertEqual(n.normalize(5), 1)
        XCTAssertEqual(n.normalize(-5), 0)
        // Without a threshold: plain min-max.
        XCTAssertEqual(ScoreNormalization(min: 2, max: 4).normalize(3.5), 0.75)
        // A constant range: 1 above the threshold, 0 below, 0.5 on it (anomalib 2.7).
        let flat = ScoreNormalization(threshold: 0.5, min: 0.5, max: 0.5)
        XCTAssertEqual(flat.normalize(0.5), 0.5)
        XCTAssertFalse(flat.isAnomalous(0.5))
        XCTAssertEqual(flat.normalize(0.7), 1)
        XCTAssertEqual(flat.normalize(0.2), 0)
        XCTAssertTrue(n.normalize(.nan).isNaN)
        XCTAssertFalse(n.isAnomalous(.nan))
    }

    func testBadInputGetsClearErrors() {
        XCTAssertThrowsError(try AnomalyThresholds.f1Adaptive(scores: [], labels: [])) {
            XCTAssertEqual("\($0)", "cannot learn a threshold: no labelled image")
        }
        XCTAssertThrowsError(try AnomalyThresholds.f1Adaptive(scores: [0.1], labels: [true, false])) {
            XCTAssertEqual("\($0)", "cannot learn a threshold: 1 scores but 2 labels")
        }
        XCTAssertThrowsError(try AnomalyThresholds.f1Adaptive(scores: [0.1, .nan], labels: [true, false])) {
            XCTAssertEqual("\($0)", "cannot learn a threshold: score of image 1 is nan")
        }
        XCTAssertThrowsError(try AnomalyThresholds.f1Adaptive(maps: [[0.1, 0.2]], masks: [[true]])) {
            XCTAssertEqual("\($0)", "cannot learn a threshold: image 0 has a map of 2 values and a mask of 1")
        }
        XCTAssertThrowsError(try AnomalyThresholds.f1Adaptive(maps: [], masks: [])) {
            XCTAssertEqual("\($0)", "cannot learn a threshold: no masked pixel")
        }
    }

    // MARK: - thresholds.json

    private struct Options: Codable, Equatable {
        var scales: [Int]
        var className: String
    }

    func testThresholdsFileRoundTrip() throws {
        let learned = try Thresholds.learn(scores: [0.1, 0.7, 0.4, 0.9], labels: [false, true, false, true],
                                           maps: [[0.1, 0.9], [0.3, 0.2]], maskedMaps: [[0.1, 0.9]], masks: [[false, true]])
        var thresholds = learned
        thresholds.fingerprint = "sha256:abc"
        thresholds.options = try JSONValue(encoding: Options(scales: [2, 3], className: "bottle"))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("thresholds-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try thresholds.save(to: url)
        let loaded = try Thresholds.load(from: url)
        XCTAssertEqual(loaded, thresholds)
        XCTAssertEqual(try loaded.options?.decode(as: Options.self), Options(scales: [2, 3], className: "bottle"))
        XCTAssertEqual(loaded.image?.threshold, 0.7)
        XCTAssertEqual(loaded.image?.min, 0.1)
        XCTAssertEqual(loaded.image?.max, 0.9)
        XCTAssertEqual(loaded.image?.source, .f1Optimal)
        XCTAssertEqual(loaded.pixel?.threshold, 0.9)
        XCTAssertEqual(loaded.pixel?.min, 0.1)  // range of all maps, not only the masked ones
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(text.contains("\"source\" : \"f1_optimal\""), text)
        // Without a pixel level, the pixel decision uses the image threshold (anomalib's threshold matching).
        let imageOnly = Thresholds(image: learned.image, pixel: nil)
        XCTAssertEqual(imageOnly.pixelNormalization(mapRange: 0...1), ScoreNormalization(threshold: 0.7, min: 0, max: 1))
    }

    func testThresholdsFileErrors() throws {
        func message(_ json: String) -> String {
            do { _ = try Thresholds.decode(Data(json.utf8), path: "t.json"); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message("not json"), message("not json"))
        XCTAssertTrue(message("not json").hasPrefix("t.json: not a JSON thresholds file"), message("not json"))
        XCTAssertEqual(message(#"{"image": {"threshold": 0.5, "min": 0, "max": 1, "source": "manual"}}"#),
                       "t.json: missing field 'version'")
        XCTAssertEqual(message(#"{"version": 1, "image": {"threshold": 0.5, "min": 0, "source": "manual"}}"#),
                       "t.json: missing field 'image.max'")
        XCTAssertEqual(message(#"{"version": 2, "image": {"threshold": 0.5, "min": 0, "max": 1, "source": "manual"}}"#),
                       "t.json: version 2 is not supported (this program reads version 1)")
        XCTAssertEqual(message(#"{"version": 1, "image": {"threshold": 0.5, "min": 2, "max": 1, "source": "manual"}}"#),
                       "t.json: image.min 2.0 is above image.max 1.0")
        XCTAssertEqual(message(#"{"version": 1}"#), "t.json: neither an image nor a pixel threshold")
        XCTAssertTrue(message(#"{"version": 1, "image": {"threshold": "high", "min": 0, "max": 1, "source": "manual"}}"#)
            .hasPrefix("t.json: wrong type at 'image.threshold'"))
        XCTAssertTrue(message(#"{"version": 1, "image": {"threshold": 0.5, "min": 0, "max": 1, "source": "guess"}}"#)
            .hasPrefix("t.json: invalid value at 'image.source'"))
        let missing = URL(fileURLWithPath: "/nonexistent/thresholds.json")
        XCTAssertThrowsError(try Thresholds.load(from: missing)) {
            XCTAssertTrue("\($0)".hasPrefix("cannot read thresholds file /nonexistent/thresholds.json"), "\($0)")
        }
        let bad = Thresholds(image: .init(threshold: .nan, min: 0, max: 1, source: .manual), pixel: nil)
        XCTAssertThrowsError(try bad.save(to: FileManager.default.temporaryDirectory.appendingPathComponent("x.json"))) {
            XCTAssertTrue("\($0)".hasSuffix("image.threshold is nan, not a finite number"), "\($0)")
        }
    }

    func testJSONValueKeepsTypes() throws {
        let json = #"{"a": true, "b": 1.5, "c": "x", "d": [null, 2], "e": {"f": false}}"#
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
        XCTAssertEqual(value, .object(["a": .bool(true), "b": .number(1.5), "c": .string("x"),
                                       "d": .array([.null, .number(2)]), "e": .object(["f": .bool(false)])]))
        let again = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
        XCTAssertEqual(again, value)
    }
}
