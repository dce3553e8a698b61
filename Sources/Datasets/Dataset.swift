import Foundation

/// One image to score. `relativePath` uses '/' separators and is relative to the dataset root;
/// it names the image in results.jsonl and under the output's maps/ folder.
public struct DatasetItem: Sendable, Equatable {
    public let relativePath: String
    public let url: URL
    /// 0 normal, 1 anomalous; nil when the layout carries no labels.
    public let label: Int?
    /// Ground-truth mask of an anomalous image; nil for normal images, unlabelled images, and
    /// anomalous images whose mask file is missing.
    public let maskURL: URL?
    /// What the layout says about the image, for reports grouped by defect: "good" for every
    /// normal image; for an anomalous one MVTec AD's sub-folder of `test/` ("crack"), "bad" in
    /// MVTec AD 2, "anomaly" in raw VisA, the folder layout's sub-folder of `--abnormal-dir` (or
    /// that folder's name); nil when unknown (unlabelled, or an image directly in `test/`).
    public let defectType: String?

    public init(relativePath: String, url: URL, label: Int?, maskURL: URL?, defectType: String? = nil) {
        self.relativePath = relativePath
        self.url = url
        self.label = label
        self.maskURL = maskURL
        self.defectType = defectType
    }
}

/// How to read a dataset folder; the defaults detect the layout.
public struct DatasetOptions: Sendable, Equatable {
    /// nil: detected (see `DatasetLayout.detect`); `.folder` when `folder` is set.
    public var layout: DatasetLayout?
    /// The folders of the folder layout.
    public var folder: FolderLayoutDirs?

    public init(layout: DatasetLayout? = nil, folder: FolderLayoutDirs? = nil) {
        self.layout = layout
        self.folder = folder
    }
}

public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case missingFolder(String)
    case notAFolder(String)
    /// No image file under the folder; `skipped` counts the non-image files that were there.
    case noImages(folder: String, skipped: Int)
    /// Nothing to score: every image-like entry is a problem (the first is quoted).
    case noUsableImages(folder: String, problems: Int, first: String)
    case notEnoughReferences(folder: String, requested: Int, available: Int)
    /// The layout has no normal images of its own to take references from.
    case noReferences(layout: DatasetLayout)
    /// The scan was stopped (SIGINT/SIGTERM).
    case interrupted
    case unreadableFolder(path: String, reason: String)
    case ambiguousLayout(folder: String, candidates: [DatasetLayout])
    /// The folder is a benchmark root (its children are categories), not one dataset.
    case benchmarkRoot(folder: String, categories: [String])
    /// A benchmark root whose categories have different layouts ("name (layout)").
    case mixedLayouts(folder: String, categories: [String])
    /// Folder-layout options that do not fit together.
    case folderOptions(String)
    /// A VisA split csv that cannot be used.
    case splitFile(path: String, message: String)
    /// A file list that cannot be read.
    case fileList(path: String, message: String)

    public var description: String {
        switch self {
        case .missingFolder(let path):
            return "dataset folder \(path) does not exist"
        case .notAFolder(let path):
            return "\(path) is not a folder"
        case .noImages(let folder, let skipped):
            let extensions = Dataset.imageExtensions.sorted().joined(separator: " ")
            let others = skipped == 0 ? "it holds no files at all"
                : "\(skipped) other file\(skipped == 1 ? " was" : "s were") skipped"
            return "no image files in \(folder) (\(others); image extensions: \(extensions))"
        case .noUsableImages(let folder, let problems, let first):
            return "no usable image in \(folder): \(problems) problem\(problems == 1 ? "" : "s"), the first: \(first)"
        case .notEnoughReferences(let folder, let requested, let available):
            return "\(requested)-shot needs \(requested) reference images but \(folder) has only \(available)"
        case .noReferences(let layout):
            return "a dataset in the \(layout.rawValue) layout has no normal images to take few-shot references from; give them with --reference-dir"
        case .interrupted:
            return "the dataset scan was interrupted"
        case .unreadableFolder(let path, let reason):
            return "dataset folder \(path) cannot be read (\(reason))"
        case .ambiguousLayout(let folder, let candidates):
            return "\(folder) looks like more than one layout (\(candidates.map(\.rawValue).joined(separator: ", "))); choose one with --layout"
        case .benchmarkRoot(let folder, let categories):
            let shown = categories.prefix(5).joined(separator: ", ") + (categories.count > 5 ? ", …" : "")
            return "\(folder) is a benchmark root with \(categories.count) categories (\(shown)): score one category folder, or all with --all-categories (or --layout plain to score every image under it)"
        case .mixedLayouts(let folder, let categories):
            return "\(folder) mixes categories of different layouts: \(categories.joined(separator: ", ")); score them separately"
        case .folderOptions(let message):
            return message
        case .splitFile(let path, let message):
            return "split file \(path): \(message)"
        case .fileList(let path, let message):
            return "file list \(path): \(message)"
        }
    }
}

