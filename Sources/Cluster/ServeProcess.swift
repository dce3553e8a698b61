import Foundation
import Logging

/// `winclip-coord serve`: a long-lived coordinator taking submits one after another or at once.
public enum ServeProcess {
    public static func run(config: ClusterConfig, logger: Logger, stop: StopSignal) throws {
        var settings = CoordinatorSettings()
        settings.heartbeatInterval = config.coordinator.heartbeatSeconds
        settings.workerExpiry = config.coordinator.workerExpirySeconds
        settings.clientExpiry = config.coordinator.clientExpirySeconds
        try CoordinatorLoop(context: ZMQContext(), endpoint: config.coordinator.endpoint, settings: settings, logger: logger).run(stop: stop)
    }
}
