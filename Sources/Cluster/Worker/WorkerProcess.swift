import Foundation
import Logging
import Protocol
import WinCLIP

/// `winclip-worker`: load the model named by the config, then serve the coordinator until a
/// signal asks to stop.
public enum WorkerProcess {
    public static func run(config c: ClusterConfig, logger: Logger, stop: StopSignal) throws {
        let gemm = try OpenBLASBackend(threads: c.worker.threads, logger: logger)
        let loaded = try ModelLoading.load(config: c.model.config, weights: c.model.weights, logger: logger)
        let model = loaded.model
        let ready = Ready(fingerprint: loaded.fingerprint, model: model.config.name, imageSize: model.config.vision.imageSize,
                          gridSize: model.config.vision.gridSize,
                          name: "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)")
        var settings = WorkerSettings()
        settings.heartbeatInterval = c.coordinator.heartbeatSeconds
        try WorkerLoop(context: ZMQContext(), endpoint: c.coordinator.endpoint, ready: ready, settings: settings,
                       model: model, gemm: gemm, logger: logger).run(stop: stop)
    }
}

/// Loading a model with the messages a user needs when something is missing or wrong.
public enum ModelLoading {
    public struct Loaded: Sendable {
        public let model: CLIPModel
        public let fingerprint: String
    }

    public static func load(config name: String, weights: String?, logger: Logger) throws -> Loaded {
        let config = try ModelConfig.load(name)
        guard let weights else {
            throw SubmitError("no weights given: pass --weights FILE (open_clip's open_clip_model.safetensors for \(config.name), or set model.weights in cluster.yaml); downloading from the hub is not available yet")
        }
        let t0 = monotonicSeconds()
        let model = try CLIPModel(config: config, weightsPath: weights)
        let fingerprint = try ModelFingerprint.compute(config: config, weightsPath: weights)
        logger.info("model \(config.name) loaded from \(weights) in \(String(format: "%.1f", monotonicSeconds() - t0)) s [\(fingerprint)]")
        return Loaded(model: model, fingerprint: fingerprint)
    }
}
