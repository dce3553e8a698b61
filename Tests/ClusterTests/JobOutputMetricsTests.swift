import Foundation
import XCTest
import WinCLIP
@testable import Datasets
@testable import Outputs
@testable import Protocol
@testable import Submit
import AnomalyMetrics

/// JobOutput feeds the pixel metrics as results arrive (in any order, masks loaded then) and
/// gets what `MetricsReport.compute` gives for all maps and masks in memory.
final class JobOutputMetricsTests: XCTestCase {
    private let size = 24

    private func randomMap(_ rng: inout SystemRandomNumberGenerator) -> [Float] {
        (0..<(size * size)).map { _ in Float.random(in: 0...1, using: &rng).rounded(toPlaces: 2) }
    }

    func testPixelMetricsAsResultsArriveEqualInMemory() throws {
        let dataset = try Dataset(path: clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path)
        XCTAssertTrue(dataset.items.contains { $0.label == 1 && $0.maskURL != nil })
        XCTAssertTrue(dataset.items.contains { $0.label == 0 })
        let folder = try temporaryOutputFolder(self)
        let writer = try ResultWriter(directory: folder, datasetName: dataset.name, images: dataset.items.map(\.relativePath))
        let output = JobOutput(writer: writer, saveMaps: false, keepMapsForMetrics: true, progress: nil, note: { _ in })
        output.accepted(Accepted(job: 1, imageSize: size, fingerprint: "f", model: "m", credit: 1))
        var rng = SystemRandomNumberGenerator()
        var maps: [String: [Float]] = [:], scores: [String: Float] = [:]
        for item in dataset.items {
            maps[item.relativePath] = randomMap(&rng)
            scores[item.relativePath] = Float.random(in: 0...1, using: &rng)
        }
        // Results arrive in another order than the dataset's.
        for item in dataset.items.reversed() {
            try output.image(item, .scored(score: scores[item.relativePath]!, map: maps[item.relativePath]), picture: nil)
        }
        try writer.close()
        let report = try XCTUnwrap(try output.metrics(items: dataset.items))

        let items = dataset.items
        let expected = try MetricsReport.compute(
            scores: items.map { scores[$0.relativePath]! }, labels: items.map { $0.label == 1 },
            maps: items.map { maps[$0.relativePath]! },
            masks: try items.map { try XCTUnwrap(try MaskLoader.mask(for: $0, size: size)) },
            width: size, height: size)
        XCTAssertNotNil(expected.pixelAUPRO)
        XCTAssertEqual(report, expected)
        // The spill file never shows in the output folder.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["results.jsonl"])
    }

    /// Pixel metrics need every labelled image's map, and a mask for every anomalous one.
    func testNoPixelMetricsWithoutMaskOrMap() throws {
        let dataset = try Dataset(path: clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path)
        let good = try XCTUnwrap(dataset.items.firstIndex { $0.label == 0 })
        let anomalous = try XCTUnwrap(dataset.items.firstIndex { $0.maskURL != nil })
        var rng = SystemRandomNumberGenerator()
        for missing in ["nothing", "map", "mask"] {
            var items = dataset.items
            if missing == "mask" {
                let item = items[anomalous]
                items[anomalous] = DatasetItem(relativePath: item.relativePath, url: item.url, label: 1, maskURL: nil)
            }
            let folder = try temporaryOutputFolder(self)
            let writer = try ResultWriter(directory: folder, datasetName: dataset.name, images: items.map(\.relativePath))
            let output = JobOutput(writer: writer, saveMaps: false, keepMapsForMetrics: true, progress: nil, note: { _ in })
            output.accepted(Accepted(job: 1, imageSize: size, fingerprint: "f", model: "m", credit: 1))
            for (i, item) in items.enumerated() {
                let map = missing == "map" && i == good ? nil : randomMap(&rng)
                try output.image(item, .scored(score: Float.random(in: 0...1, using: &rng), map: map), picture: nil)
            }
            try writer.close()
            let report = try XCTUnwrap(try output.metrics(items: items))
            XCTAssertNotNil(report.imageAUROC, missing)
            XCTAssertEqual(report.pixelAUROC == nil, missing != "nothing", missing)
            XCTAssertEqual(report.pixelAUPRO == nil, missing != "nothing", missing)
        }
    }
}

private extension Float {
    func rounded(toPlaces places: Int) -> Float {
        let scale = Float(pow(10, Double(places)))
        return (self * scale).rounded() / scale
    }
}
