import Coordinator
import Foundation
import Logging
import Protocol
import Synchronization
import Transport
import WinCLIP
import Worker

/// The cluster inside one process: the same coordinator and worker loops as the real
/// processes, over ZeroMQ's inproc transport, each on its own thread, one BLAS thread per
/// worker.
public final class EmbeddedCluster: Sendable {
    public let context = ZMQContext()
    public let endpoint: String
    public let workerCount: Int
    private let stop = StopSignal()
    private let finished = DispatchGroup()

    public init(model: CLIPModel, fingerprint: String, workers: Int, backends: ComputeBackends, logger: Logger) throws {
        workerCount = max(1, workers)
        endpoint = "inproc://winclip-\(UUID().uuidString)"
        var settings = CoordinatorSettings()
        settings.clientExpiry = 3600  // the client is this process
        // Its workers are this process's threads: nothing to verify or hide.
        settings.verifySetup = .never
        settings.revealWorkerHosts = true
        settings.model = CoordinatorModel(config: model.config)
        let coordinator = CoordinatorLoop(context: context, endpoint: endpoint, settings: settings, logger: logger)
        // inproc: the coordinator must bind before anyone connects; wait for it.
        let bound = DispatchSemaphore(value: 0)
        let failure = BindFailure()
        let stop = self.stop
        finished.enter()
        Thread.detachNewThread { [finished] in
            defer { finished.leave() }
            do { try coordinator.run(stop: stop, bound: { _ in bound.signal() }) } catch {
                failure.set("\(error)")
                bound.signal()
            }
        }
        bound.wait()
        if let error = failure.get() { throw SubmitError("embedded coordinator: \(error)") }
        for i in 0..<workerCount {
            let ready = Ready(fingerprint: fingerprint, model: model.config.name, imageSize: model.config.vision.imageSize,
                              gridSize: model.config.vision.gridSize, name: "embedded-\(i + 1)", precisions: backends.precisions)
            let worker = WorkerLoop(context: context, endpoint: endpoint, ready: ready, model: model, backends: backends, logger: logger)
            finished.enter()
            Thread.detachNewThread { [finished] in
                defer { finished.leave() }
                do { try worker.run(stop: stop) } catch { logger.error("embedded worker \(i + 1): \(error)") }
            }
        }
    }

    /// Stops the workers (each finishes its unit) and the coordinator, and waits for them.
    public func shutdown() {
        stop.request()
        _ = finished.wait(timeout: .now() + 60)
    }
}

/// The coordinator thread's bind error, handed to the thread that waits for it.
private final class BindFailure: Sendable {
    private let message = Mutex<String?>(nil)
    func set(_ text: String) { message.withLock { $0 = text } }
    func get() -> String? { message.withLock { $0 } }
}
