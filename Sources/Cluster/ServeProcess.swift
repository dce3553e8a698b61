import Foundation
import Logging
import Protocol

/// `winclip-coord serve`: a long-lived coordinator taking submits one after another or at once.
public enum ServeProcess {
    public static func run(config: ClusterConfig, logger: Logger, stop: StopSignal) throws {
        var settings = CoordinatorEngine.Settings(endpoint: config.endpoint)
        settings.heartbeatInterval = config.heartbeatInterval
        settings.workerExpiry = config.workerExpiry
        let engine = try CoordinatorEngine(context: ZMQContext(), settings: settings, logger: logger)
        engine.run(stop: stop)
    }
}