/// A set of images to score, read in one of the layouts of `DatasetLayout` (detected from the
/// folder's markers unless forced):
///
/// - `mvtec`: an MVTec AD category folder (it has both `train/` and `test/`): the items are the
///   images under `test/`, labelled 0 in `test/good` and 1 elsewhere, with masks from
///   `ground_truth/`; the class name is the folder's name, unchanged (as anomalib's WinClip
///   takes the datamodule's `category`), and few-shot references come from `train/good`;
/// - `mvtecAD2`, `visa`, `folder`, `fileList`: see their files (MVTecAD2Layout.swift, …);
/// - `plain`: every image under the folder, unlabelled, class name "object" (anomalib's
///   default when no category is known).
///
/// Folder items are sorted by relative path. Files and folders whose names start with '.' are
/// ignored; other files without an image extension are skipped and counted in `skippedFiles`.
/// Unreadable folders, FIFOs, sockets and devices with image names, and broken links are
/// `problems`, never opened; they are not in `items`.
public struct Dataset: Sendable {
    /// torchvision.datasets.folder.IMG_EXTENSIONS, which anomalib's `is_image_file` uses,
    /// compared case-insensitively as anomalib does (`suffix.lower() in IMG_EXTENSIONS`).
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "ppm", "bmp", "pgm", "tif", "tiff", "webp"]

    /// The dataset folder (for a file list: the folder its relative paths start from).
    public let root: URL
    /// The folder's name (a file list's name without extension, "stdin"); names the default
    /// output folder.
    public let name: String
    public let layout: Layout
    public let className: String
    /// The images to score (without `problems`).
    public let items: [DatasetItem]
    /// Entries that cannot be scored, to be written as error rows.
    public let problems: [DatasetProblem]
    /// Non-hidden files without an image extension among the scanned files.
    public let skippedFiles: Int
    /// Folders reached again through a symbolic link (not entered twice) and file-list lines
    /// naming an image already listed (scored once).
    public let duplicates: Int
    package let referencePool: ReferencePool
    /// The folder layout was given `--mask-dir` (see `masksExpected`).
    package var hasMaskFolder = false

    /// Reads the dataset at `path` (for `options.layout == .fileList`: the list file, "-" for
    /// standard input). `shouldStop` is asked throughout the scan; when it answers true the
    /// scan ends with `DatasetError.interrupted`.
    public init(path: String, options: DatasetOptions = DatasetOptions(), shouldStop: () -> Bool = { false }) throws {
        // The scanner lives only during this call.
        self = try withoutActuallyEscaping(shouldStop) { stop in
            try Dataset(path: path, options: options, scanner: DirectoryScanner(shouldStop: stop))
        }
    }

    package init(path: String, options: DatasetOptions, scanner: DirectoryScanner) throws {
        if options.layout == .fileList {
            guard options.folder == nil else { throw DatasetError.folderOptions("--normal-dir and the other folder-layout options do not apply to a file list") }
            self = try Dataset(fileList: path)
            return
        }
        let root = try Self.checkedFolder(path)
        let layout: Layout
        if let forced = options.layout {
            layout = forced
        } else if options.folder != nil {
            layout = .folder
        } else if let detected = try Layout.detect(root) {
            layout = detected
        } else if let benchmark = try BenchmarkRoot.detect(path: root.path) {
            throw DatasetError.benchmarkRoot(folder: root.path, categories: benchmark.categories.map(\.name))
        } else {
            layout = .plain
        }
        if layout == .folder, options.folder == nil {
            throw DatasetError.folderOptions("the folder layout needs --normal-dir (and usually --abnormal-dir, --mask-dir)")
        }
        if layout != .folder, options.folder != nil {
            throw DatasetError.folderOptions("--normal-dir, --abnormal-dir, --normal-test-dir and --mask-dir belong to the folder layout, not \(layout.rawValue)")
        }
        let contents: DatasetContents
        switch layout {
        case .mvtec: contents = try Self.readMVTec(root, scanner: scanner)
        case .mvtecAD2: contents = try Self.readMVTecAD2(root, scanner: scanner)
        case .visa: contents = try Self.readVisA(root, scanner: scanner)
        case .folder: contents = try Self.readFolderLayout(root, dirs: options.folder!, scanner: scanner)
        case .plain, .fileList: contents = try Self.readPlain(root, scanner: scanner)  // a file list returned above
        }
        self.init(root: root, name: root.lastPathComponent, layout: layout, contents: contents)
        hasMaskFolder = options.folder?.maskDir != nil
    }

    package init(root: URL, name: String, layout: Layout, contents: DatasetContents) {
        self.root = root
        self.name = name
        self.layout = layout
        className = contents.className
        items = contents.items
        problems = contents.problems
        skippedFiles = contents.skippedFiles
        duplicates = contents.duplicates
        referencePool = contents.referencePool
    }

    /// The first `kShot` normal images of the layout's reference pool in path order:
    /// `train/good` (MVTec AD, MVTec AD 2), the csv's train split (VisA; without a csv
    /// `Data/Images/Normal`), `--normal-dir` (folder layout). A plain folder or file list has
    /// none: pass them with `referenceFolder`. When the pool is also scored (VisA without a
    /// csv, folder layout without `--normal-test-dir`), score `items(excludingReferences:)`.
    public func references(kShot: Int, shouldStop: () -> Bool = { false }) throws -> [URL] {
        guard kShot > 0 else { return [] }
        let pool: [URL], source: String
        switch referencePool {
        case .none:
            throw DatasetError.noReferences(layout: layout)
        case .folder(let folder, let skipping):
            pool = !FileStatus.of(folder).isDirectory ? [] : try withoutActuallyEscaping(shouldStop) { stop in
                try DirectoryScanner(shouldStop: stop).scan(folder, skipping: skipping).images.map(\.url)
            }
            source = folder.path
        case .files(let files, let description):
            pool = files
            source = description
        }
        guard kShot <= pool.count else {
            throw DatasetError.notEnoughReferences(folder: source, requested: kShot, available: pool.count)
        }
        return Array(pool.prefix(kShot))
    }

    /// `items` without the given reference images (same file: same device and inode, else the
    /// same path), so that no reference is scored against itself.
    public func items(excludingReferences references: [URL]) -> [DatasetItem] {
        guard !references.isEmpty else { return items }
        let identities = Set(references.compactMap { FileStatus.of($0).identity })
        let paths = Set(references.map(\.standardizedFileURL.path))
        return items.filter { item in
            if let id = FileStatus.of(item.url).identity { return !identities.contains(id) }
            return !paths.contains(item.url.standardizedFileURL.path)
        }
    }

    /// Every image under a folder (recursively, sorted by relative path), for references given
    /// separately from the dataset.
    public static func referenceFolder(_ path: String, shouldStop: () -> Bool = { false }) throws -> [URL] {
        let folder = try checkedFolder(path)
        let found = try withoutActuallyEscaping(shouldStop) { stop in try DirectoryScanner(shouldStop: stop).scan(folder) }
        guard !found.images.isEmpty else { throw DatasetError.noImages(folder: folder.path, skipped: found.skippedFiles) }
        return found.images.map(\.url)
    }

    public static func isImageFile(_ name: String) -> Bool {
        imageExtensions.contains((name as NSString).pathExtension.lowercased())
    }

    // MARK: - shared by the layouts

    package static func readPlain(_ root: URL, scanner: DirectoryScanner) throws -> DatasetContents {
        let scan = try scanner.scan(root)
        try requireImages(scan, in: root)
        return DatasetContents(className: "object", scan: scan, referencePool: .none) { image in
            DatasetItem(relativePath: image.relativePath, url: image.url, label: nil, maskURL: nil)
        }
    }

    /// Throws when a scan found nothing to score.
    package static func requireImages(_ scan: ScanResult, in folder: URL) throws {
        guard scan.images.isEmpty else { return }
        if let first = scan.problems.first {
            throw DatasetError.noUsableImages(folder: folder.path, problems: scan.problems.count, first: first.description)
        }
        throw DatasetError.noImages(folder: folder.path, skipped: scan.skippedFiles)
    }

    package static func checkedFolder(_ path: String) throws -> URL {
        switch FileStatus.of(path: path, followLinks: true) {
        case .unavailable: throw DatasetError.missingFolder(path)
        case .exists(.directory, _, _): return URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
        case .exists: throw DatasetError.notAFolder(path)
        }
    }

    package static func isFolder(_ url: URL) -> Bool { FileStatus.of(url).isDirectory }

    package static func url(_ folder: URL, relative: String) -> URL {
        relative.split(separator: "/").reduce(folder) { $0.appendingPathComponent(String($1)) }
    }

    /// The first of `candidates` (relative to `folder`) that is a regular file (or a link to
    /// one); a FIFO or device never qualifies, so a mask is never a special file.
    package static func firstRegularFile(in folder: URL, _ candidates: [String]) -> URL? {
        candidates.map { url(folder, relative: $0) }.first { FileStatus.of($0).isRegularFile }
    }

    /// `url`'s path relative to `base` when it lies under it, else its absolute path.
    package static func relativePath(of url: URL, under base: URL) -> String {
        let path = url.standardizedFileURL.path
        let basePath = base.standardizedFileURL.path
        let prefix = basePath.hasSuffix("/") ? basePath : basePath + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }

    /// A relative path without its extension ("a/b.png" -> "a/b").
    package static func stem(_ relative: String) -> String { (relative as NSString).deletingPathExtension }
}

/// Where `Dataset.references(kShot:)` takes its images from.
package enum ReferencePool: Sendable {
    case none
    /// Images under a folder, in path order (not entering `skipping`, relative to it).
    case folder(URL, skipping: Set<String> = [])
    /// Already chosen files, in order; `description` names their source in errors.
    case files([URL], description: String)
}

/// What a layout reader found.
package struct DatasetContents {
    var className: String
    var items: [DatasetItem]
    var problems: [DatasetProblem]
    var skippedFiles: Int
    var duplicates: Int
    var referencePool: ReferencePool

    init(className: String, items: [DatasetItem], problems: [DatasetProblem], skippedFiles: Int, duplicates: Int,
         referencePool: ReferencePool) {
        self.className = className
        self.items = items
        self.problems = problems
        self.skippedFiles = skippedFiles
        self.duplicates = duplicates
        self.referencePool = referencePool
    }

    /// One item per scanned image, with the scan's problems and counts.
    init(className: String, scan: ScanResult, referencePool: ReferencePool, item: (ScannedImage) -> DatasetItem) {
        self.init(className: className, items: scan.images.map(item), problems: scan.problems,
                  skippedFiles: scan.skippedFiles, duplicates: scan.repeatedFolders, referencePool: referencePool)
    }
}
