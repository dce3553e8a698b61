import Foundation
import Logging
import Options
import XCTest
import Protocol
import WinCLIP
@testable import CLI
@testable import Submit

/// Bad input stops a job before any work, with a message that says what is wrong.
final class SubmitErrorTests: XCTestCase {
    let modelJSON = clusterFixtures.appendingPathComponent("tiny-vit-48.json").path
    let weights = clusterFixtures.appendingPathComponent("tiny-vit-48.safetensors").path
    let dataset = clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path

    func run(_ configure: (inout SubmitOptions) -> Void, dataset: String? = nil) throws {
        var o = SubmitOptions(dataset: dataset ?? self.dataset)
        o.config.model.config = modelJSON
        o.config.model.weights = weights
        o.progress = false
        o.workers = 1
        o.output = try temporaryOutputFolder(self).appendingPathComponent("out").path
        configure(&o)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        _ = try SubmitRunner.run(o, logger: logger, print: { _ in })
    }

    func assertFails(_ expected: String, dataset: String? = nil, _ configure: (inout SubmitOptions) -> Void = { _ in },
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try run(configure, dataset: dataset), file: file, line: line) { error in
            XCTAssert("\(error)".contains(expected), "'\(error)' should say '\(expected)'", file: file, line: line)
        }
    }

    func testMissingAndEmptyDatasets() throws {
        assertFails("does not exist", dataset: "/nonexistent/dataset")
        let empty = try temporaryOutputFolder(self)
        try writeTestText(empty, "notes.txt")
        assertFails("no image", dataset: empty.path)
    }

    func testUnusableWeights() throws {
        let dir = try temporaryOutputFolder(self)
        let truncated = dir.appendingPathComponent("truncated.safetensors")
        try Data(contentsOf: URL(fileURLWithPath: weights)).prefix(5000).write(to: truncated)
        assertFails("truncated") { $0.config.model.weights = truncated.path }
        assertFails("no weights given") { $0.config.model.weights = nil }
        // Weights of another model config: the first mismatching tensor is named.
        assertFails("visual.conv1.weight") { $0.config.model.config = clusterFixtures.appendingPathComponent("tiny-vit-56-quickgelu.json").path }
    }

    func testBadOptions() throws {
        assertFails("window scale 7 exceeds the model's 6x6 patch grid") { $0.config.winclip.scales = [2, 7] }
        assertFails("few-shot classification") { $0.config.winclip.task = .classification; $0.kShot = 2 }
        assertFails("needs 10 reference images") { $0.kShot = 10 }
    }

    func testAttentionNamesOnTheCommandLine() throws {
        XCTAssertEqual(try JobFlags.parse(["--window-attention", "cross"]).windowAttention, .cross)
        XCTAssertThrowsError(try JobFlags.parse(["--window-attention", "anomalib"])) {
            XCTAssert(JobFlags.message(for: $0).contains("'anomalib' was renamed"), JobFlags.message(for: $0))
        }
        XCTAssertThrowsError(try JobFlags.parse(["--window-attention", "sideways"])) {
            XCTAssert(JobFlags.message(for: $0).contains("unknown window attention 'sideways'; modes: window, cross"), JobFlags.message(for: $0))
        }
        var options = JobOptions()
        try JobFlags.parse(["--scales", "2,4", "--task", "classification", "--class-name", "bolt"]).apply(to: &options)
        XCTAssertEqual(options, JobOptions(className: "bolt", scales: [2, 4], task: .classification))
    }
}
