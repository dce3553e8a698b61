import Foundation
import Hub
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
        let (model, weights) = try ModelLoading.load(config: c.modelConfig, pretrained: c.pretrained, weights: c.weights, logger: logger, stop: stop)
        let fingerprint = try ModelFingerprint.compute(config: model.config, weightsPath: weights.path.path)
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
    /// The config, and weights from `--weights` (a file or hf://...), else `--pretrained`, else
    /// the built-in config's default tag, fetched into the Hugging Face cache on first use.
    public static func load(config name: String, pretrained: String?, weights: String?, logger: Logger, stop: StopSignal? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (model: CLIPModel, weights: ResolvedWeights) {
        let config = try ModelConfig.load(name)
        let resolved = try resolveWeights(config: name, pretrained: pretrained, weights: weights, logger: logger, stop: stop, environment: environment)
        let t0 = now()
        let model = try CLIPModel(config: config, weightsPath: resolved.path.path)
        logger.info("model \(config.name) loaded from \(resolved.path.path) in \(String(format: "%.1f", now() - t0)) s")
        return (model, resolved)
    }

    /// `WeightsResolver` with its notes and download progress on this program's log (a bar on
    /// a terminal). `.cacheOnly` finds weights without any network call; `stop` (SIGINT/SIGTERM)
    /// interrupts a download, which the next run resumes.
    public static func resolveWeights(config: String, pretrained: String?, weights: String?, logger: Logger, stop: StopSignal? = nil,
                                      environment: [String: String] = ProcessInfo.processInfo.environment,
                                      policy: HubDownloader.Policy = .preferCache) throws -> ResolvedWeights {
        let display = DownloadProgressDisplay(log: { [logger] in logger.notice("\($0)") })
        let resolved = try WeightsResolver.resolve(modelConfig: config, pretrained: pretrained, weights: weights,
                                                   environment: environment, policy: policy, progress: display.handler,
                                                   isCancelled: stop.map { s in { @Sendable in s.isRequested } })
        for note in resolved.notes { logger.warning("\(note)") }
        logger.info("\(resolved.summary)")
        return resolved
    }
}
