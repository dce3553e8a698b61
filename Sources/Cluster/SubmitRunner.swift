import Foundation
import Hub
import Logging
import Protocol
import WinCLIP

/// `winclip-coord submit`: everything between the parsed command line and the written results.
public enum SubmitRunner {
    public struct Options: Sendable {
        public var dataset: String
        /// nil: an embedded cluster in this process.
        public var clusterConfig: String?
        public var modelConfig: String?
        public var weights: String?
        public var pretrained: String?
        public var className: String?
        public var kShot = 0
        public var referenceDir: String?
        public var scales: [Int]?
        public var windowAttention: String?
        public var windowBatch: Int?
        public var output: String?
        public var saveMaps = false
        public var workers: Int?
        public var endpoint: String?
        public var progress = true
        public init(dataset: String) { self.dataset = dataset }
    }

    public struct Outcome: Sendable {
        public var summary: JobSummary
        public var outputDirectory: URL
        public var metrics: MetricsReport?
    }

    public static func run(_ o: Options, logger: Logger, stop: StopSignal = StopSignal(), print: @escaping (String) -> Void = { Swift.print($0); fflush(stdout) }) throws -> Outcome {
        // Everything that can be wrong with the input is found before any work.
        let dataset = try Dataset(path: o.dataset)
        var config = try o.clusterConfig.map { try ClusterConfig.load(path: $0) } ?? ClusterConfig()
        if let v = o.modelConfig { config.modelConfig = v }
        if let v = o.weights { config.weights = v }
        if let v = o.pretrained { config.pretrained = v }
        if let v = o.scales { config.scales = v }
        if let v = o.windowAttention { config.windowAttention = v }
        if let v = o.windowBatch { config.windowBatch = v }
        if let v = o.endpoint { config.endpoint = v }
        guard let attention = WindowAttention(rawValue: config.windowAttention) else {
            throw SubmitError("unknown window attention '\(config.windowAttention)'; use one of \(WindowAttention.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard !config.scales.isEmpty, config.scales.allSatisfy({ $0 > 0 }) else { throw SubmitError("--scales must be positive integers, e.g. 2,3") }
        var references: [URL] = []
        if let dir = o.referenceDir {
            references = try Dataset.referenceFolder(dir)
            if references.isEmpty { throw SubmitError("--reference-dir \(dir) holds no image") }
        } else if o.kShot > 0 {
            references = try dataset.references(kShot: o.kShot)
        }
        let className = o.className ?? dataset.className
        let writer = try ResultWriter(directory: o.output.map { URL(fileURLWithPath: $0) }, datasetName: dataset.name,
                                      images: dataset.items.map(\.relativePath))
        print("scoring \(dataset.items.count) image(s) of \(dataset.root.path) (\(dataset.layout.rawValue) layout, class '\(className)', \(references.isEmpty ? "zero-shot" : "\(references.count)-shot")) into \(writer.directory.path)")
        if dataset.skippedFiles > 0 { print("skipped \(dataset.skippedFiles) file(s) that are not images") }

        var job = SubmitJob(datasetRoot: dataset.root, items: dataset.items, className: className, references: references,
                            options: ScoringOptions(scales: config.scales, windowAttention: attention),
                            windowBatch: config.windowBatch, saveMaps: o.saveMaps)
        let progress = o.progress ? ProgressReporter(total: dataset.items.count) : nil
        let output = JobOutput(writer: writer, saveMaps: o.saveMaps, keepMapsForMetrics: dataset.items.contains { $0.label != nil },
                               progress: progress, note: { logger.notice("\($0)") })
        let summary: JobSummary
        if o.clusterConfig == nil {
            // Embedded cluster: the model is loaded here (a bad weights file stops us now).
            let workers = o.workers ?? ProcessInfo.processInfo.activeProcessorCount
            let gemm = try OpenBLASBackend(threads: 1, logger: logger)
            let (model, weights) = try ModelLoading.load(config: config.modelConfig, pretrained: config.pretrained, weights: config.weights,
                                                         logger: logger, stop: stop)
            for scale in config.scales where scale > model.config.vision.gridSize {
                throw SubmitError("window scale \(scale) exceeds the \(model.config.vision.gridSize)x\(model.config.vision.gridSize) patch grid of \(model.config.name)")
            }
            let fingerprint = try ModelFingerprint.compute(config: model.config, weightsPath: weights.path.path)
            job.fingerprint = fingerprint
            let cluster = try EmbeddedCluster(model: model, fingerprint: fingerprint, workers: workers, gemm: gemm, logger: logger)
            defer { cluster.shutdown() }
            let client = SubmitClient(context: cluster.context, endpoint: cluster.endpoint, logger: logger)
            summary = try client.run(job, sink: output, stop: stop)
        } else {
            // When the model named in the config is on this machine (a file, or in the hub
            // cache: no download for this), the job asks for exactly it; otherwise it runs on
            // the model most of the coordinator's workers have.
            do {
                let weights = try ModelLoading.resolveWeights(config: config.modelConfig, pretrained: config.pretrained, weights: config.weights,
                                                              logger: logger, policy: .cacheOnly)
                let modelConfig = try ModelConfig.load(config.modelConfig)
                job.fingerprint = try ModelFingerprint.compute(config: modelConfig, weightsPath: weights.path.path)
                logger.info("job requires model fingerprint \(job.fingerprint!) (\(weights.path.path))")
            } catch HubError.notCached(_), HubError.localFileMissing(_), HubError.noWeightsGiven(_, _) {
                logger.info("the model's weights are not on this machine: the job runs on the model most of the coordinator's workers have")
            }
            let client = SubmitClient(context: ZMQContext(), endpoint: config.endpoint, logger: logger)
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
