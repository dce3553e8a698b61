import Foundation
import Hub
import Logging
import Options
import XCTest
import Protocol
import WinCLIP
@testable import CLI
@testable import Submit
@testable import Datasets

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

    /// The run fails before any work with an error of type `E` that `matches` accepts.
    func assertFails<E: Error>(_ type: E.Type, dataset: String? = nil, _ configure: (inout SubmitOptions) -> Void = { _ in },
                               file: StaticString = #filePath, line: UInt = #line, matches: (E) -> Bool) {
        XCTAssertThrowsError(try run(configure, dataset: dataset), file: file, line: line) { error in
            guard let typed = error as? E else { return XCTFail("\(Swift.type(of: error)): \(error) is not a \(E.self)", file: file, line: line) }
            XCTAssert(matches(typed), "\(typed)", file: file, line: line)
        }
    }

    func testMissingAndEmptyDatasets() throws {
        assertFails(DatasetError.self, dataset: "/nonexistent/dataset") { $0 == .missingFolder("/nonexistent/dataset") }
        let empty = try temporaryOutputFolder(self)
        try writeTestText(empty, "notes.txt")
        assertFails(DatasetError.self, dataset: empty.path) { if case .noImages(_, skipped: 1) = $0 { return true }; return false }
    }

    func testUnusableWeights() throws {
        let dir = try temporaryOutputFolder(self)
        let truncated = dir.appendingPathComponent("truncated.safetensors")
        try Data(contentsOf: URL(fileURLWithPath: weights)).prefix(5000).write(to: truncated)
        // SafeTensorsError and WeightsError carry only their sentence: the file's fault is in it.
        assertFails(SafeTensorsError.self, { $0.config.model.weights = truncated.path }) { $0.description.contains("truncated") }
        assertFails(HubError.self, { $0.config.model.weights = nil }) {
            if case .noWeightsGiven(modelConfig: self.modelJSON, _) = $0 { return true }
            return false
        }
        // Weights of another model config: the first mismatching tensor is named.
        assertFails(WeightsError.self, { $0.config.model.config = clusterFixtures.appendingPathComponent("tiny-vit-56-quickgelu.json").path }) {
            $0.description.contains("visual.conv1.weight")
        }
    }

    func testBadOptions() throws {
        // OptionsError carries only its sentence, which names the option and the limit.
        assertFails(OptionsError.self, { $0.config.winclip.scales = [2, 7] }) { $0.description.contains("window scale 7 exceeds the model's 6x6 patch grid") }
        assertFails(OptionsError.self, { $0.config.winclip.task = .classification; $0.kShot = 2 }) { $0.description.contains("few-shot classification") }
        assertFails(DatasetError.self, { $0.kShot = 10 }) {
            if case .notEnoughReferences(_, requested: 10, available: let available) = $0 { return available < 10 }
            return false
        }
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
