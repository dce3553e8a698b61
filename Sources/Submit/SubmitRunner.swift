import Configuration
import Datasets
import Foundation
import Hub
import Logging
import Options
import Outputs
import Protocol
import Report
import Transport
import WinCLIP
import Worker
import AnomalyMetrics
import ImageInput

/// What `winclip-coord submit` was asked: the dataset, where to run, the merged configuration
/// (cluster.yaml, then the command line) and what to write.
public struct SubmitOptions: Sendable {
    /// A dataset folder, a benchmark root (every category), or with `datasetOptions.layout ==
    /// .fileList` a list of image paths ("-": standard input).
    public var dataset: String
    public var datasetOptions = DatasetOptions()
    /// Score every category of a benchmark root (also chosen when the folder is one).
    public var allCategories = false
    /// cluster.yaml with the command line's overrides applied (model, endpoint, job options).
    public var config = ClusterConfig()
    /// Run on an embedded cluster in this process (else submit to `config.coordinator.endpoint`).
    public var embedded = true
    public var kShot = 0
    public var referenceDir: String?
    public var output: String?
    /// Continue an interrupted job into `output`: keep its rows, compute the rest.
    public var resume = false
    public var saveMaps = false
    /// Embedded cluster: local workers (default one per core).
    public var workers: Int?
    public var progress = true
    /// Where the decision rule comes from.
    public var thresholds = ThresholdSource.learn
    /// Apply `--thresholds FILE` even when it was learned by another model, class or options.
    public var thresholdsFromOtherRun = false
    /// The command line as run (argv), to print the command that resumes an interrupted job.
    public var arguments: [String] = []
    /// How image files are read: size and pixel limits, 16-bit grey.
    public var decode = ImageDecodeOptions()
    /// The colour scale of the heat maps in the pictures.
    public var mapNormalization = MapNormalization.Mode.dataset
    public init(dataset: String) { self.dataset = dataset }
}

/// Where a job's decision rule (image threshold, normalisation) comes from.
public enum ThresholdSource: Sendable, Equatable {
    /// Learned from the run's labels (anomalib's F1-optimal threshold), saved to thresholds.json.
    case learn
    /// A thresholds.json of an earlier labelled run (`--thresholds FILE`).
    case file(String)
    /// An image threshold set by hand (`--threshold SCORE`).
    case manual(Float)
}

extension ThresholdSource {
    /// The thresholds file, for `.file`.
    var file: String? {
        if case .file(let path) = self { return path }
        return nil
    }
}

/// `winclip-coord submit`: everything between the parsed command line and the written results.
public enum SubmitRunner {
    public struct Outcome: Sendable {
        public var summary: JobSummary
        public var outputDirectory: URL
        public var metrics: MetricsReport?
        /// Images scored by this run (not restored by --resume): the throughput printed at the
        /// end is these over the run's seconds.
        public var scoredNow = 0
        public var imagesPerSecond: Double { summary.seconds > 0 ? Double(scoredNow) / summary.seconds : 0 }
        /// What the user was warned about (also printed, and in the report).
        public var warnings: [JobWarning] = []
        /// Why a labelled run has no pixel metrics.
        public var pixelMetricsSkipped: PixelMetricsSkip?
    }

    public static func run(_ o: SubmitOptions, logger: Logger, stop: StopSignal = StopSignal(),
                           print: @escaping (String) -> Void = printFlushed) throws -> Outcome {
        // Everything that can be wrong with the input is found before any work.
        try SubmitRefusal.check(o)
        if o.datasetOptions.layout != .fileList {
            let isBenchmark = try o.allCategories || BenchmarkRoot.detect(path: o.dataset) != nil
            if isBenchmark { return try runBenchmark(o, logger: logger, stop: stop, print: print) }
        }
        let dataset = try Dataset(path: o.dataset, options: o.datasetOptions, shouldStop: { stop.isRequested })
        let references = try referenceImages(o, dataset: dataset, stop: stop)
        var options = o.config.winclip
        options.className = options.className ?? dataset.className
        try options.validate(referenceCount: references.count)
        let target = try JobTarget(o, logger: logger, stop: stop)
        defer { target.shutdown() }
        try target.validate(options, referenceCount: references.count)
        return try runJob(dataset: dataset, references: references, options: options, output: o.output.map { URL(fileURLWithPath: $0) },
                          target: target, o, logger: logger, stop: stop, print: print)
    }

