import Foundation
import XCTest
@testable import WinCLIP
@testable import AnomalyMetrics

/// `PixelMetricsAccumulator` spilled to disk in tiny runs and batches gives the same numbers as
/// in memory in one run (exactly: same thresholds, exact counts and share sums), anomalib's
/// numbers on the committed fixtures (within 1e-6), and a brute-force computation on random cases.
final class PixelMetricsAccumulatorTests: XCTestCase {
    typealias Tuning = PixelMetricsAccumulator.Tuning

    /// Tunings that force dozens of runs and batches for `pixels` pixels in all: sorted batches
    /// only, counted (dense) bins only, and a mix.
    static func tinyTunings(pixels: Int) -> [(name: String, tuning: Tuning)] {
        let chunk = max(5, pixels / 40)
        return [("sorted", Tuning(chunkPixels: chunk, batchPixels: 2 * chunk - 1, denseBinPixels: .max)),
                ("dense", Tuning(chunkPixels: chunk + 2, batchPixels: chunk, denseBinPixels: 1)),
                ("mixed", Tuning(chunkPixels: 3 * chunk, batchPixels: chunk, denseBinPixels: max(2, chunk / 8)))]
    }

    private var spillDirectory: URL!

    override func setUpWithError() throws {
        spillDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("pixel-metrics-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: spillDirectory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: spillDirectory)
    }

    /// Feeds every image through an accumulator with `tuning`, spilled to `spillDirectory`.
    private func streamed(_ maps: [[Float]], _ masks: [[Bool]], width: Int, height: Int, tuning: Tuning,
                          fprLimit: Double = 0.3, file: StaticString = #filePath, line: UInt = #line) throws -> PixelMetrics {
        let accumulator = try PixelMetricsAccumulator(width: width, height: height, spillDirectory: spillDirectory,
                                                      fprLimit: fprLimit, tuning: tuning)
        for (map, mask) in zip(maps, masks) { try accumulator.add(map: map, mask: mask) }
        let pixels = maps.count * width * height
        if pixels > 0 {
            XCTAssertEqual(accumulator.runCount, pixels / tuning.chunkPixels, "runs spilled before finish", file: file, line: line)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: spillDirectory.path), [],
                       "the spill file has no name", file: file, line: line)
        let result = try accumulator.finish()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: spillDirectory.path), [], file: file, line: line)
        return result
    }

    // MARK: - anomalib fixtures

    func testStreamingMatchesAnomalibFixtures() throws {
        let file = try Fixtures.open("metrics.safetensors")
        let cases = (file.metadata["pixel_cases"] ?? "").split(separator: ",").map(String.init)
        let degenerate = Set((file.metadata["degenerate"] ?? "").split(separator: ",").map(String.init))
        XCTAssertGreaterThanOrEqual(cases.count, 4)
        var worst = 0.0
        for name in cases {
            let prefix = "pixel.\(name)"
            let shape = try XCTUnwrap(file.shape("\(prefix).maps"))
            let (count, height, width) = (shape[0], shape[1], shape[2])
            let n = width * height
            let flatMaps = try file.floats("\(prefix).maps"), flatMasks = try file.floats("\(prefix).masks")
            let maps = (0..<count).map { Array(flatMaps[($0 * n)..<(($0 + 1) * n)]) }
            let masks = (0..<count).map { flatMasks[($0 * n)..<(($0 + 1) * n)].map { $0 != 0 } }
            for limit in [0.3, 1.0] {
                let inMemory = try AnomalyMetrics.pixelMetrics(maps: maps, masks: masks, width: width, height: height, fprLimit: limit)
                for (tuningName, tuning) in Self.tinyTunings(pixels: count * n) {
                    let s = try streamed(maps, masks, width: width, height: height, tuning: tuning, fprLimit: limit)
                    XCTAssertEqual(s, inMemory, "\(prefix) \(tuningName) limit \(limit): streamed vs in memory")
                }
                let anomalib = (auroc: try file.floats("\(prefix).auroc")[0], f1: try file.floats("\(prefix).f1_max")[0],
                                aupro: try file.floats(limit == 0.3 ? "\(prefix).aupro" : "\(prefix).aupro_fpr1")[0])
                if degenerate.contains(prefix) {
                    XCTAssertEqual(inMemory, PixelMetrics(auroc: nil, f1Max: nil, aupro: nil), prefix)
                    continue
                }
                for (value, expected, metric) in [(inMemory.auroc, anomalib.auroc, "AUROC"), (inMemory.f1Max, anomalib.f1, "F1Max"),
                                                  (inMemory.aupro, anomalib.aupro, "AUPRO(\(limit))")] {
                    let v = try XCTUnwrap(value, "\(prefix) \(metric)")
                    worst = max(worst, abs(v - Double(expected)))
                    XCTAssertEqual(v, Double(expected), accuracy: 1e-6, "\(prefix) \(metric) vs anomalib")
                }
            }
        }
        print("parity streamed pixel metrics: max |diff| vs anomalib = \(worst)")
    }

    // MARK: - random cases

    func testRandomCasesMatchBruteForce() throws {
        var rng = SplitMix64(seed: 20240611)
        for trial in 0..<40 {
            let width = Int.random(in: 1...9, using: &rng), height = Int.random(in: 1...9, using: &rng)
            let count = Int.random(in: 1...7, using: &rng)
            // Few levels: many ties, also across the classes.
            let levels = [2, 5, 50, 0][trial % 4]
            var maps: [[Float]] = [], masks: [[Bool]] = []
            for image in 0..<count {
                let density = [0.0, 0.2, 0.5, 1.0][(trial + image) % 4]
                let mask = (0..<(width * height)).map { _ in Double.random(in: 0..<1, using: &rng) < density }
                let map = mask.map { m -> Float in
                    let v = Float.random(in: 0...1, using: &rng) * 0.8 + (m ? 0.2 : 0)
                    return levels == 0 ? v : (v * Float(levels)).rounded() / Float(levels)
                }
                maps.append(map)
                masks.append(mask)
            }
            let label = "trial \(trial): \(count) x \(width)x\(height), \(levels) levels"
            let expected = BruteForce.metrics(maps: maps, masks: masks, width: width, height: height, fprLimit: 0.3)
            let inMemory = try AnomalyMetrics.pixelMetrics(maps: maps, masks: masks, width: width, height: height)
            assertEqual(inMemory, expected, accuracy: 1e-12, label)
            for (name, tuning) in Self.tinyTunings(pixels: count * width * height) {
                XCTAssertEqual(try streamed(maps, masks, width: width, height: height, tuning: tuning), inMemory, "\(label) \(name)")
            }
        }
    }

    /// Scores over many bins and runs, with the standard chunk size against one forcing dozens
    /// of runs and a dense bin holding a tie of every image.
    func testManyImagesManyRunsEqualInMemory() throws {
        var rng = SplitMix64(seed: 7)
        let size = 24
        var maps: [[Float]] = [], masks: [[Bool]] = []
        for image in 0..<40 {
            var mask = [Bool](repeating: false, count: size * size)
            if image % 2 == 1 {
                let (cx, cy, r) = (Int.random(in: 4..<20, using: &rng), Int.random(in: 4..<20, using: &rng), Int.random(in: 1...4, using: &rng))
                for y in 0..<size { for x in 0..<size where (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r { mask[y * size + x] = true } }
            }
            // Continuous scores, a block of exact zeros (one long tie) and logit-free range.
            let map = (0..<(size * size)).map { i -> Float in
                i % size < 3 ? 0 : Float.random(in: 0..<0.7, using: &rng) + (mask[i] ? 0.3 : 0)
            }
            maps.append(map)
            masks.append(mask)
        }
        let inMemory = try AnomalyMetrics.pixelMetrics(maps: maps, masks: masks, width: size, height: size)
        let tuning = Tuning(chunkPixels: 1000, batchPixels: 700, denseBinPixels: 500)
        XCTAssertEqual(try streamed(maps, masks, width: size, height: size, tuning: tuning), inMemory)
        // Image order does not matter (the region shares are summed exactly).
        XCTAssertEqual(try streamed(maps.reversed(), masks.reversed(), width: size, height: size, tuning: tuning), inMemory)
    }

    // MARK: - edge cases

    func testTiesAllNormalAllAnomalous() throws {
        let w = 4, h = 3
        let tie = [Float](repeating: 0.5, count: w * h)
        var region = [Bool](repeating: false, count: w * h)
        region[5] = true
        region[6] = true
        // Every score equal: one threshold. AUROC 1/2; F1 = 2P / (P + N + P) with P = 2, N = 34;
        // the PRO curve jumps from (0, 0) to (1, 1): at FPR 0.3, PRO 0.3, area 0.045, / 0.3.
        let maps = [tie, tie, tie], masks = [region, [Bool](repeating: false, count: w * h), [Bool](repeating: false, count: w * h)]
        for (name, tuning) in Self.tinyTunings(pixels: 3 * w * h) + [("standard", .standard)] {
            let m = try streamed(maps, masks, width: w, height: h, tuning: tuning)
            XCTAssertEqual(m.auroc!, 0.5, accuracy: 1e-15, name)
            XCTAssertEqual(m.f1Max!, 4.0 / 38, accuracy: 1e-15, name)
            XCTAssertEqual(m.aupro!, 0.15, accuracy: 1e-7, name)
        }
        // -0.0 and +0.0 are one threshold.
        let signed = try AnomalyMetrics.pixelMetrics(maps: [[-0.0, 0.0, 1]], masks: [[true, false, false]], width: 3, height: 1)
        XCTAssertEqual(signed.auroc!, 0.25, accuracy: 1e-15)

        let noAnomaly = [[Bool]](repeating: [Bool](repeating: false, count: w * h), count: 3)
        let allAnomalous = [[Bool]](repeating: [Bool](repeating: true, count: w * h), count: 3)
        let ramp = (0..<(w * h)).map { Float($0) / Float(w * h) }
        for (name, tuning) in Self.tinyTunings(pixels: 3 * w * h) {
            XCTAssertEqual(try streamed([ramp, ramp, tie], noAnomaly, width: w, height: h, tuning: tuning),
                           PixelMetrics(auroc: nil, f1Max: nil, aupro: nil), "all normal, \(name)")
            // All anomalous: no normal pixel, and (anomalib's quirk) no region either.
            XCTAssertEqual(try streamed([ramp, ramp, tie], allAnomalous, width: w, height: h, tuning: tuning),
                           PixelMetrics(auroc: nil, f1Max: nil, aupro: nil), "all anomalous, \(name)")
            XCTAssertEqual(try streamed([], [], width: w, height: h, tuning: tuning), PixelMetrics(auroc: nil, f1Max: nil, aupro: nil))
        }
        // Masks without background next to a mask with a region: AUROC and F1Max count those
        // pixels as anomalous, AUPRO as normal (no other normal pixel here).
        var full = [Bool](repeating: true, count: w * h)
        full[0] = false
        let quirk = try AnomalyMetrics.pixelMetrics(maps: [ramp, ramp], masks: [[Bool](repeating: true, count: w * h), full], width: w, height: h)
        XCTAssertNotNil(quirk.aupro)
        XCTAssertNotNil(quirk.auroc)
    }

    /// Scores outside [0, 1] make AUROC go through a sigmoid (as torchmetrics does), streamed
    /// or not; the pixel AUROC equals the flat image-level AUROC of the same samples.
    func testLogitScoresMatchFlatAUROC() throws {
        var rng = SplitMix64(seed: 3)
        let w = 5, h = 5
        var maps: [[Float]] = [], masks: [[Bool]] = []
        for _ in 0..<6 {
            let mask = (0..<(w * h)).map { _ in Double.random(in: 0..<1, using: &rng) < 0.3 }
            maps.append(mask.map { (Float.random(in: -4...30, using: &rng) + ($0 ? 5 : 0)).rounded() })
            masks.append(mask)
        }
        let flat = AnomalyMetrics.sweep(scores: maps.flatMap { $0 }, labels: masks.flatMap { $0 })
        for (name, tuning) in Self.tinyTunings(pixels: 6 * w * h) {
            let m = try streamed(maps, masks, width: w, height: h, tuning: tuning)
            XCTAssertEqual(m.auroc, flat.auroc, name)
            XCTAssertEqual(m.f1Max, flat.f1Max, name)
        }
    }

    func testBadInputThrows() throws {
        let accumulator = try PixelMetricsAccumulator(width: 2, height: 2, spillDirectory: spillDirectory)
        XCTAssertThrowsError(try accumulator.add(map: [0.1, 0.2, 0.3], mask: [false, false, false, true])) {
            XCTAssertEqual("\($0)", "pixel metrics: image 1 has a map of 3 and a mask of 4 values, expected 2 x 2 = 4")
        }
        XCTAssertThrowsError(try accumulator.add(map: [0.1, 0.2, 0.3, 0.4], mask: [false]))
        try accumulator.add(map: [0.1, 0.2, 0.3, 0.4], mask: [false, false, false, true])
        XCTAssertEqual(accumulator.imageCount, 1)
        _ = try accumulator.finish()
        XCTAssertThrowsError(try accumulator.finish()) { XCTAssertEqual("\($0)", "pixel metrics: finish() was called twice") }
        XCTAssertThrowsError(try accumulator.add(map: [0.1, 0.2, 0.3, 0.4], mask: [false, false, false, true])) {
            XCTAssertEqual("\($0)", "pixel metrics: an image was added after finish()")
        }
        let missing = spillDirectory.appendingPathComponent("missing")
        XCTAssertThrowsError(try PixelMetricsAccumulator(width: 2, height: 2, spillDirectory: missing)) {
            XCTAssertEqual("\($0)", "pixel metrics: cannot create a spill file in \(missing.path): No such file or directory")
        }
        XCTAssertThrowsError(try PixelMetricsAccumulator(width: 1 << 16, height: 1 << 16, spillDirectory: nil))
        XCTAssertThrowsError(try PixelMetricsAccumulator(width: 2, height: 2, spillDirectory: nil,
                                                         tuning: Tuning(chunkPixels: 0, batchPixels: 1, denseBinPixels: 1)))
        XCTAssertThrowsError(try AnomalyMetrics.pixelMetrics(maps: [[0.5]], masks: [], width: 1, height: 1)) {
            XCTAssertEqual("\($0)", "pixel metrics: 1 maps but 0 masks")
        }
    }

    // MARK: - helpers

    private func assertEqual(_ a: PixelMetrics, _ b: PixelMetrics, accuracy: Double, _ label: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        for (x, y, metric) in [(a.auroc, b.auroc, "AUROC"), (a.f1Max, b.f1Max, "F1Max"), (a.aupro, b.aupro, "AUPRO")] {
            switch (x, y) {
            case (nil, nil): continue
            case let (x?, y?): XCTAssertEqual(x, y, accuracy: accuracy, "\(label) \(metric)", file: file, line: line)
            default: XCTFail("\(label) \(metric): \(String(describing: x)) vs \(String(describing: y))", file: file, line: line)
            }
        }
    }
}

