import ArgumentParser
import Cluster
import Foundation
import Logging

// Entry point at the end of this file: the target has more than one file (FetchWeights.swift),
// and a main.swift among several files runs as top-level code, where @main is not allowed.
struct WinCLIPCoord: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "winclip-coord",
        abstract: "WinCLIP anomaly detection on image archives, on one machine or a ZeroMQ cluster.",
        subcommands: [Submit.self, Serve.self, FetchWeights.self])
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
            DATASET is an MVTec AD category folder (train/ and test/: every image under test/ is \
            scored, labels and masks come from the layout, --k-shot takes train/good's first \
            files) or any folder of images (searched recursively).

            Without --config the job runs on an embedded cluster in this process (one worker per \
            core). With --config it is submitted to the coordinator named in cluster.yaml \
            (`winclip-coord serve`), whose workers hold the model.

            Results: OUTPUT/results.jsonl (one JSON object per image), with --save-maps \
            OUTPUT/maps/*.npy (the anomaly map at the model's input size) and *.png overlays, and \
            OUTPUT/metrics.json when labels exist (image/pixel AUROC, F1-max, AUPRO).

            Weights: --weights FILE or hf://OWNER/REPO[@REVISION]/FILE, else --pretrained TAG, else \
            the model config's default tag (laion400m_e31 for ViT-B-16-plus-240), fetched from the \
            Hugging Face hub into its cache (HF_HUB_CACHE, HF_HOME) on first use; HF_HUB_OFFLINE=1 \
            uses the cache only.
            """)

        @Argument(help: "The dataset folder.")
        var dataset: String

        @Option(help: "Cluster config (cluster.yaml): submit to its coordinator instead of an embedded cluster.")
        var config: String?

        @Option(help: "Model config: a built-in name (ViT-B-16-plus-240, ViT-B-16, ViT-B-32) or an open_clip JSON file.")
        var modelConfig: String?

        @Option(help: "Weights: an open_clip safetensors checkpoint (F32, F16 or BF16), a local file or hf://OWNER/REPO[@REVISION]/FILE.")
        var weights: String?

        @Option(help: "open_clip pretrained tag for a built-in model config (default: laion400m_e31 for ViT-B-16-plus-240); --weights wins.")
        var pretrained: String?

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
            o.pretrained = pretrained
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

WinCLIPCoord.main()
