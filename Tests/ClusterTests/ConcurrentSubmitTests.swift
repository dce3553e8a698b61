import Foundation
import Synchronization
import Logging
import Options
import XCTest
import Protocol
import WinCLIP
@testable import Datasets
@testable import Submit
@testable import Worker

/// One coordinator, two submits at the same time (zero-shot and 2-shot): both complete with
/// anomalib's numbers.
final class ConcurrentSubmitTests: XCTestCase {
    func testTwoJobsAtOnce() throws {
        let tiny = try TinyFixtureModel()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let cluster = try EmbeddedCluster(model: tiny.model, fingerprint: tiny.fingerprint, workers: 2, backends: ComputeBackends(fp32: try OpenBLASBackend(threads: 1)), logger: logger)
        defer { cluster.shutdown() }

        let dataset = try Dataset(path: clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path)
        let expected = try SafeTensorsFile(path: clusterFixtures.appendingPathComponent("mvtec-tiny/tile.winclip.safetensors").path)
        let images = try JSONDecoder().decode([String].self, from: Data(expected.metadata["images"]!.utf8))
        let cases: [(references: [URL], key: String)] = [([], "zero_scores"), (try dataset.references(kShot: 2), "few_scores")]
        let sinks = cases.map { _ in CollectingSink() }
        let errors = Mutex<[String]>([])
        let group = DispatchGroup()
        for (i, c) in cases.enumerated() {
            let job = SubmitJob(items: dataset.items, references: c.references, options: JobOptions(className: dataset.className),
                                saveMaps: false, fingerprint: tiny.fingerprint)
            let client = SubmitClient(context: cluster.context, endpoint: cluster.endpoint, logger: logger)
            let sink = sinks[i]
            group.enter()
            Thread.detachNewThread {
                do { _ = try client.run(job, sink: sink) } catch { errors.withLock { $0.append("\(error)") } }
                group.leave()
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 120), .success)
        XCTAssertEqual(errors.withLock { $0 }, [])
        for (i, c) in cases.enumerated() {
            let scores = try expected.floats(c.key)
            for (j, image) in images.enumerated() {
                XCTAssertEqual(try XCTUnwrap(sinks[i].score(image)), scores[j], accuracy: 1e-5, "\(c.key) \(image)")
            }
        }
    }
}
