/// Why a labelled run has no pixel metrics (written to metrics.json and the report, so that
/// `null` pixel figures never go unexplained).
public enum PixelMetricsSkip: Equatable, Sendable, CustomStringConvertible {
    /// Anomalous images without a ground-truth mask.
    case missingMasks(missing: Int, anomalous: Int)
    /// Labelled images that came without an anomaly map (`--task classification`,
    /// `--segment-above`, or resumed rows whose maps were not saved).
    case missingMaps(images: Int)
    /// A mask file that cannot be read.
    case unreadableMask(image: String, reason: String)

    public var description: String {
        switch self {
        case .missingMasks(let missing, let anomalous):
            return "pixel metrics skipped: \(missing) of \(anomalous) anomalous image(s) have no ground-truth mask"
        case .missingMaps(let images):
            return "pixel metrics skipped: \(images) labelled image(s) have no anomaly map (--task classification or --segment-above computes none for them)"
        case .unreadableMask(let image, let reason):
            return "pixel metrics skipped: the mask of \(image) cannot be read (\(reason))"
        }
    }

    /// The key of metrics.json's `pixel_metrics_skipped.reason`.
    public var reason: String {
        switch self {
        case .missingMasks: return "missing_masks"
        case .missingMaps: return "missing_maps"
        case .unreadableMask: return "unreadable_mask"
        }
    }
}
