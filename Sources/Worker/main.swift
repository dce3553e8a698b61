import ArgumentParser
import Cluster
import Foundation
import Logging

@main
struct WinCLIPWorker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "winclip-worker",
        abstract: "A WinCLIP cluster worker: loads the CLIP model and serves the coordinator.",
        discussion: """
        Connects to coordinator.endpoint of the cluster config, announces its model (config and \
        a fingerprint of its weights), and computes the units it is given until stopped. On \
        SIGINT or SIGTERM it finishes the unit in hand, says goodbye and exits; the coordinator \
        re-queues anything it had not answered. If the coordinator goes away, it reconnects.
        """)

    @Option(help: "Cluster config (cluster.yaml).")
    var config: String

    @Option(help: "Coordinator endpoint, overriding coordinator.endpoint.")
    var endpoint: String?

    @Option(help: "Model config, a built-in name or an open_clip JSON file, overriding model.config.")
    var modelConfig: String?

    @Option(help: "Weights (safetensors): a local file or hf://OWNER/REPO[@REVISION]/FILE, overriding model.weights.")
    var weights: String?

    @Option(help: "open_clip pretrained tag for a built-in model config, overriding model.pretrained.")
    var pretrained: String?

    @Option(help: "BLAS threads for this worker, overriding worker.threads (default 1: run one worker per core).")
    var threads: Int?

    @Flag(help: "Log every message, not only joins, jobs and problems.")
    var verbose = false

    func run() throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "winclip-worker")
        logger.logLevel = verbose ? .debug : .info
        var c = try ClusterConfig.load(path: config)
        if let endpoint { c.endpoint = endpoint }
        if let modelConfig { c.modelConfig = modelConfig }
        if let weights { c.weights = weights }
        if let pretrained { c.pretrained = pretrained }
        if let threads { c.workerThreads = threads }
        let stop = StopSignal()
        StopSignal.installProcessHandlers(stop)
        do {
            try WorkerProcess.run(.init(config: c, logger: logger), stop: stop)
        } catch {
            logger.error("\(error)")
            throw ExitCode.failure
        }
    }
}
