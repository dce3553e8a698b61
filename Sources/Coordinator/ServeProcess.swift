import Configuration
import Foundation
import Logging
import Transport
import WinCLIP

/// `winclip-coord serve`: a long-lived coordinator taking submits one after another or at once.
public enum ServeProcess {
    /// `reload` (SIGHUP) re-reads the authorised key folders.
    public static func run(config: ClusterConfig, logger: Logger, stop: StopSignal, reload: ReloadSignal? = nil) throws {
        let endpoint = config.coordinator.endpoint
        // mode none on an address other machines reach: refused, or allowed with a warning.
        if let warning = try config.security.checkEndpoint(endpoint) { logger.warning("\(warning)") }
        var settings = config.coordinator.settings
        config.security.apply(to: &settings)
        var loop = CoordinatorLoop(context: ZMQContext(), endpoint: endpoint, settings: settings, logger: logger)
        loop.security = try config.security.coordinatorSecurity()
        let model: ModelConfig
        do { model = try ModelConfig.load(config.model.config) } catch {
            throw ClusterConfig.ConfigError("model.config: \(error) (the coordinator sizes its largest accepted frame from the model)")
        }
        loop.settings.model = CoordinatorModel(config: model)
        loop.maxFrameBytes = FrameLimit.bytes(for: model, maxReferences: config.security.maxReferences)
        loop.maxMessagesPerSecond = config.security.maxMessagesPerSecond
        loop.reload = reload
        var server: StatusServer?
        if let text = config.coordinator.metricsEndpoint {
            let monitor = RackMonitor()
            let started = try StatusServer(try MetricsEndpoint(parsing: text), monitor: monitor)
            server = started
            loop.monitor = monitor
            logger.info("metrics on http://\(started.endpoint)/metrics, status page on http://\(started.endpoint)/")
            if !started.endpoint.isLoopback { logger.warning("metrics_endpoint \(started.endpoint) is reachable from other machines: the status page names workers, jobs and clients") }
        }
        defer { server?.stop() }
        logger.info("frames over \(loop.maxFrameBytes) bytes are refused (model \(model.name), up to \(config.security.maxReferences) reference images); security.mode \(config.security.mode.rawValue)")
        try loop.run(stop: stop)
    }
}
