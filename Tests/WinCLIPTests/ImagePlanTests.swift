import Options
import XCTest
@testable import WinCLIP

/// How an image is cut into units, and how units are put back together.
final class ImagePlanTests: XCTestCase {
    func testFullSizePlan() throws {
        // ViT-B-16-plus-240: grid 15, 226 tokens; scale 2 = 196 windows of 5 rows, scale 3 = 169 of 10.
        let plan = try ImagePlan(gridSize: 15, imageSize: 240, scales: [2, 3], attention: .window)
        XCTAssertEqual(plan.windowsPerScale, [196, 169])
        XCTAssertEqual(plan.units.first, .full)
        var covered: [[Int]] = [[], []]
        for case let .windows(s, range) in plan.units {
            XCTAssertLessThanOrEqual(range.count * (plan.scales[s] * plan.scales[s] + 1), ImagePlan.defaultRowsPerUnit(gridSize: 15))
            covered[s] += Array(range)
        }
        XCTAssertEqual(covered[0], Array(0..<196))
        XCTAssertEqual(covered[1], Array(0..<169))
        XCTAssertEqual(plan.units.count, 1 + 3 + 4)
        // Batches of one scale differ by at most one window.
        let sizes = plan.units.compactMap { unit -> Int? in if case let .windows(1, r) = unit { return r.count }; return nil }
        XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
    }

    func testCrossKeepsWholeScales() throws {
        let plan = try ImagePlan(gridSize: 15, imageSize: 240, scales: [2, 3], attention: .cross, rowsPerUnit: 10)
        XCTAssertEqual(plan.units, [.full, .windows(scaleIndex: 0, windows: 0..<196), .windows(scaleIndex: 1, windows: 0..<169)])
    }

    func testBadScalesAreRefused() {
        XCTAssertThrowsError(try ImagePlan(gridSize: 6, imageSize: 48, scales: [], attention: .window))
        XCTAssertThrowsError(try ImagePlan(gridSize: 6, imageSize: 48, scales: [7], attention: .window)) {
            XCTAssert("\($0)".contains("exceeds"), "\($0)")
        }
        XCTAssertThrowsError(try ImagePlan(gridSize: 6, imageSize: 48, scales: [0], attention: .window))
    }

    func testAttentionNames() throws {
        XCTAssertEqual(try WindowAttention.parse("window"), .window)
        XCTAssertEqual(try WindowAttention.parse("cross"), .cross)
        XCTAssertEqual(WindowAttention.default, .window)
        XCTAssertThrowsError(try WindowAttention.parse("anomalib")) { XCTAssert("\($0)".contains("renamed") && "\($0)".contains("cross"), "\($0)") }
        XCTAssertThrowsError(try WindowAttention.parse("sideways")) { XCTAssert("\($0)".contains("window, cross"), "\($0)") }
    }

    func testAssemblyRefusesBadUnits() throws {
        let plan = try ImagePlan(gridSize: 3, imageSize: 48, scales: [2], attention: .window, rowsPerUnit: 10)
        XCTAssertEqual(plan.units, [.full, .windows(scaleIndex: 0, windows: 0..<2), .windows(scaleIndex: 0, windows: 2..<4)])
        var a = ImageAssembly(plan: plan, fewShot: false)
        XCTAssertThrowsError(try a.add(.full, .full(imageScore: .nan, fewShotPatches: nil))) { XCTAssert("\($0)".contains("non-finite"), "\($0)") }
        XCTAssertThrowsError(try a.add(.windows(scaleIndex: 0, windows: 0..<2), .windows(zeroShot: [0.5], fewShot: nil))) { XCTAssert("\($0)".contains("1 scores for 2"), "\($0)") }
        XCTAssertThrowsError(try a.add(.windows(scaleIndex: 0, windows: 0..<3), .windows(zeroShot: [0.5, 0.5, 0.5], fewShot: nil)))
        XCTAssertThrowsError(try a.add(.full, .windows(zeroShot: [0.5], fewShot: nil)))
        try a.add(.full, .full(imageScore: 0.25, fewShotPatches: nil))
        XCTAssertThrowsError(try a.add(.full, .full(imageScore: 0.25, fewShotPatches: nil)), "a unit counts once")
        try a.add(.windows(scaleIndex: 0, windows: 2..<4), .windows(zeroShot: [0.1, 0.2], fewShot: nil))
        XCTAssertFalse(a.isComplete)
        XCTAssertNil(a.result)
        try a.add(.windows(scaleIndex: 0, windows: 0..<2), .windows(zeroShot: [0.3, 0.4], fewShot: nil))
        let expected = plan.assembler.assemble(ImageWindowScores(imageScore: 0.25, zeroShot: [[0.3, 0.4, 0.1, 0.2]], fewShotPatches: nil, fewShot: nil))
        XCTAssertEqual(a.result, expected)
        XCTAssertEqual(a.result?.map?.count, 48 * 48)
    }
}

