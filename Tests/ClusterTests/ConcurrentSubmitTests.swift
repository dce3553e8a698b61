import Foundation
import Logging
import XCTest
@testable import Cluster
import Protocol
import WinCLIP

/// One coordinator, two submits at the same time (zero-shot and 2-shot): both complete with
/// anomalib's numbers.
final class ConcurrentSubmitTests: XCTestCase {
    final class Sink: SubmitSink, @unchecked Sendable {
        let lock = NSLock()
        var scores: [String: Float] = [:]
        func accepted(_ accepted: Accepted) {}
        func note(_ message: String) {}
        func image(_ item: DatasetItem, score: Float?, map: [Float]?, picture: RGBImage?, error: String?) throws {
            lock.lock(); defer { lock.unlock() }
            if let score { scores[item.relativePath] = score }
        }
    }

    func testTwoJobsAtOnce() throws {
        let tiny = try TinyFixtureModel()
        let model = tiny.model, fingerprint = tiny.fingerprint
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let cluster = try EmbeddedCluster(model: model, fingerprint: fingerprint, workers: 2, gemm: try OpenBLASBackend(threads: 1), logger: logger)
        defer { cluster.shutdown() }

        let dataset = try Dataset(path: clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path)
        let expected = try SafeTensorsFile(path: clusterFixtures.appendingPathComponent("mvtec-tiny/tile.winclip.safetensors").path)
        let images = try JSONDecoder().decode([String].self, from: Data(expected.metadata["images"]!.utf8))
        let cases: [(references: [URL], key: String)] = [([], "zero_scores"), (try dataset.references(kShot: 2), "few_scores")]
        let sinks = cases.map { _ in Sink() }
        final class Errors: @unchecked Sendable { let lock = NSLock(); var list: [String] = [] }
        let errors = Errors()
        let group = DispatchGroup()
        for (i, c) in cases.enumerated() {
            let job = SubmitJob(datasetRoot: dataset.root, items: dataset.items, className: dataset.className, references: c.references,
                                options: ScoringOptions(scales: [2, 3]), saveMaps: false, fingerprint: fingerprint)
            let client = SubmitClient(context: cluster.context, endpoint: cluster.endpoint, logger: logger)
            let sink = sinks[i]
            group.enter()
            Thread.detachNewThread {
                do { _ = try client.run(job, sink: sink) } catch {
                    errors.lock.lock(); errors.list.append("\(error)"); errors.lock.unlock()
                }
                group.leave()
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 120), .success)
        XCTAssertEqual(errors.list, [])
        for (i, c) in cases.enumerated() {
            let scores = try expected.floats(c.key)
            for (j, image) in images.enumerated() {
                XCTAssertEqual(try XCTUnwrap(sinks[i].scores[image]), scores[j], accuracy: 1e-5, "\(c.key) \(image)")
            }
        }
    }
}