    /// Every category of a benchmark root, one job each (class name = category), outputs in
    /// per-category folders, then the paper's table in summary.md and summary.json.
    package static func runBenchmark(_ o: SubmitOptions, logger: Logger, stop: StopSignal, print: @escaping (String) -> Void) throws -> Outcome {
        guard let root = try BenchmarkRoot.detect(path: o.dataset) else {
            throw SubmitRefusal.notABenchmarkRoot(path: o.dataset)
        }
        if o.config.winclip.className != nil { throw SubmitRefusal.classNameForBenchmark }
        let base: URL
        if let output = o.output {
            base = URL(fileURLWithPath: output)
            try OutputFailure.translating(path: output) { try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true) }
        } else {
            base = try ResultWriter.newDefaultDirectory(in: URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("winclip-results"),
                                                        datasetName: root.root.lastPathComponent)
        }
        print("benchmark \(root.root.path): \(root.categories.count) \(root.layout.rawValue) categories (\(root.categories.map(\.name).joined(separator: ", "))) into \(base.path)")
        let target = try JobTarget(o, logger: logger, stop: stop)
        defer { target.shutdown() }
        var rows: [BenchmarkSummary.Category] = []
        var total = JobSummary(job: 0, scored: 0, failed: 0, seconds: 0, workers: [])
        for category in root.categories {
            if stop.isRequested { throw JobInterrupted(output: base.path, arguments: o.arguments) }
            do {
                let dataset = try root.dataset(category, shouldStop: { stop.isRequested })
                let references = try referenceImages(o, dataset: dataset, stop: stop)
                var options = o.config.winclip
                options.className = category.name
                try options.validate(referenceCount: references.count)
                try target.validate(options, referenceCount: references.count)
                let outcome = try runJob(dataset: dataset, references: references, options: options,
                                         output: base.appendingPathComponent(category.name), target: target, o,
                                         logger: logger, stop: stop, print: print)
                rows.append(.init(name: category.name, metrics: outcome.metrics))
                total.scored += outcome.summary.scored
                total.failed += outcome.summary.failed
                total.seconds += outcome.summary.seconds
                total.workers = Array(Set(total.workers + outcome.summary.workers)).sorted()
            } catch {
                if stop.isRequested { throw JobInterrupted(output: base.path, arguments: o.arguments) }
                print("\(category.name): \(error)")
                rows.append(.init(name: category.name, metrics: nil, error: "\(error)"))
            }
        }
        let summary = BenchmarkSummary(title: root.root.lastPathComponent, categories: rows)
        let written = try summary.write(to: base)
        print(summary.markdown())
        print("summary in \(written.markdown.path) and \(written.json.path)")
        return Outcome(summary: total, outputDirectory: base, metrics: summary.meanReport)
    }

    package static func referenceImages(_ o: SubmitOptions, dataset: Dataset, stop: StopSignal) throws -> [URL] {
        if let dir = o.referenceDir {
            let references = try Dataset.referenceFolder(dir, shouldStop: { stop.isRequested })
            if references.isEmpty { throw SubmitError("--reference-dir \(dir) holds no image") }
            return references
        }
        return o.kShot > 0 ? try dataset.references(kShot: o.kShot, shouldStop: { stop.isRequested }) : []
    }

    /// One dataset through one job: rows, maps, metrics. File-system errors of the output
    /// folder come out as plain sentences (`OutputFailure`).
    package static func runJob(dataset: Dataset, references: [URL], options: JobOptions, output: URL?, target: JobTarget,
                       _ o: SubmitOptions, logger: Logger, stop: StopSignal, print: @escaping (String) -> Void) throws -> Outcome {
        try OutputFailure.translating(path: output?.path ?? "the output folder") {
            try runJobWritingOutput(dataset: dataset, references: references, options: options, output: output, target: target, o,
                                    logger: logger, stop: stop, print: print)
        }
    }

    private static func runJobWritingOutput(dataset: Dataset, references: [URL], options: JobOptions, output: URL?, target: JobTarget,
                                            _ o: SubmitOptions, logger: Logger, stop: StopSignal,
                                            print: @escaping (String) -> Void) throws -> Outcome {
        // A reference is never scored against itself (layouts whose reference pool is also
        // their test set: the folder layout, VisA without its split file).
        let items = dataset.items(excludingReferences: references)
        var warnings: [JobWarning] = []
        func warn(_ warning: JobWarning) {
            warnings.append(warning)
            print("warning: \(warning)")
        }
        // A rule learned elsewhere is checked before any work (its model too, when known here).
        let savedThresholds = try o.thresholds.file.map { try Thresholds.load(from: URL(fileURLWithPath: $0)) }
        if let saved = savedThresholds, let file = o.thresholds.file {
            try checkThresholds(file, try ThresholdsMismatch.between(saved, fingerprint: target.fingerprint, options: options), o, warn: warn)
        }
        if dataset.masksExpected, items.contains(where: { $0.label != nil }) {
            let coverage = MaskCoverage(items: items)
            if !coverage.isComplete { warn(.missingMasks(coverage)) }
        }
        var record = JobRecord(fingerprint: target.fingerprint, options: options, references: references,
                               sixteenBit: o.decode.sixteenBit, dataset: dataset.root.standardizedFileURL.path, saveMaps: o.saveMaps)
        // --resume: the rows of the interrupted job that stand are kept; the rest is computed.
        var resumed: ResumeState?
        if let output {
            let results = output.appendingPathComponent("results.jsonl")
            if FileStatus.of(results).isDirectory { throw OutputFailure(.isFolder, path: results.path) }
        }
        if o.resume {
            guard let output else { throw SubmitRefusal.resumeWithoutOutput }
            let results = output.appendingPathComponent("results.jsonl")
            if let earlier = try JobRecord.load(from: output) {
                if let earlierMaps = earlier.saveMaps, earlierMaps != o.saveMaps { throw SubmitRefusal.resumeMixesMaps(earlierSavedMaps: earlierMaps) }
                let differences = record.differences(from: earlier)
                guard differences.isEmpty else { throw SubmitRefusal.resumeDiffers(output: output.path, differences: differences) }
                record.fingerprint = record.fingerprint ?? earlier.fingerprint
                let state = try ResumeState.load(results, directory: output, images: Set(items.map(\.relativePath)), needsMaps: o.saveMaps)
                // A folder from before job.json recorded --save-maps: its rows tell.
                if !o.saveMaps, state.kept.contains(where: { $0.map != nil || $0.mapSkipped }) {
                    throw SubmitRefusal.resumeMixesMaps(earlierSavedMaps: true)
                }
                try state.rewrite(results)
                resumed = state
                let redone = state.redone.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                print("resuming \(output.path): \(state.kept.count) image(s) done\(redone.isEmpty ? "" : "; computing again: \(redone)")")
            } else if let size = try? FileManager.default.attributesOfItem(atPath: results.path)[.size] as? Int, size > 0 {
                throw SubmitRefusal.resumeWithoutRecord(output: output.path)
            }
        }
        let keptImages = resumed?.keptImages ?? []
        let remaining = keptImages.isEmpty ? items : items.filter { !keptImages.contains($0.relativePath) }
        let writer = try ResultWriter(directory: output, datasetName: dataset.name,
                                      images: items.map(\.relativePath) + dataset.problems.map(\.relativePath), append: resumed != nil)
        try record.save(in: writer.directory)
        let shots = references.isEmpty ? "zero-shot" : "\(references.count)-shot"
        print("scoring \(remaining.count) image(s) of \(dataset.root.path) (\(dataset.layout.rawValue) layout, class '\(options.className ?? "")', \(shots), \(options.task.rawValue)) into \(writer.directory.path)")
        if dataset.skippedFiles > 0 { print("skipped \(dataset.skippedFiles) file(s) that are not images") }
        if dataset.duplicates > 0 { print("skipped \(dataset.duplicates) path(s) that name an image already listed") }
        let progress = o.progress ? ProgressReporter(total: remaining.count + dataset.problems.count) : nil
        let output = JobOutput(writer: writer, saveMaps: o.saveMaps, keepMapsForMetrics: items.contains { $0.label != nil },
                               progress: progress, note: { logger.notice("\($0)") })
        // Error rows are in results.jsonl; the log names them too (--verbose, or a log shipper's
        // `image` field under --log-format json).
        output.onFailedImage = { path, error in logger.info("image \(path) failed: \(error)") }
        if record.fingerprint == nil {
            // Record the model a coordinator chose, so that a resume asks for exactly it.
            output.onAccepted = { accepted in
                record.fingerprint = accepted.fingerprint
                try record.save(in: writer.directory)
            }
        }
        if let resumed {
            let byPath = Dictionary(uniqueKeysWithValues: items.map { ($0.relativePath, $0) })
            for row in resumed.kept { try output.restore(row, item: byPath[row.image]!) }
        }
        // What the scan could not use (unreadable folders, FIFOs, broken links) gets its row.
        for problem in dataset.problems { try output.problem(problem) }
        let job = SubmitJob(items: remaining, references: references, options: options, saveMaps: o.saveMaps, decode: o.decode,
                            fingerprint: record.fingerprint)
        var summary = JobSummary(job: 0, scored: 0, failed: 0, seconds: 0, workers: [])
        do {
            if !remaining.isEmpty { summary = try target.client.run(job, sink: output, stop: stop) }
        } catch where stop.isRequested {
            progress?.finish()
            throw JobInterrupted(output: writer.directory.path, arguments: o.arguments)
        }
        let scoredNow = summary.scored  // images scored by this run (error rows excluded, as before)
        summary.scored += resumed?.kept.count ?? 0
        summary.failed += dataset.problems.count
        progress?.finish()
        try writer.close()
        let metrics = try output.metrics(items: items)
        if let skipped = output.pixelMetricsSkipped { print("note: \(skipped)") }
        if resumed != nil, metrics != nil, metrics?.pixelAUROC == nil, items.contains(where: { $0.label == 1 && $0.maskURL != nil }), !o.saveMaps {
            print("note: pixel metrics of a resumed job need the maps of every image: resume with --save-maps (as the first run)")
        }
        // Decisions, thresholds.json, pictures and report.html, from the written results.
        let optionsJSON = try JSONValue(encoding: options)
        let choice: JobReport.ThresholdChoice
        switch o.thresholds {
        case .learn: choice = .learn(pixel: output.pixelThreshold, fingerprint: target.fingerprint, options: optionsJSON)
        case .manual(let value): choice = .manual(imageThreshold: value, fingerprint: target.fingerprint, options: optionsJSON)
        case .file(let file):
            // The model a coordinator chose is known only now.
            if target.fingerprint == nil {
                try checkThresholds(file, ThresholdsMismatch.model(savedThresholds!, fingerprint: record.fingerprint), o, warn: warn)
            }
            choice = .apply(savedThresholds!)
        }
        var facts = [ReportFact("dataset", "\(dataset.root.path) (\(dataset.layout.rawValue) layout)"), ReportFact("class", options.className ?? ""),
                     ReportFact("references", shots), ReportFact.model(o.config.model, fingerprint: target.fingerprint)]
        if let skipped = output.pixelMetricsSkipped { facts.append(ReportFact("pixel metrics", "\(skipped)")) }
        facts += warnings.map { ReportFact("warning", "\($0)") }
        let report = try JobReport.finish(
            directory: writer.directory, writer: writer, title: "WinCLIP results: \(dataset.name)", metrics: metrics, thresholds: choice,
            pictures: o.saveMaps ? JobReport.PictureSettings(items: items, heat: o.mapNormalization) : nil, facts: facts,
            items: items, pixelCurves: output.pixelCurves)
        for failure in report.pictureFailures.prefix(5) { logger.warning("picture not drawn: \(failure)") }
        if let metrics {
            try MetricsFile(metrics: metrics, thresholds: report.thresholds, pixelSkipped: output.pixelMetricsSkipped)
                .write(to: writer.directory.appendingPathComponent("metrics.json"))
            print(metrics.table())
        }
        if let t = report.thresholds?.image { print(String(format: "image threshold %.6g", Double(t.threshold)) + " (\(t.source.rawValue))") }
        print("report: \(report.report.path)")
        var outcome = Outcome(summary: summary, outputDirectory: writer.directory, metrics: metrics, scoredNow: scoredNow,
                              warnings: warnings, pixelMetricsSkipped: output.pixelMetricsSkipped)
        // Images per second of this run's work only: rows restored by --resume took no time here.
        let restored = resumed.map { " (\($0.kept.count) restored by --resume)" } ?? ""
        print("\(summary.scored) scored, \(summary.failed) failed\(restored)"
              + String(format: " in %.1f s (%.2f images/s", summary.seconds, outcome.imagesPerSecond)
              + (resumed != nil ? " over the \(scoredNow) scored now" : "")
              + ") on \(summary.workers.count) worker(s); results in " + writer.directory.path)
        outcome.summary = summary
        return outcome
    }

    /// Refuses a thresholds file learned by another run, unless `--thresholds-from-other-run`
    /// (then a warning, printed and in the report).
    package static func checkThresholds(_ file: String, _ differences: [ThresholdsMismatch], _ o: SubmitOptions,
                                warn: (JobWarning) -> Void) throws {
        guard !differences.isEmpty else { return }
        guard o.thresholdsFromOtherRun else { throw SubmitRefusal.thresholdsFromOtherRun(file: file, differences: differences) }
        warn(.thresholdsFromOtherRun(file: file, differences: differences))
    }
}

