import Foundation
import Logging
import Protocol
import WinCLIP

/// The cluster inside one process: the same coordinator and worker loops as the real
/// processes, over ZeroMQ's inproc transport, with one BLAS thread per worker.
public final class EmbeddedCluster: @unchecked Sendable {
    public let context = ZMQContext()
    public let endpoint: String
    let stop = StopSignal()
    let finished = DispatchGroup()
    let logger: Logger
    public let workerCount: Int

    public init(model: CLIPModel, fingerprint: String, workers: Int, gemm: MatMulBackend, logger: Logger) throws {
        self.logger = logger
        workerCount = max(1, workers)
        endpoint = "inproc://winclip-\(UUID().uuidString)"
        var settings = CoordinatorEngine.Settings(endpoint: endpoint)
        settings.clientExpiry = 3600  // the client is this process
        let coordinator = try CoordinatorEngine(context: context, settings: settings, logger: logger)
        let executor = try UnitExecutor(model: model, gemm: gemm)
        let host = ProcessInfo.processInfo.hostName
        let stop = self.stop
        finished.enter()
        Thread.detachNewThread { [finished] in
            coordinator.run(stop: stop)
            finished.leave()
        }
        for i in 0..<workerCount {
            // Each worker thread is its own peer; "pid" tells them apart in logs.
            let ready = Ready(fingerprint: fingerprint, model: model.config.name, imageSize: model.config.vision.imageSize,
                              gridSize: model.config.vision.gridSize, host: "\(host)/embedded", pid: Int32(i + 1))
            let worker = WorkerEngine(executor: executor, ready: ready, context: context,
                                      settings: WorkerEngine.Settings(endpoint: endpoint), logger: logger)
            finished.enter()
            Thread.detachNewThread { [finished, logger] in
                do { try worker.run(stop: stop) } catch { logger.error("embedded worker \(i + 1): \(error)") }
                finished.leave()
            }
        }
    }

    /// Stops the workers (each finishes its unit) and the coordinator, and waits for them.
    public func shutdown() {
        stop.request()
        _ = finished.wait(timeout: .now() + 60)
    }
}
