import Foundation

/// One image to score. `relativePath` uses '/' separators and is relative to the dataset root;
/// it names the image in results.jsonl and under the output's maps/ folder.
public struct DatasetItem: Sendable, Equatable {
    public let relativePath: String
    public let url: URL
    /// 0 normal, 1 anomalous; nil when the layout carries no labels.
    public let label: Int?
    /// Ground-truth mask of an anomalous MVTec image; nil for normal images, unlabelled
    /// images, and anomalous images whose mask file is missing.
    public let maskURL: URL?

    public init(relativePath: String, url: URL, label: Int?, maskURL: URL?) {
        self.relativePath = relativePath
        self.url = url
        self.label = label
        self.maskURL = maskURL
    }
}

public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case missingFolder(String)
    case notAFolder(String)
    /// No image file under the folder; `skipped` counts the non-image files that were there.
    case noImages(folder: String, skipped: Int)
    case notEnoughReferences(folder: String, requested: Int, available: Int)

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
        case .notEnoughReferences(let folder, let requested, let available):
            return "\(requested)-shot needs \(requested) reference images but \(folder) has only \(available)"
        }
    }
}

/// A folder of images to score, in one of two layouts:
///
/// - an MVTec AD category folder (it has both `train/` and `test/`): the items are the images
///   under `test/`, labelled 0 in `test/good` and 1 elsewhere, with masks from `ground_truth/`;
///   the class name is the folder's name, unchanged (as anomalib's WinClip takes the
///   datamodule's `category`), and few-shot references come from `train/good`;
/// - any other folder: every image under it, unlabelled, class name "object" (anomalib's
///   default when no category is known).
///
/// Items are sorted by relative path. Files and folders whose names start with '.' are ignored;
/// other files without an image extension are skipped and counted in `skippedFiles`.
public struct Dataset: Sendable {
    public enum Layout: String, Sendable { case mvtec, plain }

    /// torchvision.datasets.folder.IMG_EXTENSIONS, which anomalib's `is_image_file` uses,
    /// compared case-insensitively as anomalib does (`suffix.lower() in IMG_EXTENSIONS`).
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "ppm", "bmp", "pgm", "tif", "tiff", "webp"]

    public let root: URL
    /// The folder's name; names the default output folder.
    public let name: String
    public let layout: Layout
    public let className: String
    public let items: [DatasetItem]
    /// Non-hidden files without an image extension among the scanned files.
    public let skippedFiles: Int

    public init(path: String) throws {
        let root = try Self.checkedFolder(path)
        self.root = root
        name = root.lastPathComponent
        let test = root.appendingPathComponent("test")
        if Self.isFolder(root.appendingPathComponent("train")), Self.isFolder(test) {
            layout = .mvtec
            className = name
            let scan = Self.scan(test)
            guard !scan.images.isEmpty else { throw DatasetError.noImages(folder: test.path, skipped: scan.skipped) }
            skippedFiles = scan.skipped
            let groundTruth = root.appendingPathComponent("ground_truth")
            items = scan.images.map { underTest in
                // Label 0 only under test/good; an image directly in test/ counts as anomalous.
                let isGood = underTest.hasPrefix("good/")
                var maskURL: URL?
                if !isGood {
                    let stem = (underTest as NSString).deletingPathExtension
                    // MVTec names masks <stem>_mask.png; anomalib also accepts <stem>.png.
                    maskURL = ["\(stem)_mask.png", "\(stem).png"]
                        .map { Self.url(groundTruth, relative: $0) }
                        .first { FileManager.default.fileExists(atPath: $0.path) }
                }
                return DatasetItem(relativePath: "test/" + underTest, url: Self.url(test, relative: underTest),
                                   label: isGood ? 0 : 1, maskURL: maskURL)
            }
        } else {
            layout = .plain
            className = "object"
            let scan = Self.scan(root)
            guard !scan.images.isEmpty else { throw DatasetError.noImages(folder: root.path, skipped: scan.skipped) }
            skippedFiles = scan.skipped
            items = scan.images.map {
                DatasetItem(relativePath: $0, url: Self.url(root, relative: $0), label: nil, maskURL: nil)
            }
        }
    }

    /// The first `kShot` images of `train/good` in name order (MVTec layout only: a plain
    /// folder has no references of its own; pass them with `referenceFolder`).
    public func references(kShot: Int) throws -> [URL] {
        let folder = root.appendingPathComponent("train").appendingPathComponent("good")
        let images = Self.isFolder(folder) ? Self.scan(folder).images : []
        guard kShot <= images.count else {
            throw DatasetError.notEnoughReferences(folder: folder.path, requested: kShot, available: images.count)
        }
        return images.prefix(max(kShot, 0)).map { Self.url(folder, relative: $0) }
    }

    /// Every image under a folder (recursively, sorted by relative path), for references given
    /// separately from the dataset.
    public static func referenceFolder(_ path: String) throws -> [URL] {
        let folder = try checkedFolder(path)
        let found = scan(folder)
        guard !found.images.isEmpty else { throw DatasetError.noImages(folder: folder.path, skipped: found.skipped) }
        return found.images.map { url(folder, relative: $0) }
    }

    public static func isImageFile(_ name: String) -> Bool {
        imageExtensions.contains((name as NSString).pathExtension.lowercased())
    }

    // MARK: - folder walking

    static func checkedFolder(_ path: String) throws -> URL {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DatasetError.missingFolder(path)
        }
        guard isDirectory.boolValue else { throw DatasetError.notAFolder(path) }
        return URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
    }

    static func isFolder(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    static func url(_ folder: URL, relative: String) -> URL {
        relative.split(separator: "/").reduce(folder) { $0.appendingPathComponent(String($1)) }
    }

    /// Image files under `folder` as '/'-separated relative paths sorted by relative path, and
    /// the number of other (non-hidden) files. Symbolic links to folders are followed.
    static func scan(_ folder: URL) -> (images: [String], skipped: Int) {
        var images: [String] = []
        var skipped = 0
        func walk(_ directory: URL, prefix: String, depth: Int) {
            // A bound on the depth keeps a symbolic-link cycle from recursing forever.
            guard depth < 64,
                  let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
            for name in names where !name.hasPrefix(".") {
                let child = directory.appendingPathComponent(name)
                let relative = prefix + name
                if isFolder(child) {
                    walk(child, prefix: relative + "/", depth: depth + 1)
                } else if isImageFile(name) {
                    images.append(relative)
                } else {
                    skipped += 1
                }
            }
        }
        walk(folder, prefix: "", depth: 0)
        return (images.sorted(), skipped)
    }
}
