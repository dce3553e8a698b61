import Foundation

/// How a dataset folder is organised, which decides what is scored, the labels, masks, defect
/// types, class name and few-shot references. The raw values are the `--layout` names.
public enum DatasetLayout: String, Sendable, CaseIterable, Codable {
    /// An MVTec AD category (`train/`, `test/<defect>/`, `ground_truth/<defect>/`); also what
    /// anomalib's VisA preparation writes (`visa_pytorch/<category>`), which anomalib reads
    /// with the same function.
    case mvtec
    /// An MVTec AD 2 category (`train/good`, `validation/good`, `test_public/{good,bad}`,
    /// `test_public/ground_truth/bad/<stem>_mask.png`).
    case mvtecAD2 = "mvtec-ad2"
    /// A raw VisA category (`Data/Images/{Normal,Anomaly}`, `Data/Masks/Anomaly`), split by
    /// `split_csv/1cls.csv` when there is one.
    case visa
    /// anomalib's Folder dataset: `--normal-dir`, `--abnormal-dir`, `--normal-test-dir`, `--mask-dir`.
    case folder
    /// Every image under the folder, unlabelled.
    case plain
    /// One image path per line of a text file (or standard input).
    case fileList = "file-list"

    /// The layouts of benchmark categories, the ones a benchmark root is made of.
    public var isBenchmarkCategory: Bool {
        switch self {
        case .mvtec, .mvtecAD2, .visa: return true
        case .folder, .plain, .fileList: return false
        }
    }

    /// The category layouts whose markers `folder` carries (see `detect`); empty for none.
    /// Only `stat` is used: nothing is opened.
    public static func candidates(_ folder: URL) -> [DatasetLayout] {
        func has(_ relative: String) -> Bool { FileStatus.of(Dataset.url(folder, relative: relative)).isDirectory }
        var found: [DatasetLayout] = []
        if has("train"), has("test") { found.append(.mvtec) }
        if has("test_public") || (has("train") && has("validation") && !has("test")) { found.append(.mvtecAD2) }
        if has("Data/Images") { found.append(.visa) }
        return found
    }

    /// The layout of a category folder when its markers name exactly one: `train/` and `test/`
    /// for MVTec AD, `test_public/` (or `train/` and `validation/` without `test/`) for MVTec
    /// AD 2, `Data/Images/` for VisA; nil when none does (a plain folder, or a benchmark root).
    public static func detect(_ folder: URL) throws -> DatasetLayout? {
        let found = candidates(folder)
        if found.count > 1 { throw DatasetError.ambiguousLayout(folder: folder.path, candidates: found) }
        return found.first
    }
}

extension Dataset {
    public typealias Layout = DatasetLayout
}
