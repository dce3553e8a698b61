import ArgumentParser
import CLI
import Foundation
import Logging
import Transport
import Worker

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

    @OptionGroup var cluster: ClusterFlags
    @OptionGroup var model: ModelFlags

    @Option(help: "BLAS threads for this worker, overriding worker.threads (default 1: run one worker per core).")
    var threads: Int?

    @Flag(help: "Log every message, not only joins, jobs and problems.")
    var verbose = false

    @Option(help: "Log lines on stderr: human (default) or json (one object per line: time, level, message, job, worker, image).")
    var logFormat: LogFormat = .human

    func run() throws {
        logFormat.bootstrap()
        var logger = Logger(label: "winclip-worker")
        logger.logLevel = verbose ? .debug : .info
        do {
            var c = try cluster.load()
            model.apply(to: &c)
            if let threads { c.worker.threads = threads }
            try c.validate()
            let stop = StopSignal()
            stop.installProcessHandlers()
            try WorkerProcess.run(config: c, logger: logger, stop: stop)
        } catch {
            logger.error("\(error)")
            throw ExitCode.failure
        }
    }
}
