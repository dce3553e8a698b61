import ArgumentParser
import CLI
import Coordinator
import Datasets
import Foundation
import Logging
import Outputs
import Submit
import Transport
import ImageInput

@main
struct WinCLIPCoord: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "winclip-coord",
        abstract: "WinCLIP anomaly detection on image archives, on one machine or a ZeroMQ cluster.",
        subcommands: [Submit.self, Serve.self, Status.self, FetchWeights.self, Keygen.self])
}

/// Logs to stderr: `quietLevel` normally (notice for submit: problems only; info for serve:
/// joins, jobs and problems), everything with --verbose.
func makeLogger(_ label: String, verbose: Bool, quietLevel: Logger.Level = .notice, format: LogFormat = .human) -> Logger {
    format.bootstrap()
    var logger = Logger(label: label)
    logger.logLevel = verbose ? .debug : quietLevel
    return logger
}

/// Exit statuses of `submit` (README): every image scored; the job completed but some images
/// could not be scored (error rows); the job failed or was interrupted.
enum SubmitExit {
    static let someImagesFailed = ExitCode(2)
    static let jobFailed = ExitCode.failure  // 1
}

/// Runs `body`, printing an error as one line on stderr (in the log format) and exiting with failure.
func reportingErrors<T>(format: LogFormat = .human, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let exit as ExitCode { throw exit } catch {
        format.writeError(error, label: "winclip-coord")
        throw ExitCode.failure
    }
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

            Without --config (or --endpoint) the job runs on an embedded cluster in this process \
            (one worker per core). With them it is submitted to that coordinator \
            (`winclip-coord serve`), whose workers hold the model.

            Exit status: 0 when every image was scored, 2 when the job completed but some images \
            have error rows, 1 when the job failed or was interrupted (continue it with --resume).

            Results: OUTPUT/results.jsonl (one JSON object per image), with --save-maps \
            OUTPUT/maps/*.npy (the anomaly map at the model's input size), *.png overlays, pictures/ and pred_masks/, and \
            OUTPUT/metrics.json when labels exist (image/pixel AUROC, F1-max, AUPRO).

            Weights: --weights FILE or hf://OWNER/REPO[@REVISION]/FILE, else --pretrained TAG, else \
            the model config's default tag (laion400m_e31 for ViT-B-16-plus-240), fetched from the \
            Hugging Face hub into its cache (HF_HUB_CACHE, HF_HOME) on first use; HF_HUB_OFFLINE=1 \
            uses the cache only.
            """)

        @Argument(help: "The dataset folder (or a benchmark root of category folders).")
        var dataset: String?

        @Option(help: "The dataset's layout, when detection cannot tell (mvtec, mvtec-ad2, visa, folder, plain, file-list).")
        var layout: DatasetLayout?

        @Option(help: "Score the images listed in FILE (one path per line; - for standard input) instead of a folder.")
        var fileList: String?

        @Option(help: "Folder layout: the normal images (relative to DATASET); the first --k-shot are the references.")
        var normalDir: String?

        @Option(help: "Folder layout: the anomalous images (label 1).")
        var abnormalDir: String?

        @Option(help: "Folder layout: normal test images (label 0; default: --normal-dir's images after the references).")
        var normalTestDir: String?

        @Option(help: "Folder layout: masks of the anomalous images (same file names).")
        var maskDir: String?

        @Flag(help: "DATASET is a benchmark root: score every category into OUTPUT/<category>/ and write summary.md and summary.json (chosen by itself when the folder is one).")
        var allCategories = false

        @OptionGroup var cluster: ClusterFlags
        @OptionGroup var model: ModelFlags
        @OptionGroup var job: JobFlags

        @Option(help: "Few-shot: the first K images of train/good are the normal references.")
        var kShot: Int = 0

        @Option(help: "Few-shot: every image in DIR is a normal reference.")
        var referenceDir: String?

        @Option(help: "Output folder (default: a new folder under ./winclip-results/).")
        var output: String?

        @Flag(help: "Segmentation only: save each anomaly map as .npy; after the job, draw heat-map overlays (maps/*.png), pictures/ and pred_masks/ (at each image's size).")
        var saveMaps = false

        @Flag(help: "Continue an interrupted job into --output: keep its rows (the same settings, --save-maps included, are checked), compute the rest.")
        var resume = false

        @Option(help: "16-bit grey images: clip (default, as Pillow and so anomalib: values above 255 become white) or scale (the high byte: the whole range, a departure from anomalib).")
        var sixteenBit: SixteenBitMode = .clip

        @Option(help: "Refuse images with more pixels than this, before decoding (default: Pillow's decompression-bomb limit, 178956970).")
        var maxImagePixels: Int = ImageLimits.defaultMaxPixels

        @Option(help: "Refuse image files larger than this many bytes, without reading them (default 268435456, 256 MiB).")
        var maxImageBytes: Int = ImageLimits.defaultMaxFileBytes

        @Option(help: "Apply the decision rule of an earlier labelled run (its thresholds.json) instead of learning one; refused when that run used another model, class or options (see --thresholds-from-other-run).")
        var thresholds: String?

        @Flag(help: "Apply --thresholds FILE even when it was learned with another model, class or options (the report says so).")
        var thresholdsFromOtherRun = false

        @Option(help: "Set the image threshold by hand: rows get pred_label and normalized_score (0.5 = this score).")
        var threshold: Float?

        @Option(help: "Heat-map colour scale of pictures/ and the maps/*.png overlays: dataset (default: one scale for the whole run, the pixel threshold in the middle), image (each map's own min..max), none (raw values on [0, 1]).")
        var mapNormalization: MapNormalization.Mode = .dataset

        @Option(help: "Embedded cluster: number of local workers, at least 1 (default: one per core).")
        var workers: Int?

        @Flag(help: "No progress bar.")
        var quiet = false

        @Flag(help: "Log every step.")
        var verbose = false

        @Option(help: "Log lines on stderr: human (default) or json (one object per line: time, level, message, job, worker, image; no progress bar).")
        var logFormat: LogFormat = .human

        func run() throws {
            let logger = makeLogger("winclip-coord", verbose: verbose, format: logFormat)
            try reportingErrors(format: logFormat) {
                guard (dataset == nil) != (fileList == nil) else {
                    throw ValidationError("give a DATASET folder or --file-list FILE (one of them)")
                }
                var o = SubmitOptions(dataset: dataset ?? fileList!)
                o.datasetOptions.layout = fileList != nil ? .fileList : layout
                if let normalDir {
                    o.datasetOptions.folder = FolderLayoutDirs(normalDir: normalDir, abnormalDir: abnormalDir, normalTestDir: normalTestDir, maskDir: maskDir)
                } else if abnormalDir != nil || normalTestDir != nil || maskDir != nil {
                    throw ValidationError("--abnormal-dir, --normal-test-dir and --mask-dir need --normal-dir (the folder layout)")
                }
                o.allCategories = allCategories
                if thresholds != nil && threshold != nil { throw ValidationError("--thresholds and --threshold exclude each other") }
                if let thresholds { o.thresholds = .file(thresholds) } else if let threshold { o.thresholds = .manual(threshold) }
                if thresholdsFromOtherRun && thresholds == nil { throw ValidationError("--thresholds-from-other-run goes with --thresholds FILE") }
                o.thresholdsFromOtherRun = thresholdsFromOtherRun
                o.arguments = CommandLine.arguments
                o.mapNormalization = mapNormalization
                guard maxImagePixels > 0, maxImageBytes > 0 else { throw ValidationError("--max-image-pixels and --max-image-bytes must be positive") }
                o.decode = ImageDecodeOptions(limits: ImageLimits(maxFileBytes: maxImageBytes, maxPixels: maxImagePixels), sixteenBit: sixteenBit)
                o.config = try cluster.load()
                model.apply(to: &o.config)
                try job.apply(to: &o.config.winclip)
                o.embedded = cluster.config == nil && cluster.endpoint == nil
                o.kShot = kShot
                o.referenceDir = referenceDir
                o.output = output
                o.resume = resume
                o.saveMaps = saveMaps
                o.workers = workers
                o.progress = !quiet && logFormat == .human
                let stop = StopSignal()
                stop.installProcessHandlers()
                let outcome = try SubmitRunner.run(o, logger: logger, stop: stop)
                if outcome.summary.failed > 0 { throw SubmitExit.someImagesFailed }
            }
        }
    }

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a long-lived coordinator that takes submits and spreads them over its workers.",
            discussion: "Binds coordinator.endpoint of the cluster config (or --endpoint). Workers (`winclip-worker --config FILE`) and submits (`winclip-coord submit DATASET --config FILE`) connect to it. Stops on SIGINT or SIGTERM, telling clients and workers first. With security.mode curve only the keys of authorized_workers and authorized_clients may connect; SIGHUP re-reads those folders (docs/security.md). With mode none it refuses to bind an address other machines can reach unless security.allow_insecure is set.")

        @OptionGroup var cluster: ClusterFlags

        @Flag(help: "Log every step.")
        var verbose = false

        @Option(help: "Log lines on stderr: human (default) or json (one object per line: time, level, message, job, worker, image).")
        var logFormat: LogFormat = .human

        func run() throws {
            let logger = makeLogger("winclip-coord", verbose: verbose, quietLevel: .info, format: logFormat)
            try reportingErrors(format: logFormat) {
                let stop = StopSignal()
                stop.installProcessHandlers()
                let reload = ReloadSignal()
                reload.installProcessHandler()
                try ServeProcess.run(config: try cluster.load(), logger: logger, stop: stop, reload: reload)
            }
        }
    }
}
