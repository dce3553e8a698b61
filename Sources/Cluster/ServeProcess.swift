import Foundation
import Logging

/// `winclip-coord serve`: a long-lived coordinator taking submits one after another or at once.
public enum ServeProcess {
    public static func run(config: ClusterConfig, logger: Logger, stop: StopSignal) throws {
        try CoordinatorLoop(context: ZMQContext(), endpoint: config.coordinator.endpoint, settings: config.coordinator.settings,
                            logger: logger).run(stop: stop)
    }
}
