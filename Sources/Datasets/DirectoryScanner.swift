import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An image file found by a scan: its '/'-separated path relative to the dataset root, and
/// where it is (the path through any symbolic links, not their target).
public struct ScannedImage: Sendable, Equatable {
    public let relativePath: String
    public let url: URL
}

/// What a scan found under a folder.
public struct ScanResult: Sendable, Equatable {
    /// Regular files (or links to them) with an image extension, sorted by relative path.
    public var images: [ScannedImage] = []
    /// Non-hidden entries that are not images and not folders (text files, a FIFO without an
    /// image name…), not looked at further.
    public var skippedFiles = 0
    /// Folders reached a second time (through a symbolic link to a folder already scanned, such
    /// as `loop -> .`): not entered again.
    public var repeatedFolders = 0
    /// Unreadable folders, image-named special files, broken links, in path order.
    public var problems: [DatasetProblem] = []
}

/// The names in one folder, or why they cannot be listed.
struct DirectoryListing {
    var names: [String]
    /// Entries whose names are not valid UTF-8.
    var undecodable: Int
}

struct ListingFailure: Error {
    let errno: Int32
}

/// Walks a folder tree for images without trusting it: it looks at entries with `lstat`/`stat`
/// only (no file is opened), follows symbolic links to files and folders but enters each folder
/// (device and inode) at most once, so any cycle ends; it asks `shouldStop` before every entry,
/// so a signal stops a scan of a huge tree at once. The walk uses its own stack (no recursion),
/// real folders are walked before the folders reached through links (so a real path wins over
/// a link to it), and every listing is sorted: the result does not depend on the order the
/// file system returns names in.
///
/// Names starting with '.' are ignored, as before.
package struct DirectoryScanner {
    var shouldStop: () -> Bool = { false }
    /// The listing of one folder; `readDirectory` except in tests that need a folder that
    /// cannot be read even by root.
    var listDirectory: (String) -> Result<DirectoryListing, ListingFailure> = DirectoryScanner.readDirectory

    /// - Parameters:
    ///   - folder: the folder to walk; it must exist (callers check it first).
    ///   - relativePrefix: prepended to every relative path (e.g. "test/").
    ///   - skipping: folder paths relative to `folder` (without prefix) not to enter.
    func scan(_ folder: URL, relativePrefix: String = "", skipping: Set<String> = []) throws -> ScanResult {
        var result = ScanResult()
        var visited = Set<FileIdentity>()
        if let root = FileStatus.of(folder).identity { visited.insert(root) }
        // Folders to list: URL and path relative to `folder` ("" for itself, else ending in '/').
        var stack: [(url: URL, relative: String)] = [(folder, "")]
        var links: [(url: URL, relative: String)] = []

        while !stack.isEmpty || !links.isEmpty {
            if stack.isEmpty {
                // Every real folder is done: enter the linked folders, in path order, each
                // unless its target was already entered.
                for link in links.sorted(by: { $0.relative < $1.relative }) {
                    if let id = FileStatus.of(link.url).identity, visited.insert(id).inserted {
                        stack.append(link)
                    } else {
                        result.repeatedFolders += 1
                    }
                }
                links.removeAll()
                stack.reverse()  // pop in path order
                continue
            }
            let (directory, relative) = stack.removeLast()
            if shouldStop() { throw DatasetError.interrupted }
            let listing: DirectoryListing
            switch listDirectory(directory.path) {
            case .success(let names): listing = names
            case .failure(let failure):
                let why = FileStatus.describe(errno: failure.errno)
                // The folder asked for itself: nothing can be scanned, which is an error.
                if relative.isEmpty { throw DatasetError.unreadableFolder(path: directory.path, reason: why) }
                result.problems.append(DatasetProblem(
                    relativePath: relativePrefix + relative, url: directory,
                    reason: .unreadableFolder(why)))
                continue
            }
            for _ in 0..<listing.undecodable {
                result.problems.append(DatasetProblem(relativePath: relativePrefix + relative + "\u{FFFD}",
                                                      url: directory.appendingPathComponent("\u{FFFD}"),
                                                      reason: .undecodableName))
            }
            var subfolders: [(url: URL, relative: String)] = []
            for name in listing.names.sorted() where !name.hasPrefix(".") {
                if shouldStop() { throw DatasetError.interrupted }
                let child = directory.appendingPathComponent(name)
                let childRelative = relative + name
                let own = FileStatus.of(path: child.path, followLinks: false)
                switch own {
                case .unavailable:
                    // Removed since the listing: nothing to score.
                    continue
                case .exists(.directory, _, _):
                    guard !skipping.contains(childRelative) else { continue }
                    if let id = own.identity, visited.insert(id).inserted {
                        subfolders.append((child, childRelative + "/"))
                    } else {
                        result.repeatedFolders += 1
                    }
                case .exists(.symbolicLink, _, _):
                    let target = FileStatus.of(child)
                    switch target {
                    case .unavailable(let code):
                        if Dataset.isImageFile(name) {
                            result.problems.append(DatasetProblem(relativePath: relativePrefix + childRelative, url: child,
                                                                  reason: .brokenLink(FileStatus.describe(errno: code))))
                        } else {
                            result.skippedFiles += 1
                        }
                    case .exists(.directory, _, _):
                        if !skipping.contains(childRelative) { links.append((child, childRelative + "/")) }
                    case .exists(let kind, _, _):
                        classify(name: name, kind: kind, url: child, relative: relativePrefix + childRelative, into: &result)
                    }
                case .exists(let kind, _, _):
                    classify(name: name, kind: kind, url: child, relative: relativePrefix + childRelative, into: &result)
                }
            }
            stack.append(contentsOf: subfolders.reversed())  // pop in path order
        }
        result.images.sort { $0.relativePath < $1.relativePath }
        result.problems.sort { $0.relativePath < $1.relativePath }
        return result
    }

    /// A non-folder entry (or a link's non-folder target): an image, a skipped file, or a
    /// special file with an image's name, which becomes a problem and is never opened.
    private func classify(name: String, kind: FileKind, url: URL, relative: String, into result: inout ScanResult) {
        guard Dataset.isImageFile(name) else {
            result.skippedFiles += 1
            return
        }
        if kind == .regular {
            result.images.append(ScannedImage(relativePath: relative, url: url))
        } else {
            result.problems.append(DatasetProblem(relativePath: relative, url: url, reason: .notARegularFile(kind)))
        }
    }

    /// `opendir`/`readdir`: names only, nothing inside is opened.
    static func readDirectory(_ path: String) -> Result<DirectoryListing, ListingFailure> {
        guard let dir = opendir(path) else { return .failure(ListingFailure(errno: errno)) }
        defer { closedir(dir) }
        var listing = DirectoryListing(names: [], undecodable: 0)
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { return .failure(ListingFailure(errno: errno)) }
                break
            }
            let name: String? = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) {
                    String(validatingCString: $0)
                }
            }
            guard let name else {
                listing.undecodable += 1
                continue
            }
            if name != "." && name != ".." { listing.names.append(name) }
        }
        return .success(listing)
    }
}