/// The metrics counted the slow way, for scores in [0, 1]: AUROC over every (anomalous, normal)
/// pair, F1 and the PRO point at every distinct score by counting the pixels at or above it,
/// regions by flood fill.
enum BruteForce {
    struct Pixel {
        var score: Float
        var anomalous: Bool
        /// Global region id; nil for a normal pixel or one of a mask without background.
        var region: Int?
    }

    static func metrics(maps: [[Float]], masks: [[Bool]], width: Int, height: Int, fprLimit: Double) -> PixelMetrics {
        var pixels: [Pixel] = []
        var sizes: [Int] = []
        for (map, mask) in zip(maps, masks) {
            let regions = flood(mask, width: width, height: height)
            let noBackground = !mask.contains(false)
            for i in map.indices {
                var p = Pixel(score: map[i], anomalous: mask[i], region: nil)
                if let r = regions.labels[i], !noBackground { p.region = sizes.count + r }
                pixels.append(p)
            }
            if !noBackground { sizes += regions.sizes }
        }
        let positives = pixels.filter(\.anomalous), negatives = pixels.filter { !$0.anomalous }
        var auroc: Double?, f1: Double?
        if !positives.isEmpty && !negatives.isEmpty {
            var pairs = 0.0
            for p in positives { for n in negatives { pairs += p.score > n.score ? 1 : p.score == n.score ? 0.5 : 0 } }
            auroc = pairs / Double(positives.count * negatives.count)
            f1 = Set(pixels.map(\.score)).map { t -> Double in
                let tp = positives.filter { $0.score >= t }.count, fp = negatives.filter { $0.score >= t }.count
                return 2 * Double(tp) / Double(tp + fp + positives.count)
            }.max()
        }
        return PixelMetrics(auroc: auroc, f1Max: f1, aupro: aupro(pixels, sizes: sizes, fprLimit: fprLimit))
    }

