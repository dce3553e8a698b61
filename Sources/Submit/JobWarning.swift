import Datasets
/// What a submit warns about (on the terminal and in the report) and carries on.
public enum JobWarning: Equatable, Sendable, CustomStringConvertible {
    /// A layout with masks, some anomalous images without one.
    case missingMasks(MaskCoverage)
    /// `--thresholds-from-other-run` applied a rule learned elsewhere.
    case thresholdsFromOtherRun(file: String, differences: [ThresholdsMismatch])

    public var description: String {
        switch self {
        case .missingMasks(let coverage):
            let shown = coverage.missing.prefix(3).joined(separator: ", ") + (coverage.missing.count > 3 ? ", …" : "")
            return "\(coverage.missing.count) of \(coverage.anomalous) anomalous image(s) have no matching ground-truth mask (\(shown)); "
                + "pixel metrics will be skipped"
        case .thresholdsFromOtherRun(let file, let differences):
            return "decisions use \(file), learned by another run (\(differences.map(\.description).joined(separator: "; "))), "
                + "applied as asked by --thresholds-from-other-run"
        }
    }
}