/// Where a submit's jobs run: an embedded cluster in this process (the model loaded here, so a
/// bad weights file stops us before any work), or a coordinator.
package final class JobTarget: Sendable {
    let client: SubmitClient
    /// The model fingerprint jobs require (nil: the one most of the coordinator's workers have).
    let fingerprint: String?
    let gridSize: Int?
    private let cluster: EmbeddedCluster?

    init(_ o: SubmitOptions, logger: Logger, stop: StopSignal) throws {
        let model = o.config.model
        if o.embedded {
            let workers = o.workers ?? ProcessInfo.processInfo.activeProcessorCount
            // bf16 is set up only when asked for, and refused here when this CPU cannot run it.
            let backends = try ComputeBackends.make(threads: 1, bf16: o.config.winclip.precision == .bf16, logger: logger)
            _ = try backends.backend(for: o.config.winclip.precision)
            let loaded = try ModelLoading.load(config: model.config, pretrained: model.pretrained, weights: model.weights, logger: logger, stop: stop)
            let cluster = try EmbeddedCluster(model: loaded.model, fingerprint: loaded.fingerprint, workers: workers, backends: backends, logger: logger)
            self.cluster = cluster
            fingerprint = loaded.fingerprint
            gridSize = loaded.model.config.vision.gridSize
            client = SubmitClient(context: cluster.context, endpoint: cluster.endpoint, logger: logger)
        } else {
            // When the model named in the config is on this machine (a file, or in the hub
            // cache: nothing is downloaded for this), jobs ask for exactly it; otherwise they
            // run on the model most of the coordinator's workers have.
            do {
                let weights = try ModelLoading.resolveWeights(config: model.config, pretrained: model.pretrained, weights: model.weights,
                                                              logger: logger, policy: .cacheOnly)
                let config = try ModelConfig.load(model.config)
                fingerprint = try ModelFingerprint.compute(config: config, weightsPath: weights.path.path)
                gridSize = config.vision.gridSize
                logger.info("jobs require model fingerprint \(fingerprint!) (\(weights.path.path))")
            } catch HubError.notCached(_), HubError.localFileMissing(_), HubError.noWeightsGiven(_, _) {
                logger.info("the model's weights are not on this machine: jobs run on the model most of the coordinator's workers have")
                fingerprint = nil
                gridSize = nil
            }
            cluster = nil
            let endpoint = o.config.coordinator.endpoint
            if let warning = try o.config.security.checkEndpoint(endpoint) { logger.warning("\(warning)") }
            var remote = SubmitClient(context: ZMQContext(), endpoint: endpoint, logger: logger)
            remote.security = try o.config.security.peerSecurity()
            let maxReferences = o.config.security.maxReferences
            remote.maxFrameBytes = (try? ModelConfig.load(model.config)).map { FrameLimit.bytes(for: $0, maxReferences: maxReferences) }
                ?? FrameLimit.bytesForLargestBuiltIn(maxReferences: maxReferences)
            remote.settings.heartbeatInterval = o.config.coordinator.heartbeatSeconds
            remote.settings.silenceTimeout = o.config.submit.silenceSeconds
            remote.settings.reconnectGrace = o.config.submit.reconnectGraceSeconds
            client = remote
        }
    }

    /// The options against the model's grid, when the model is known here.
    func validate(_ options: JobOptions, referenceCount: Int) throws {
        if let gridSize { try options.validate(referenceCount: referenceCount, gridSize: gridSize) }
    }

    func shutdown() { cluster?.shutdown() }
}

/// Prints a line and flushes it, so that it appears before the progress on stderr.
public func printFlushed(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// metrics.json: anomalib's metrics and the thresholds the run's decisions used.
struct MetricsFile: Encodable {
    let metrics: MetricsReport
    let thresholds: Thresholds?
    /// Why the pixel metrics are null: `"pixel_metrics_skipped": {"reason": ..., "message": ...}`.
    var pixelSkipped: PixelMetricsSkip?

    func encode(to encoder: Encoder) throws {
        try metrics.encode(to: encoder)
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        if let thresholds { try c.encode(thresholds, forKey: AnyCodingKey(stringValue: "thresholds")) }
        if let pixelSkipped {
            try c.encode(["reason": pixelSkipped.reason, "message": pixelSkipped.description], forKey: AnyCodingKey(stringValue: "pixel_metrics_skipped"))
        }
    }

    func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url)
    }
}
