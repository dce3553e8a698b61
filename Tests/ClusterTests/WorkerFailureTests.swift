import Foundation
import Logging
import XCTest
@testable import Cluster
import Protocol
import WinCLIP

/// A worker that takes a unit and dies: the coordinator expires it and the unit is computed by
/// another worker; the job loses nothing.
final class WorkerFailureTests: XCTestCase {
    final class Sink: SubmitSink, @unchecked Sendable {
        var rows: [String: (score: Float?, error: String?)] = [:]
        func accepted(_ accepted: Accepted) {}
        func note(_ message: String) {}
        func image(_ item: DatasetItem, score: Float?, map: [Float]?, picture: RGBImage?, error: String?) throws {
            rows[item.relativePath] = (score, error)
        }
    }

    func testUnitOfADeadWorkerIsRequeued() throws {
        let tiny = try TinyFixtureModel()
        let config = tiny.config, model = tiny.model, fingerprint = tiny.fingerprint
        var logger = Logger(label: "test")
        logger.logLevel = .critical

        let context = ZMQContext()
        let endpoint = "inproc://dead-worker-test"
        var settings = CoordinatorEngine.Settings(endpoint: endpoint)
        settings.heartbeatInterval = 0.1
        settings.workerExpiry = 1.0
        let coordinator = try CoordinatorEngine(context: context, settings: settings, logger: logger)
        let stop = StopSignal()
        let stopped = DispatchGroup()
        stopped.enter()
        Thread.detachNewThread { coordinator.run(stop: stop); stopped.leave() }
        defer { stop.request(); _ = stopped.wait(timeout: .now() + 30) }

        // The doomed worker: announces the same model, takes a unit, then falls silent.
        let doomed = try ZMQSocket(context, .dealer)
        defer { doomed.close() }
        try doomed.connect(endpoint)
        try doomed.send(WireMessage(.ready, Ready(fingerprint: fingerprint, model: config.name, imageSize: 48, gridSize: 6, host: "doomed", pid: 1)).frames)

        let dataset = try Dataset(path: clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path)
        let job = SubmitJob(datasetRoot: dataset.root, items: dataset.items, className: "tile", references: [],
                            options: ScoringOptions(scales: [2, 3]), saveMaps: false, fingerprint: fingerprint)
        let sink = Sink()
        final class Outcome: @unchecked Sendable { var summary: JobSummary?; var failure: Error? }
        let outcome = Outcome()
        let submitted = DispatchGroup()
        submitted.enter()
        let client = SubmitClient(context: context, endpoint: endpoint, logger: logger)
        Thread.detachNewThread {
            do { outcome.summary = try client.run(job, sink: sink) } catch { outcome.failure = error }
            submitted.leave()
        }

        // The doomed worker receives its first unit and never answers.
        var taken: UnitSpec?
        let deadline = Date().addingTimeInterval(20)
        while taken == nil && Date() < deadline {
            guard let frames = try doomed.receive(timeoutMs: 100), let m = try? WireMessage(frames: frames), m.type == .unit else { continue }
            taken = try m.decode(UnitSpec.self)
        }
        XCTAssertEqual(taken?.kind, .text, "the first unit of the job went to the only worker")

        // A healthy worker joins; the coordinator gives it the dead worker's unit once it expires.
        let executor = try UnitExecutor(model: model, gemm: try OpenBLASBackend(threads: 1))
        let healthy = WorkerEngine(executor: executor, ready: Ready(fingerprint: fingerprint, model: config.name, imageSize: 48, gridSize: 6, host: "healthy", pid: 2),
                                   context: context, settings: WorkerEngine.Settings(endpoint: endpoint), logger: logger)
        let workerStop = StopSignal()
        let workerDone = DispatchGroup()
        workerDone.enter()
        Thread.detachNewThread { try? healthy.run(stop: workerStop); workerDone.leave() }
        defer { workerStop.request(); _ = workerDone.wait(timeout: .now() + 30) }

        XCTAssertEqual(submitted.wait(timeout: .now() + 60), .success, "the job finished")
        XCTAssertNil(outcome.failure)
        XCTAssertEqual(outcome.summary?.scored, 4)
        XCTAssertEqual(outcome.summary?.failed, 1)
        XCTAssertEqual(outcome.summary?.workers, ["healthy:2"], "only the healthy worker answered")
        let expected = try SafeTensorsFile(path: clusterFixtures.appendingPathComponent("mvtec-tiny/tile.winclip.safetensors").path)
        let images = try JSONDecoder().decode([String].self, from: Data(expected.metadata["images"]!.utf8))
        let scores = try expected.floats("zero_scores")
        for (i, image) in images.enumerated() {
            XCTAssertEqual(try XCTUnwrap(sink.rows[image]?.score), scores[i], accuracy: 1e-5, image)
        }
    }
}
