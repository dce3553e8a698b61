import Foundation
import Logging
import Options
import Protocol
import WinCLIP

/// What `winclip-coord submit` was asked: the dataset, where to run, the merged configuration
/// (cluster.yaml, then the command line) and what to write.
public struct SubmitOptions: Sendable {
    public var dataset: String
    /// cluster.yaml with the command line's overrides applied (model, endpoint, job options).
    public var config = ClusterConfig()
    /// Run on an embedded cluster in this process (else submit to `config.coordinator.endpoint`).
    public var embedded = true
    public var kShot = 0
    public var referenceDir: String?
    public var output: String?
    public var saveMaps = false
    /// Embedded cluster: local workers (default one per core).
    public var workers: Int?
    public var progress = true
    public init(dataset: String) { self.dataset = dataset }
}

/// `winclip-coord submit`: everything between the parsed command line and the written results.
public enum SubmitRunner {
    public struct Outcome: Sendable {
        public var summary: JobSummary
        public var outputDirectory: URL
        public var metrics: MetricsReport?
    }

    public static func run(_ o: SubmitOptions, logger: Logger, stop: StopSignal = StopSignal(),
                           print: @escaping (String) -> Void = printFlushed) throws -> Outcome {
        // Everything that can be wrong with the input is found before any work.
        let dataset = try Dataset(path: o.dataset)
        var references: [URL] = []
        if let dir = o.referenceDir {
            references = try Dataset.referenceFolder(dir)
            if references.isEmpty { throw SubmitError("--reference-dir \(dir) holds no image") }
        } else if o.kShot > 0 {
            references = try dataset.references(kShot: o.kShot)
        }
        var options = o.config.winclip
        options.className = options.className ?? dataset.className
        try options.validate(referenceCount: references.count)
        let writer = try ResultWriter(directory: o.output.map { URL(fileURLWithPath: $0) }, datasetName: dataset.name,
                                      images: dataset.items.map(\.relativePath))
        print("scoring \(dataset.items.count) image(s) of \(dataset.root.path) (\(dataset.layout.rawValue) layout, class '\(options.className!)', \(references.isEmpty ? "zero-shot" : "\(references.count)-shot")) into \(writer.directory.path)")
        if dataset.skippedFiles > 0 { print("skipped \(dataset.skippedFiles) file(s) that are not images") }

        var job = SubmitJob(items: dataset.items, references: references, options: options, saveMaps: o.saveMaps)
        let progress = o.progress ? ProgressReporter(total: dataset.items.count) : nil
        let output = JobOutput(writer: writer, saveMaps: o.saveMaps, keepMapsForMetrics: dataset.items.contains { $0.label != nil },
                               progress: progress, note: { logger.notice("\($0)") })
        let summary: JobSummary
        let model = o.config.model
        if o.embedded {
            // Embedded cluster: the model is loaded here (a bad weights file stops us now).
            let workers = o.workers ?? ProcessInfo.processInfo.activeProcessorCount
            let gemm = try OpenBLASBackend(threads: 1, logger: logger)
            let loaded = try ModelLoading.load(config: model.config, weights: model.weights, logger: logger)
            try options.validate(referenceCount: references.count, gridSize: loaded.model.config.vision.gridSize)
            job.fingerprint = loaded.fingerprint
            let cluster = try EmbeddedCluster(model: loaded.model, fingerprint: loaded.fingerprint, workers: workers, gemm: gemm, logger: logger)
            defer { cluster.shutdown() }
            let client = SubmitClient(context: cluster.context, endpoint: cluster.endpoint, logger: logger)
            summary = try client.run(job, sink: output, stop: stop)
        } else {
            // When the model named in the config is readable here, the job asks for exactly
            // it; otherwise it runs on the model most of the coordinator's workers have.
            if let weights = model.weights, FileManager.default.isReadableFile(atPath: weights) {
                job.fingerprint = try ModelFingerprint.compute(config: try ModelConfig.load(model.config), weightsPath: weights)
                logger.info("job requires model fingerprint \(job.fingerprint!) (\(weights))")
            }
            let client = SubmitClient(context: ZMQContext(), endpoint: o.config.coordinator.endpoint, logger: logger)
            summary = try client.run(job, sink: output, stop: stop)
        }
        progress?.finish()
        try writer.close()
        let metrics = try output.metrics(items: dataset.items)
        if let metrics {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(metrics).write(to: writer.directory.appendingPathComponent("metrics.json"))
            print(metrics.table())
        }
        let rate = summary.seconds > 0 ? Double(summary.scored) / summary.seconds : 0
        print(String(format: "%d scored, %d failed in %.1f s (%.2f images/s) on %d worker(s); results in ",
                     summary.scored, summary.failed, summary.seconds, rate, summary.workers.count) + writer.directory.path)
        return Outcome(summary: summary, outputDirectory: writer.directory, metrics: metrics)
    }
}

/// Prints a line and flushes it, so that it appears before the progress on stderr.
public func printFlushed(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
