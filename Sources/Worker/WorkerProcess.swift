import Configuration
import Foundation
import Hub
import Logging
import Protocol
import Transport
import WinCLIP

/// `winclip-worker`: load the model named by the config, then serve the coordinator until a
/// signal asks to stop.
public enum WorkerProcess {
    public static func run(config c: ClusterConfig, logger: Logger, stop: StopSignal) throws {
        if let warning = try c.security.checkEndpoint(c.coordinator.endpoint) { logger.warning("\(warning)") }
        _ = try c.security.peerSecurity()  // missing or bad keys: said before the model loads
        let backends = try ComputeBackends.make(threads: c.worker.threads, bf16: true, logger: logger)
        let loaded = try ModelLoading.load(config: c.model.config, pretrained: c.model.pretrained, weights: c.model.weights, logger: logger, stop: stop)
        let model = loaded.model
        let ready = Ready(fingerprint: loaded.fingerprint, model: model.config.name, imageSize: model.config.vision.imageSize,
                          gridSize: model.config.vision.gridSize,
                          name: "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)",
                          precisions: backends.precisions)
        var settings = WorkerSettings()
        settings.heartbeatInterval = c.coordinator.heartbeatSeconds
        var loop = WorkerLoop(context: ZMQContext(), endpoint: c.coordinator.endpoint, ready: ready, settings: settings,
                              model: model, backends: backends, logger: logger)
        loop.security = try c.security.peerSecurity()
        loop.maxFrameBytes = FrameLimit.bytes(for: model.config, maxReferences: c.security.maxReferences)
        try loop.run(stop: stop)
    }
}

/// Loading a model with the messages a user needs when something is missing or wrong.
public enum ModelLoading {
    public struct Loaded: Sendable {
        public let model: CLIPModel
        public let fingerprint: String
        public let weights: ResolvedWeights
    }

    /// The config, and weights from `--weights` (a file or hf://...), else `--pretrained`, else
    /// the built-in config's default tag, fetched into the Hugging Face cache on first use.
    public static func load(config name: String, pretrained: String?, weights: String?, logger: Logger, stop: StopSignal? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Loaded {
        let config = try ModelConfig.load(name)
        let resolved = try resolveWeights(config: name, pretrained: pretrained, weights: weights, logger: logger, stop: stop, environment: environment)
        let t0 = monotonicSeconds()
        let model = try CLIPModel(config: config, weightsPath: resolved.path.path)
        let fingerprint = try ModelFingerprint.compute(config: config, weightsPath: resolved.path.path)
        logger.info("model \(config.name) loaded from \(resolved.path.path) in \(String(format: "%.1f", monotonicSeconds() - t0)) s [\(fingerprint)]")
        return Loaded(model: model, fingerprint: fingerprint, weights: resolved)
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
