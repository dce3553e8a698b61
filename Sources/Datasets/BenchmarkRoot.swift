import Foundation

/// A folder whose children are the categories of one benchmark: MVTec AD's root (bottle/,
/// cable/, …, plus license.txt), VisA's (candle/, …, split_csv/), anomalib's converted
/// `visa_pytorch/` (MVTec layout), MVTec AD 2's (can/, fabric/, …). A whole-benchmark run scores
/// each category as its own dataset, with the category's name as class name.
public struct BenchmarkRoot: Sendable, Equatable {
    public struct Category: Sendable, Equatable {
        /// The folder's name: the class name and the output sub-folder.
        public let name: String
        public let url: URL
        public let layout: DatasetLayout
    }

    public let root: URL
    /// The layout all categories share.
    public let layout: DatasetLayout
    /// Sorted by name.
    public let categories: [Category]
    /// Non-hidden child folders that are not categories (VisA's split_csv/…), by name.
    public let otherFolders: [String]

    /// The benchmark root at `path`, or nil when it is not one: the folder is a category
    /// itself, holds image files directly, or no child folder is a category. Child folders are
    /// recognised by `DatasetLayout.candidates` (stat only, nothing is scanned).
    /// - Throws: for a missing folder, a child with ambiguous markers, or categories of
    ///   different layouts.
    public static func detect(path: String) throws -> BenchmarkRoot? {
        let root = try Dataset.checkedFolder(path)
        guard DatasetLayout.candidates(root).isEmpty else { return nil }
        let names: [String]
        switch DirectoryScanner.readDirectory(root.path) {
        case .success(let listing): names = listing.names.filter { !$0.hasPrefix(".") }.sorted()
        case .failure(let failure):
            throw DatasetError.unreadableFolder(path: root.path, reason: FileStatus.describe(errno: failure.errno))
        }
        var categories: [Category] = []
        var others: [String] = []
        for name in names {
            let child = root.appendingPathComponent(name)
            guard FileStatus.of(child).isDirectory else {
                if Dataset.isImageFile(name) { return nil }  // images of its own: a plain folder
                continue
            }
            if let layout = try DatasetLayout.detect(child) {
                categories.append(Category(name: name, url: child, layout: layout))
            } else {
                others.append(name)
            }
        }
        guard let first = categories.first else { return nil }
        let layouts = Set(categories.map(\.layout))
        guard layouts.count == 1 else {
            throw DatasetError.mixedLayouts(folder: root.path, categories: categories.map { "\($0.name) (\($0.layout.rawValue))" })
        }
        return BenchmarkRoot(root: root, layout: first.layout, categories: categories, otherFolders: others)
    }

    /// The category's dataset, read in the benchmark's layout.
    public func dataset(_ category: Category, shouldStop: () -> Bool = { false }) throws -> Dataset {
        try Dataset(path: category.url.path, options: DatasetOptions(layout: category.layout), shouldStop: shouldStop)
    }
}
