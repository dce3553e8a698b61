import Foundation
import Options
import XCTest
@testable import Outputs
@testable import Submit

/// `submit --resume`: an interrupted job continues into its folder and ends with exactly one
/// row per image, identical to an uninterrupted run.
final class ResumeTests: XCTestCase {
    let tile = clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path

    func rows(_ dir: URL) throws -> [String] {
        try String(contentsOf: dir.appendingPathComponent("results.jsonl"), encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// A complete run (2-shot, maps saved) to compare with.
    func fullRun() throws -> URL {
        var o = tinySubmitOptions(dataset: tile, output: try temporaryOutputFolder(self).appendingPathComponent("full"))
        o.kShot = 2
        o.saveMaps = true
        return try runSubmit(o)
    }

    func testTornLineMissingMapAndErrorRowsAreRedoneOnce() throws {
        let full = try fullRun()
        let expected = try readResults(full)
        // An "interrupted" copy: two rows kept, one of whose maps is gone, plus a torn line.
        let dir = try temporaryOutputFolder(self).appendingPathComponent("interrupted")
        try FileManager.default.copyItem(at: full, to: dir)
        let all = try rows(full)
        let scored = all.filter { !$0.contains("\"error\"") }
        let kept = [scored[0], scored[1], all.first { $0.contains("\"error\"") }!]
        try (kept.joined(separator: "\n") + "\n" + String(scored[2].prefix(25))).write(to: dir.appendingPathComponent("results.jsonl"), atomically: true, encoding: .utf8)
        let missingMap = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(scored[1].utf8)) as? [String: Any])?["map"] as? String)
        try FileManager.default.removeItem(at: dir.appendingPathComponent(missingMap))

        var o = tinySubmitOptions(dataset: tile, output: dir)
        o.kShot = 2
        o.saveMaps = true
        o.resume = true
        try runSubmit(o)
        let lines = try rows(dir)
        XCTAssertEqual(lines.count, expected.count, "one row per image")
        XCTAssertEqual(Set(lines.map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }.map { $0["image"] as! String }).count, expected.count)
        let resumed = try readResults(dir)
        for (image, row) in expected {
            XCTAssertEqual(resumed[image]?.score, row.score, image)
            XCTAssertEqual(resumed[image]?.error == nil, row.error == nil, image)
        }
        XCTAssert(FileManager.default.fileExists(atPath: dir.appendingPathComponent(missingMap).path), "the missing map was computed again")
        // Resuming a finished job changes nothing.
        try runSubmit(o)
        XCTAssertEqual(try rows(dir).count, expected.count)
        XCTAssertEqual(try readResults(dir).mapValues(\.score), resumed.mapValues(\.score))
    }

    func testOtherSettingsAreRefused() throws {
        let full = try fullRun()
        var o = tinySubmitOptions(dataset: tile, output: full)
        o.kShot = 2
        o.saveMaps = true
        o.resume = true
        o.config.winclip.scales = [2]
        XCTAssertThrowsError(try runSubmit(o)) {
            guard case .resumeDiffers(full.path, let differences)? = $0 as? SubmitRefusal, differences.count == 1,
                  case .options(let earlier, let now) = differences[0] else { return XCTFail("\($0)") }
            XCTAssertEqual(now.scales, [2])
            XCTAssertEqual(earlier.scales, [2, 3])
        }
        o.config.winclip.scales = [2, 3]
        o.kShot = 1
        XCTAssertThrowsError(try runSubmit(o)) {
            guard case .resumeDiffers(full.path, let differences)? = $0 as? SubmitRefusal, differences.count == 1,
                  case .references(let earlier, let now) = differences[0] else { return XCTFail("\($0)") }
            XCTAssertEqual(earlier.count, 2)
            XCTAssertEqual(now.count, 1)
        }
    }

    func testWithoutResumeAnExistingJobIsNotOverwritten() throws {
        let full = try fullRun()
        var o = tinySubmitOptions(dataset: tile, output: full)
        o.kShot = 2
        // ResultWriterError is only its sentence; what the user must read in it is how to go on.
        XCTAssertThrowsError(try runSubmit(o)) {
            XCTAssert($0 is ResultWriterError && "\($0)".contains("--resume"), "\($0)")
        }
    }
}
