import Foundation
import XCTest
@testable import Submit
@testable import Transport

/// Ctrl-C: the error names the exact command that resumes; a resumed job's throughput counts
/// only the images it computed.
final class SubmitInterruptTests: XCTestCase {
    let tile = clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path

    func testTheResumeCommandIsTheCommandLineWithResumeAndOutput() {
        XCTAssertEqual(JobInterrupted.resumeCommand(["winclip-coord", "submit", "data set", "--k-shot", "2", "--output", "old", "--save-maps"], output: "/r/out"),
                       "winclip-coord submit 'data set' --k-shot 2 --save-maps --resume --output /r/out")
        XCTAssertEqual(JobInterrupted.resumeCommand(["/b/winclip-coord", "submit", "d", "--output=o", "--resume"], output: "/it's"),
                       #"/b/winclip-coord submit d --resume --output '/it'\''s'"#)
    }

    func testInterruptingAJobPrintsTheCommandThatResumesIt() throws {
        let out = try temporaryOutputFolder(self).appendingPathComponent("out")
        var o = tinySubmitOptions(dataset: tile, output: out)
        o.arguments = ["winclip-coord", "submit", tile, "--workers", "1"]
        let stop = StopSignal()
        // Ctrl-C once the job is under way (its folder exists).
        let printed: (String) -> Void = { if $0.hasPrefix("scoring ") { stop.request() } }
        XCTAssertThrowsError(try SubmitRunner.run(o, logger: quietLogger(), stop: stop, print: printed)) { error in
            guard let interrupted = error as? JobInterrupted else { return XCTFail("\(error)") }
            XCTAssertEqual(interrupted.output, out.path)
            XCTAssertEqual(interrupted.resumeCommand, "winclip-coord submit \(tile) --workers 1 --resume --output \(out.path)")
            // What the user reads must hold the command itself (the contract of this message).
            XCTAssert(interrupted.description.contains(interrupted.resumeCommand!))
        }
        // What that command does: continue the job into the same folder.
        o.resume = true
        XCTAssertNoThrow(try runSubmit(o))
        XCTAssertEqual(try readResults(out).count, 5)
    }

    func testAResumedJobsThroughputCountsOnlyWhatItComputed() throws {
        let out = try runTinySubmit(self) { _ in }
        let lines = try String(contentsOf: out.appendingPathComponent("results.jsonl"), encoding: .utf8).split(separator: "\n")
        let scored = lines.filter { !$0.contains("\"error\"") }
        try (scored.prefix(2).joined(separator: "\n") + "\n").write(to: out.appendingPathComponent("results.jsonl"), atomically: true, encoding: .utf8)
        var o = tinySubmitOptions(dataset: tile, output: out)
        o.resume = true
        var printed: [String] = []
        let outcome = try SubmitRunner.run(o, logger: quietLogger(), print: { printed.append($0) })
        XCTAssertEqual(outcome.scoredNow, scored.count - 2, "the two kept rows were not scored again")
        XCTAssertEqual(outcome.summary.scored + outcome.summary.failed, lines.count, "the summary still counts every row")
        XCTAssertEqual(outcome.imagesPerSecond, Double(scored.count - 2) / outcome.summary.seconds, accuracy: 1e-9)
        // The closing line printed to the user (its wording is the contract here).
        XCTAssertNotNil(printed.first { $0.contains("2 restored by --resume") }, "\(printed)")
    }
}
