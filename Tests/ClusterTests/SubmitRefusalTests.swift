import Foundation
import Logging
import Options
import XCTest
import WinCLIP
@testable import Submit
import AnomalyMetrics

/// Combinations of options a submit refuses before any work, each a typed `SubmitRefusal`
/// naming the option to change.
final class SubmitRefusalTests: XCTestCase {
    let tile = clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path

    func refusal(_ o: SubmitOptions, file: StaticString = #filePath, line: UInt = #line) -> SubmitRefusal? {
        do { try runSubmit(o) } catch let refusal as SubmitRefusal { return refusal } catch {
            XCTFail("not a refusal: \(error)", file: file, line: line)
            return nil
        }
        XCTFail("not refused", file: file, line: line)
        return nil
    }

    func testNoWorkersAndMapsWithoutSegmentation() throws {
        let out = try temporaryOutputFolder(self).appendingPathComponent("out")
        var o = tinySubmitOptions(dataset: tile, output: out)
        o.workers = 0
        XCTAssertEqual(refusal(o), .noWorkers(requested: 0))
        o.workers = 1
        o.saveMaps = true
        o.config.winclip.task = .classification
        XCTAssertEqual(refusal(o), .mapsWithoutSegmentation)
        XCTAssert(SubmitRefusal.mapsWithoutSegmentation.description.contains("--save-maps"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "refused before anything was written")
    }

    func testResumeThatWouldMixRowsWithAndWithoutMapsIsRefused() throws {
        let withMaps = try temporaryOutputFolder(self).appendingPathComponent("maps")
        var o = tinySubmitOptions(dataset: tile, output: withMaps)
        o.saveMaps = true
        try runSubmit(o)
        let before = try Data(contentsOf: withMaps.appendingPathComponent("results.jsonl"))
        o.saveMaps = false
        o.resume = true
        XCTAssertEqual(refusal(o), .resumeMixesMaps(earlierSavedMaps: true))
        XCTAssertEqual(try Data(contentsOf: withMaps.appendingPathComponent("results.jsonl")), before, "nothing lost")
        XCTAssert(SubmitRefusal.resumeMixesMaps(earlierSavedMaps: true).description.contains("--save-maps"))

        let noMaps = try temporaryOutputFolder(self).appendingPathComponent("plain")
        var p = tinySubmitOptions(dataset: tile, output: noMaps)
        try runSubmit(p)
        p.saveMaps = true
        p.resume = true
        XCTAssertEqual(refusal(p), .resumeMixesMaps(earlierSavedMaps: false))
        // A folder from before job.json recorded --save-maps: its rows with maps tell.
        let recordURL = withMaps.appendingPathComponent(JobRecord.fileName)
        var record = try JSONDecoder().decode(JobRecord.self, from: Data(contentsOf: recordURL))
        record.saveMaps = nil
        try JSONEncoder().encode(record).write(to: recordURL)
        o.saveMaps = false
        XCTAssertEqual(refusal(o), .resumeMixesMaps(earlierSavedMaps: true))
    }

    /// --resume and --all-categories where they cannot apply: refused, nothing written.
    func testResumeAndBenchmarkOptionsWhereTheyCannotApply() throws {
        var o = tinySubmitOptions(dataset: tile, output: try temporaryOutputFolder(self).appendingPathComponent("unused"))
        o.output = nil
        o.resume = true
        XCTAssertEqual(refusal(o), .resumeWithoutOutput)

        let foreign = try temporaryOutputFolder(self).appendingPathComponent("foreign")
        try writeTestText(foreign, "results.jsonl", "{\"image\": \"a.png\", \"score\": 0.5}\n")
        let before = try Data(contentsOf: foreign.appendingPathComponent("results.jsonl"))
        o.output = foreign.path
        XCTAssertEqual(refusal(o), .resumeWithoutRecord(output: foreign.path))
        XCTAssertEqual(try Data(contentsOf: foreign.appendingPathComponent("results.jsonl")), before, "nothing lost")

        var all = tinySubmitOptions(dataset: tile, output: try temporaryOutputFolder(self).appendingPathComponent("all"))
        all.allCategories = true
        XCTAssertEqual(refusal(all), .notABenchmarkRoot(path: tile))
        // A root of two categories (copies of the fixture) with one class name for both.
        let root = try temporaryOutputFolder(self).appendingPathComponent("benchmark")
        for category in ["tile", "wood"] {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: URL(fileURLWithPath: tile), to: root.appendingPathComponent(category))
        }
        var named = tinySubmitOptions(dataset: root.path, output: try temporaryOutputFolder(self).appendingPathComponent("named"))
        named.config.winclip.className = "tile"
        XCTAssertEqual(refusal(named), .classNameForBenchmark)
        XCTAssertFalse(FileManager.default.fileExists(atPath: named.output!), "refused before anything was written")
    }

