import ArgumentParser
import Cluster
import Foundation
import Logging

@main
struct WinCLIPCoord: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "winclip-coord",
        abstract: "WinCLIP anomaly detection on image archives, on one machine or a ZeroMQ cluster.",
        subcommands: [Submit.self, Serve.self])
}

func makeLogger(_ label: String, verbose: Bool) -> Logger {
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    var logger = Logger(label: label)
    logger.logLevel = verbose ? .debug : .notice
    return logger
}

/// Runs `body`, printing an error as one line on stderr and exiting with failure.
func reportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}

extension WinCLIPCoord {
    struct Submit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score every image of a dataset and write scores, maps and metrics.",
            discussion: """
            DATASET is an MVTec AD category folder (train/ and test/: every image under test/ is \
            scored, labels and masks come from the layout, --k-shot takes train/good's first \
            files) or any folder of images (searched recursively).

            Without --config (or --endpoint) the job runs on an embedded cluster in this process \
            (one worker per core). With them it is submitted to that coordinator \
            (`winclip-coord serve`), whose workers hold the model.

            Results: OUTPUT/results.jsonl (one JSON object per image), with --save-maps \
            OUTPUT/maps/*.npy (the anomaly map at the model's input size) and *.png overlays, and \
            OUTPUT/metrics.json when labels exist (image/pixel AUROC, F1-max, AUPRO).

            Real weights must be supplied with --weights (open_clip's open_clip_model.safetensors \
            for ViT-B-16-plus-240): downloading is not available yet.
            """)

        @Argument(help: "The dataset folder.")
        var dataset: String

        @OptionGroup var cluster: ClusterFlags
        @OptionGroup var model: ModelFlags
        @OptionGroup var job: JobFlags

        @Option(help: "Few-shot: the first K images of train/good are the normal references.")
        var kShot: Int = 0

        @Option(help: "Few-shot: every image in DIR is a normal reference.")
        var referenceDir: String?

        @Option(help: "Output folder (default: a new folder under ./winclip-results/).")
        var output: String?

        @Flag(help: "Save each anomaly map as .npy and a heat-map overlay .png.")
        var saveMaps = false

        @Option(help: "Embedded cluster: number of local workers (default: one per core).")
        var workers: Int?

        @Flag(help: "No progress bar.")
        var quiet = false

        @Flag(help: "Log every step.")
        var verbose = false

        func run() throws {
            let logger = makeLogger("winclip-coord", verbose: verbose)
            try reportingErrors {
                var o = SubmitOptions(dataset: dataset)
                o.config = try cluster.load()
                model.apply(to: &o.config)
                job.apply(to: &o.config.winclip)
                o.embedded = cluster.config == nil && cluster.endpoint == nil
                o.kShot = kShot
                o.referenceDir = referenceDir
                o.output = output
                o.saveMaps = saveMaps
                o.workers = workers
                o.progress = !quiet
                let stop = StopSignal()
                stop.installProcessHandlers()
                _ = try SubmitRunner.run(o, logger: logger, stop: stop)
            }
        }
    }

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a long-lived coordinator that takes submits and spreads them over its workers.",
            discussion: "Binds coordinator.endpoint of the cluster config (or --endpoint). Workers (`winclip-worker --config FILE`) and submits (`winclip-coord submit DATASET --config FILE`) connect to it. Stops on SIGINT or SIGTERM, telling clients and workers first.")

        @OptionGroup var cluster: ClusterFlags

        @Flag(help: "Log every step.")
        var verbose = false

        func run() throws {
            let logger = makeLogger("winclip-coord", verbose: verbose)
            try reportingErrors {
                let stop = StopSignal()
                stop.installProcessHandlers()
                try ServeProcess.run(config: try cluster.load(), logger: logger, stop: stop)
            }
        }
    }
}
