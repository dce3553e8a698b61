import Foundation
import Options
import XCTest
import WinCLIP

/// An image's windows are cut into batches that any idle worker may take; the cut does not
/// depend on the number of workers, so scores and maps are bit-identical for 1, 2 and 4, and
/// equal anomalib's (as it pins open_clip). `cross` keeps whole scales and equals anomalib on
/// open_clip 3.3.
final class WindowShardingTests: XCTestCase {
    func testBitIdenticalAcrossWorkerCountsAndEqualToAnomalib() throws {
        let tiny = try TinyFixtureModel()
        let plan = try ImagePlan(gridSize: tiny.config.vision.gridSize, imageSize: tiny.config.vision.imageSize, scales: [2, 3], attention: .window)
        XCTAssertGreaterThan(plan.units.count, 3, "the tiny model's windows must be cut into batches for this test to mean anything")
        var runs: [(rows: String, maps: [String: Data])] = []
        for workers in [1, 2, 4] {
            let out = try runTinySubmit(self) { $0.kShot = 2; $0.saveMaps = true; $0.workers = workers }
            let rows = try String(contentsOf: out.appendingPathComponent("results.jsonl"), encoding: .utf8)
                .split(separator: "\n").sorted().joined(separator: "\n")
            var maps: [String: Data] = [:]
            let mapDir = out.appendingPathComponent("maps")
            for case let url as URL in FileManager.default.enumerator(at: mapDir, includingPropertiesForKeys: nil)! where url.pathExtension == "npy" {
                maps[url.path.replacingOccurrences(of: mapDir.path, with: "")] = try Data(contentsOf: url)
            }
            XCTAssertEqual(maps.count, 4, "\(workers) worker(s): one map per decodable image")
            runs.append((rows, maps))
            if workers == 1 { try assertEqualsAnomalib(out, fewShot: true, mode: .window) }
        }
        for (i, run) in runs.enumerated().dropFirst() {
            XCTAssertEqual(run.rows, runs[0].rows, "results.jsonl with \([1, 2, 4][i]) workers differs from 1 worker")
            XCTAssertEqual(run.maps, runs[0].maps, "maps with \([1, 2, 4][i]) workers differ from 1 worker")
        }
    }

    func testCrossModeEqualsAnomalibOnNewerOpenCLIP() throws {
        let zero = try runTinySubmit(self) { $0.config.winclip.windowAttention = .cross; $0.saveMaps = true; $0.workers = 2 }
        try assertEqualsAnomalib(zero, fewShot: false, mode: .cross)
        let few = try runTinySubmit(self) { $0.config.winclip.windowAttention = .cross; $0.saveMaps = true; $0.workers = 2; $0.kShot = 2 }
        try assertEqualsAnomalib(few, fewShot: true, mode: .cross)
    }
}