/// Which images get a map: every one, none (classification), or those scoring above a line.
final class MapPolicyTests: XCTestCase {
    let plan = try! ImagePlan(gridSize: 3, imageSize: 48, scales: [2], attention: .window, rowsPerUnit: 10)

    func testClassificationRunsTheFullPassOnly() throws {
        var a = ImageAssembly(plan: plan, fewShot: false, mapPolicy: MapPolicy(options: JobOptions(task: .classification)))
        XCTAssertEqual(a.initialUnits, [.full])
        XCTAssertEqual(try a.add(.full, .full(imageScore: 0.7, fewShotPatches: nil)), [])
        XCTAssertEqual(a.result, AnomalyResult(score: 0.7, map: nil, size: 48))
    }

    func testSegmentAboveAddsWindowsOnlyAboveTheLine() throws {
        let policy = MapPolicy(options: JobOptions(segmentAbove: 0.5))
        XCTAssertEqual(policy, .whenScoreAtLeast(0.5))
        var low = ImageAssembly(plan: plan, fewShot: false, mapPolicy: policy)
        XCTAssertEqual(low.initialUnits, [.full])
        XCTAssertEqual(try low.add(.full, .full(imageScore: 0.4, fewShotPatches: nil)), [])
        XCTAssertNil(low.result?.map)
        var high = ImageAssembly(plan: plan, fewShot: false, mapPolicy: policy)
        XCTAssertEqual(try high.add(.full, .full(imageScore: 0.5, fewShotPatches: nil)), Array(plan.windowUnits))
        XCTAssertNil(high.result, "windows still pending")
        try high.add(.windows(scaleIndex: 0, windows: 0..<2), .windows(zeroShot: [0.3, 0.4], fewShot: nil))
        try high.add(.windows(scaleIndex: 0, windows: 2..<4), .windows(zeroShot: [0.1, 0.2], fewShot: nil))
        XCTAssertEqual(high.result?.map?.count, 48 * 48)
    }

    func testFewShotAlwaysNeedsTheWindows() {
        let a = ImageAssembly(plan: plan, fewShot: true, mapPolicy: .never)
        XCTAssertEqual(a.initialUnits, plan.units)
    }

    func testOptionsThatCannotWorkTogether() {
        XCTAssertThrowsError(try JobOptions(task: .classification).validate(referenceCount: 2)) { XCTAssert("\($0)".contains("few-shot classification"), "\($0)") }
        XCTAssertThrowsError(try JobOptions(segmentAbove: 0.5).validate(referenceCount: 1)) { XCTAssert("\($0)".contains("zero-shot only"), "\($0)") }
        XCTAssertThrowsError(try JobOptions(task: .classification, segmentAbove: 0.5).validate(referenceCount: 0))
        XCTAssertThrowsError(try JobOptions(scales: [2, 2]).validate(referenceCount: 0))
        XCTAssertThrowsError(try JobOptions(scales: [2, 9]).validate(referenceCount: 0, gridSize: 6)) { XCTAssert("\($0)".contains("exceeds"), "\($0)") }
        XCTAssertNoThrow(try JobOptions(scales: [2, 3]).validate(referenceCount: 2, gridSize: 6))
    }
}
