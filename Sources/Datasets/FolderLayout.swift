import Foundation

/// The folders of anomalib's Folder dataset (`--normal-dir`, `--abnormal-dir`,
/// `--normal-test-dir`, `--mask-dir`): absolute, or relative to the dataset folder.
public struct FolderLayoutDirs: Sendable, Equatable {
    public var normalDir: String
    public var abnormalDir: String?
    public var normalTestDir: String?
    public var maskDir: String?

    public init(normalDir: String, abnormalDir: String? = nil, normalTestDir: String? = nil, maskDir: String? = nil) {
        self.normalDir = normalDir
        self.abnormalDir = abnormalDir
        self.normalTestDir = normalTestDir
        self.maskDir = maskDir
    }
}

/// anomalib's Folder dataset, kept simple (anomalib's random split of normal images into test
/// images is replaced by a rule):
///
/// - `--abnormal-dir`: every image under it is scored, label 1; defect type = its sub-folder
///   under the abnormal folder, or the abnormal folder's name for an image directly in it;
/// - `--normal-test-dir` given: its images are scored, label 0, and `--normal-dir` only
///   provides the few-shot references (anomalib's train split);
/// - otherwise `--normal-dir`'s images are scored, label 0, and references are its first K
///   images, which must then be left out (`items(excludingReferences:)`);
/// - `--mask-dir`: the mask of `<abnormal-dir>/<sub>/<stem>.<ext>` is the first regular file of
///   `<mask-dir>/<sub>/<stem>_mask.png`, `<stem>.png`, `<stem>_mask.<ext>`, `<stem>.<ext>`,
///   then the same names directly in `<mask-dir>`.
///
/// A folder nested in another (masks inside the abnormal folder, say) is not scanned twice.
/// Relative paths are relative to the dataset folder (absolute for folders outside it).
/// The class name is "object", as anomalib's Folder datamodule has no category.
extension Dataset {
    package static func readFolderLayout(_ root: URL, dirs: FolderLayoutDirs, scanner: DirectoryScanner) throws -> DatasetContents {
        func resolve(_ path: String?, _ flag: String) throws -> URL? {
            guard let path else { return nil }
            let full = path.hasPrefix("/") ? path : root.appendingPathComponent(path).path
            do { return try checkedFolder(full) } catch let error as DatasetError {
                throw DatasetError.folderOptions("\(flag): \(error)")
            }
        }
        let normal = try resolve(dirs.normalDir, "--normal-dir")!
        let abnormal = try resolve(dirs.abnormalDir, "--abnormal-dir")
        let normalTest = try resolve(dirs.normalTestDir, "--normal-test-dir")
        let masks = try resolve(dirs.maskDir, "--mask-dir")
        if masks != nil, abnormal == nil { throw DatasetError.folderOptions("--mask-dir needs --abnormal-dir (masks belong to anomalous images)") }
        let all = [normal, abnormal, normalTest, masks].compactMap { $0 }
        if Set(all.map(\.path)).count != all.count {
            throw DatasetError.folderOptions("--normal-dir, --abnormal-dir, --normal-test-dir and --mask-dir must be different folders")
        }

        /// Relative paths of the other folders nested in `folder`, not to be entered.
        func nested(in folder: URL) -> Set<String> {
            Set(all.filter { $0 != folder }.compactMap { other in
                let relative = relativePath(of: other, under: folder)
                return relative.hasPrefix("/") ? nil : relative
            })
        }
        func prefix(_ folder: URL) -> String {
            folder.path == root.path ? "" : relativePath(of: folder, under: root) + "/"
        }
        func scan(_ folder: URL) throws -> ScanResult {
            try scanner.scan(folder, relativePrefix: prefix(folder), skipping: nested(in: folder))
        }

        var items: [DatasetItem] = []
        var problems: [DatasetProblem] = []
        var skipped = 0, duplicates = 0
        func add(_ result: ScanResult, _ item: (ScannedImage) -> DatasetItem) {
            items += result.images.map(item)
            problems += result.problems
            skipped += result.skippedFiles
            duplicates += result.repeatedFolders
        }
        let normalScored = normalTest ?? normal
        add(try scan(normalScored)) { DatasetItem(relativePath: $0.relativePath, url: $0.url, label: 0, maskURL: nil, defectType: "good") }
        if let abnormal {
            let abnormalPrefix = prefix(abnormal)
            add(try scan(abnormal)) { image in
                let inner = String(image.relativePath.dropFirst(abnormalPrefix.count))
                let parts = inner.split(separator: "/")
                let defect = parts.count > 1 ? String(parts[0]) : abnormal.lastPathComponent
                var mask: URL?
                if let masks {
                    let ext = (inner as NSString).pathExtension
                    let names = { (s: String) in ["\(s)_mask.png", "\(s).png", "\(s)_mask.\(ext)", "\(s).\(ext)"] }
                    let stem = stem(inner)
                    let flat = (stem as NSString).lastPathComponent
                    mask = firstRegularFile(in: masks, names(stem) + (flat == stem ? [] : names(flat)))
                }
                return DatasetItem(relativePath: image.relativePath, url: image.url, label: 1, maskURL: mask, defectType: defect)
            }
        }
        guard !items.isEmpty else {
            if let first = problems.first {
                throw DatasetError.noUsableImages(folder: root.path, problems: problems.count, first: first.description)
            }
            throw DatasetError.noImages(folder: ([normalScored] + [abnormal].compactMap { $0 }).map(\.path).joined(separator: ", "),
                                        skipped: skipped)
        }
        items.sort { $0.relativePath < $1.relativePath }
        problems.sort { $0.relativePath < $1.relativePath }
        return DatasetContents(className: "object", items: items, problems: problems, skippedFiles: skipped,
                               duplicates: duplicates, referencePool: .folder(normal, skipping: nested(in: normal)))
    }
}
