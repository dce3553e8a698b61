import Foundation
import Logging
import Protocol
import WinCLIP

/// `winclip-worker`: load the model named by the config, then serve the coordinator until a
/// signal asks to stop.
public enum WorkerProcess {
    public struct Options: Sendable {
        public var config: ClusterConfig
        public var logger: Logger
        public init(config: ClusterConfig, logger: Logger) {
            self.config = config
            self.logger = logger
        }
    }

    public static func run(_ options: Options, stop: StopSignal) throws {
        let c = options.config
        let logger = options.logger
        let gemm = try OpenBLASBackend(threads: c.workerThreads, logger: logger)
        let model = try ModelLoading.load(config: c.modelConfig, weights: c.weights, logger: logger)
        let fingerprint = try ModelFingerprint.compute(config: model.config, weightsPath: c.weights!)
        let executor = try UnitExecutor(model: model, gemm: gemm)
        let ready = Ready(fingerprint: fingerprint, model: model.config.name, imageSize: model.config.vision.imageSize,
                          gridSize: model.config.vision.gridSize, host: ProcessInfo.processInfo.hostName,
                          pid: ProcessInfo.processInfo.processIdentifier)
        var settings = WorkerEngine.Settings(endpoint: c.endpoint)
        settings.heartbeatInterval = c.heartbeatInterval
        try WorkerEngine(executor: executor, ready: ready, context: ZMQContext(), settings: settings, logger: logger).run(stop: stop)
    }
}

/// Loading a model with the messages a user needs when something is missing or wrong.
public enum ModelLoading {
    public static func load(config name: String, weights: String?, logger: Logger) throws -> CLIPModel {
        let config = try ModelConfig.load(name)
        guard let weights else {
            throw SubmitError("no weights given: pass --weights FILE (open_clip's open_clip_model.safetensors for \(config.name), or set model.weights in cluster.yaml); downloading from the hub is not available yet")
        }
        let t0 = now()
        let model = try CLIPModel(config: config, weightsPath: weights)
        logger.info("model \(config.name) loaded from \(weights) in \(String(format: "%.1f", now() - t0)) s")
        return model
    }
}
