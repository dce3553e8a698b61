/// Which anomalous images of a labelled dataset have a ground-truth mask. Pixel metrics need one
/// for every anomalous image, so a layout that comes with masks (MVTec AD, MVTec AD 2, VisA, the
/// folder layout with `--mask-dir`) but misses some is warned about before the job starts.
public struct MaskCoverage: Equatable, Sendable {
    /// Anomalous (label 1) images.
    public let anomalous: Int
    /// The relative paths of the anomalous images without a mask, in dataset order.
    public let missing: [String]

    public init(items: [DatasetItem]) {
        let anomalous = items.filter { $0.label == 1 }
        self.anomalous = anomalous.count
        missing = anomalous.filter { $0.maskURL == nil }.map(\.relativePath)
    }

    public init(anomalous: Int, missing: [String]) {
        self.anomalous = anomalous
        self.missing = missing
    }

    public var isComplete: Bool { missing.isEmpty }
}

extension Dataset {
    /// Whether the layout comes with ground-truth masks, so a missing one is a problem.
    public var masksExpected: Bool {
        switch layout {
        case .mvtec, .mvtecAD2, .visa: return true
        case .folder: return hasMaskFolder
        case .plain, .fileList: return false
        }
    }
}