    static func aupro(_ pixels: [Pixel], sizes: [Int], fprLimit: Double) -> Double? {
        let normals = pixels.filter { $0.region == nil }
        guard !sizes.isEmpty, !normals.isEmpty else { return nil }
        let limit = Float(fprLimit)
        var points: [(fpr: Float, pro: Float)] = [(0, 0)]
        for t in Set(pixels.map(\.score)).sorted(by: >) {
            let fp = normals.filter { $0.score >= t }.count
            var share = 0.0
            for p in pixels where p.score >= t { if let r = p.region { share += Double(Float(1) / Float(sizes[r])) } }
            points.append((min(Float(fp) / Float(normals.count), 1), min(Float(share) / Float(sizes.count), 1)))
        }
        // Keep the points up to the limit; interpolate the first one past it.
        var kept = points.filter { $0.fpr <= limit }
        if let past = points.first(where: { $0.fpr > limit }), let last = kept.last, last.fpr < limit {
            kept.append((limit, last.pro + (past.pro - last.pro) * (limit - last.fpr) / (past.fpr - last.fpr)))
        }
        var area = 0.0
        for k in 1..<kept.count {
            area += (Double(kept[k].fpr) - Double(kept[k - 1].fpr)) * (Double(kept[k].pro) + Double(kept[k - 1].pro)) / 2
        }
        return area / Double(kept.last!.fpr)
    }

    /// 8-connected regions: a label per pixel (nil for background) and each region's size.
    static func flood(_ mask: [Bool], width: Int, height: Int) -> (labels: [Int?], sizes: [Int]) {
        var labels = [Int?](repeating: nil, count: mask.count)
        var sizes: [Int] = []
        for start in mask.indices where mask[start] && labels[start] == nil {
            let id = sizes.count
            var stack = [start], size = 0
            labels[start] = id
            while let i = stack.popLast() {
                size += 1
                let (x, y) = (i % width, i / width)
                for dy in -1...1 {
                    for dx in -1...1 {
                        let (nx, ny) = (x + dx, y + dy)
                        guard nx >= 0, nx < width, ny >= 0, ny < height else { continue }
                        let j = ny * width + nx
                        if mask[j] && labels[j] == nil { labels[j] = id; stack.append(j) }
                    }
                }
            }
            sizes.append(size)
        }
        return (labels, sizes)
    }
}

/// A small seeded generator, so that the random cases are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce5_e4b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