    func testThresholdsDifferencesAreNamed() throws {
        let options = JobOptions(className: "tile")
        let saved = Thresholds(image: .init(threshold: 0.5, min: 0, max: 1, source: .f1Optimal), pixel: nil,
                               fingerprint: "aaa", options: try JSONValue(encoding: options))
        XCTAssertEqual(try ThresholdsMismatch.between(saved, fingerprint: "aaa", options: options), [])
        var other = options
        other.className = "carpet"
        other.scales = [2]
        other.segmentAbove = 0.3  // decides which maps are made, not a score
        XCTAssertEqual(try ThresholdsMismatch.between(saved, fingerprint: "bbb", options: other),
                       [.fingerprint(file: "aaa", run: "bbb"), .className(file: "tile", run: "carpet"), .option(key: "scales", file: "[2,3]", run: "[2]")])
        let bare = Thresholds(image: saved.image, pixel: nil)
        XCTAssertEqual(try ThresholdsMismatch.between(bare, fingerprint: "aaa", options: options),
                       [.notRecorded("model fingerprint"), .notRecorded("job options")])
    }

    /// Through the job: another class is refused before any work; with
    /// --thresholds-from-other-run it is applied, and the terminal and report say so.
    func testThresholdsOfAnotherRunAreRefusedUnlessAskedFor() throws {
        let learned = try runTinySubmit(self) { _ in }
        let file = learned.appendingPathComponent("thresholds.json").path
        let out = try temporaryOutputFolder(self).appendingPathComponent("applied")
        var o = tinySubmitOptions(dataset: tile, output: out)
        o.thresholds = .file(file)
        o.config.winclip.className = "carpet"
        XCTAssertEqual(refusal(o), .thresholdsFromOtherRun(file: file, differences: [.className(file: "tile", run: "carpet")]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("results.jsonl").path), "refused before scoring")

        o.thresholdsFromOtherRun = true
        var printed: [String] = []
        let outcome = try SubmitRunner.run(o, logger: quietLogger(), print: { printed.append($0) })
        let warning = JobWarning.thresholdsFromOtherRun(file: file, differences: [.className(file: "tile", run: "carpet")])
        XCTAssertEqual(outcome.warnings, [warning])
        XCTAssert(printed.contains("warning: \(warning)"), "\(printed)")
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssert(html.contains("learned by another run") && html.contains("carpet"), "the report says the rule came from another run")
        XCTAssertNotNil(try readResults(out).values.first { $0.score != nil }, "scored")
        // The same class and options: applied without a word.
        var same = tinySubmitOptions(dataset: tile, output: try temporaryOutputFolder(self).appendingPathComponent("same"))
        same.thresholds = .file(file)
        XCTAssertEqual(try SubmitRunner.run(same, logger: quietLogger(), print: { _ in }).warnings, [])
    }
}

func quietLogger() -> Logging.Logger {
    var logger = Logging.Logger(label: "test")
    logger.logLevel = .critical
    return logger
}
