import Foundation
import Logging
import Options
import Synchronization
import XCTest
import WinCLIP
@testable import Coordinator
@testable import Datasets
@testable import Protocol
@testable import Submit
@testable import Transport

/// A worker that takes a unit and dies: the coordinator expires it and the unit is computed by
/// another worker; the job loses nothing.
final class WorkerFailureTests: XCTestCase {
    func testUnitOfADeadWorkerIsRequeued() throws {
        let tiny = try TinyFixtureModel()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let context = ZMQContext()
        var settings = CoordinatorSettings()
        settings.heartbeatInterval = 0.1
        settings.workerExpiry = 1.0
        settings.revealWorkerHosts = true  // workers named as they announce themselves
        let coordinator = BackgroundCoordinator(context: context, endpoint: "inproc://dead-worker-test", settings: settings)
        defer { coordinator.stop() }

        // The doomed worker: announces the same model, takes a unit, then falls silent.
        let doomed = try ZMQSocket(context, .dealer)
        defer { doomed.close() }
        try doomed.connect(coordinator.endpoint)
        try doomed.send(WireMessage(.ready, Ready(fingerprint: tiny.fingerprint, model: tiny.config.name, imageSize: 48, gridSize: 6, name: "doomed")).frames)

        let dataset = try Dataset(path: clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path)
        let job = SubmitJob(items: dataset.items, references: [], options: JobOptions(className: "tile"), saveMaps: false, fingerprint: tiny.fingerprint)
        let sink = CollectingSink()
        let outcome = Mutex<Result<JobSummary, SubmitError>?>(nil)
        let submitted = DispatchGroup()
        submitted.enter()
        let client = SubmitClient(context: context, endpoint: coordinator.endpoint, logger: logger)
        Thread.detachNewThread {
            let result: Result<JobSummary, SubmitError>
            do { result = .success(try client.run(job, sink: sink)) } catch { result = .failure(SubmitError("\(error)")) }
            outcome.withLock { $0 = result }
            submitted.leave()
        }

        // The doomed worker receives its first unit and never answers.
        var taken: UnitSpec?
        let deadline = Date().addingTimeInterval(20)
        while taken == nil && Date() < deadline {
            guard let frames = try doomed.receive(timeoutMs: 100), let m = try? WireMessage(frames: frames), m.type == .unit else { continue }
            taken = try m.unitSpec()
        }
        XCTAssertEqual(taken?.kind, .text, "the first unit of the job went to the only worker")

        // A healthy worker joins; the coordinator gives it the dead worker's unit once it expires.
        let healthy = try BackgroundWorker(context: context, endpoint: coordinator.endpoint, model: tiny, name: "healthy")
        defer { healthy.stop() }

        XCTAssertEqual(submitted.wait(timeout: .now() + 60), .success, "the job finished")
        let summary = try XCTUnwrap(outcome.withLock { $0 }).get()
        XCTAssertEqual(summary.scored, 4)
        XCTAssertEqual(summary.failed, 1)
        XCTAssertEqual(summary.workers, ["healthy"], "only the healthy worker answered")
        let expected = try SafeTensorsFile(path: clusterFixtures.appendingPathComponent("mvtec-tiny/tile.winclip.safetensors").path)
        let images = try JSONDecoder().decode([String].self, from: Data(expected.metadata["images"]!.utf8))
        let scores = try expected.floats("zero_scores")
        for (i, image) in images.enumerated() {
            XCTAssertEqual(try XCTUnwrap(sink.score(image)), scores[i], accuracy: 1e-5, image)
        }
    }
}
