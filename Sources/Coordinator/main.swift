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

extension WinCLIPCoord {
    struct Submit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score every image of a dataset and write scores, maps and metrics.",
            discussion: """
            DATASET's layout is detected when only one fits (--layout forces it):
              mvtec      train/ + test/: test/good is label 0, test/<defect> 1, masks from \
            ground_truth/<defect>/<stem>_mask.png; --k-shot takes train/good's first files.
              mvtec-ad2  test_public/{good,bad} with test_public/ground_truth/bad/<stem>_mask.png; \
            references from train/good (validation/ and test_private*/ are not scored).
              visa       Data/Images/{Normal,Anomaly} + Data/Masks/Anomaly; split_csv/1cls.csv (in \
            the category or beside it) picks the test rows and the train references. anomalib's \
            converted visa_pytorch/<category> is the mvtec layout.
              folder     --normal-dir, --abnormal-dir, --normal-test-dir, --mask-dir (relative to \
            DATASET): abnormal images are label 1, --normal-test-dir's (else --normal-dir's) 0; \
            references are --normal-dir's first files and are not scored.
              plain      any folder of images (searched recursively), unlabelled.
              file-list  --file-list FILE (or - for stdin): one image path per line, '#' comments.
            The class name is the category folder's name (VisA's object name), else 'object'. A \
            folder of categories (MVTec AD's or VisA's root) is a benchmark: --all-categories \
            scores each into OUTPUT/<category>/ and writes OUTPUT/summary.md and summary.json. \
            Symbolic links are followed but no folder is entered twice; FIFOs, sockets, devices, \
            broken links and unreadable folders become error rows and are never opened.

            Without --config the job runs on an embedded cluster in this process (one worker per \
            core). With --config it is submitted to the coordinator named in cluster.yaml \
            (`winclip-coord serve`), whose workers hold the model.

            Results: OUTPUT/results.jsonl (one JSON object per image), with --save-maps \
            OUTPUT/maps/*.npy (the anomaly map at the model's input size) and *.png overlays, and \
            OUTPUT/metrics.json when labels exist (image/pixel AUROC, F1-max, AUPRO).

            Real weights must be supplied with --weights (open_clip's open_clip_model.safetensors \
            for ViT-B-16-plus-240): downloading is not available yet.
            """)

        @Argument(help: "The dataset folder.")
        var dataset: String

        @Option(help: "Cluster config (cluster.yaml): submit to its coordinator instead of an embedded cluster.")
        var config: String?

        @Option(help: "Model config: a built-in name (ViT-B-16-plus-240, ViT-B-16, ViT-B-32) or an open_clip JSON file.")
        var modelConfig: String?

        @Option(help: "Weights: an open_clip safetensors checkpoint (F32, F16 or BF16).")
        var weights: String?

        @Option(help: "Object class for the prompts (default: the MVTec category folder's name, else 'object').")
        var className: String?

        @Option(help: "Few-shot: the first K images of train/good are the normal references.")
        var kShot: Int = 0

        @Option(help: "Few-shot: every image in DIR is a normal reference.")
        var referenceDir: String?

        @Option(help: "Window scales in patches, comma-separated.", transform: { text in
            try text.split(separator: ",").map {
                guard let v = Int($0.trimmingCharacters(in: .whitespaces)), v > 0 else { throw ValidationError("--scales takes positive integers like 2,3") }
                return v
            }
        })
        var scales: [Int]?

        @Option(help: "Window attention: 'anomalib' (default, anomalib 2.x's numbers) or 'window' (the WinCLIP paper's independent windows).")
        var windowAttention: String?

        @Option(help: "Windows per work unit with --window-attention window (default: a whole scale per unit).")
        var windowBatch: Int?

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
            var o = SubmitRunner.Options(dataset: dataset)
            o.clusterConfig = config
            o.modelConfig = modelConfig
            o.weights = weights
            o.className = className
            o.kShot = kShot
            o.referenceDir = referenceDir
            o.scales = scales
            o.windowAttention = windowAttention
            o.windowBatch = windowBatch
            o.output = output
            o.saveMaps = saveMaps
            o.workers = workers
            o.progress = !quiet
            let stop = StopSignal()
            StopSignal.installProcessHandlers(stop)
            do {
                _ = try SubmitRunner.run(o, logger: logger, stop: stop)
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode.failure
            }
        }
    }

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a long-lived coordinator that takes submits and spreads them over its workers.",
            discussion: "Binds coordinator.endpoint of the cluster config. Workers (`winclip-worker --config FILE`) and submits (`winclip-coord submit DATASET --config FILE`) connect to it. Stops on SIGINT or SIGTERM.")

        @Option(help: "Cluster config (cluster.yaml).")
        var config: String

        @Option(help: "Endpoint to bind, overriding coordinator.endpoint.")
        var endpoint: String?

        @Flag(help: "Log every step.")
        var verbose = false

        func run() throws {
            let logger = makeLogger("winclip-coord", verbose: verbose)
            var c = try ClusterConfig.load(path: config)
            if let endpoint { c.endpoint = endpoint }
            let stop = StopSignal()
            StopSignal.installProcessHandlers(stop)
            do { try ServeProcess.run(config: c, logger: logger, stop: stop) } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode.failure
            }
        }
    }
}
