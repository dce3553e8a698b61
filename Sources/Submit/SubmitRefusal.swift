import Foundation

/// Settings a submit refuses before it computes anything, each naming the option to change.
public enum SubmitRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    /// `--workers N` below 1: an embedded cluster without a worker would wait forever.
    case noWorkers(requested: Int)
    /// `--task classification --save-maps`: classification computes no maps to save.
    case mapsWithoutSegmentation
    /// `--resume` with or without `--save-maps` unlike the run it continues: the folder would
    /// hold rows with maps and rows without.
    case resumeMixesMaps(earlierSavedMaps: Bool)
    /// `--resume` into a folder whose results were computed otherwise (job.json).
    case resumeDiffers(output: String, differences: [ResumeDifference])
    /// `--resume` without `--output`: there is no folder to continue.
    case resumeWithoutOutput
    /// `--resume` into a folder with results but no job.json saying how they were computed.
    case resumeWithoutRecord(output: String)
    /// `--all-categories` on a folder that is not a benchmark root.
    case notABenchmarkRoot(path: String)
    /// `--class-name` for a whole benchmark, whose categories are each their own class.
    case classNameForBenchmark
    /// `--thresholds FILE` learned by a run of another model, class or options (accepted with
    /// `--thresholds-from-other-run`).
    case thresholdsFromOtherRun(file: String, differences: [ThresholdsMismatch])

    public var description: String {
        switch self {
        case .noWorkers(let n):
            return "--workers \(n): an embedded cluster needs at least one worker (default: one per core)"
        case .mapsWithoutSegmentation:
            return "--save-maps needs maps, and --task classification computes none: use --task segmentation, or drop --save-maps"
        case .resumeMixesMaps(let earlier):
            return earlier
                ? "--resume without --save-maps: the interrupted run saved maps, so its folder would mix rows with maps and rows without; resume with --save-maps"
                : "--resume with --save-maps: the interrupted run saved no maps, so its folder would mix rows with maps and rows without; resume without --save-maps, or start again in another --output"
        case .resumeDiffers(let output, let differences):
            return "--resume: \(output) holds results computed otherwise (\(differences.map(\.description).joined(separator: "; "))); resume with the same settings, or choose another --output"
        case .resumeWithoutOutput:
            return "--resume needs --output DIR: the folder of the job to continue"
        case .resumeWithoutRecord(let output):
            return "--resume: \(output) has results but no \(JobRecord.fileName) saying how they were computed; choose another --output"
        case .notABenchmarkRoot(let path):
            return "--all-categories: \(path) is not a benchmark root (a folder whose sub-folders are MVTec AD, MVTec AD 2 or VisA categories)"
        case .classNameForBenchmark:
            return "--class-name does not apply to a whole benchmark: each category is its own class"
        case .thresholdsFromOtherRun(let file, let differences):
            return "--thresholds \(file) was learned by another run (\(differences.map(\.description).joined(separator: "; "))); "
                + "its threshold does not fit this run's scores. Learn one from labelled images of this setup, or pass --thresholds-from-other-run to apply it anyway"
        }
    }
}

extension SubmitRefusal {
    /// The combinations of options refused before any work.
    static func check(_ o: SubmitOptions) throws(SubmitRefusal) {
        if o.embedded, let workers = o.workers, workers < 1 { throw .noWorkers(requested: workers) }
        if o.saveMaps && o.config.winclip.task == .classification { throw .mapsWithoutSegmentation }
    }
}
