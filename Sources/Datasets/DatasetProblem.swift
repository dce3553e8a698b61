import Foundation

/// Something in a dataset that looks like an image (or a folder of them) but cannot be scored.
/// It is found with `stat`/`opendir` only, never opened for reading; the output writes it as an
/// error row (`relativePath` as the image, `description` as the error).
public struct DatasetProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// A folder that cannot be listed (`opendir` failed: permissions, I/O error…); nothing
        /// under it is scored.
        case unreadableFolder(String)
        /// A FIFO, socket or device with an image's name: opening it could block or read forever.
        case notARegularFile(FileKind)
        /// A symbolic link whose target is missing or loops.
        case brokenLink(String)
        /// A file named by a list (file list, VisA's split csv) that does not exist or cannot be
        /// looked at.
        case missing(String)
        /// A path named by a file list that is a folder.
        case folderInList
        /// A path named by a file list whose extension is not an image extension.
        case notAnImageName
        /// A file name that is not valid UTF-8 (it could not be named in results.jsonl).
        case undecodableName
    }

    /// '/'-separated, relative to the dataset root (an absolute path for a file-list entry
    /// outside the list's folder); a folder's path ends with '/'.
    public let relativePath: String
    public let url: URL
    public let reason: Reason

    public init(relativePath: String, url: URL, reason: Reason) {
        self.relativePath = relativePath
        self.url = url
        self.reason = reason
    }

    /// True for a folder: the CLI may print one warning for it instead of an error row.
    public var isFolder: Bool {
        if case .unreadableFolder = reason { return true }
        return false
    }

    public var description: String {
        switch reason {
        case .unreadableFolder(let why): return "folder \(url.path) cannot be read (\(why)); nothing under it is scored"
        case .notARegularFile(let kind): return "\(url.path) is a \(kind.rawValue), not a regular file; it is not read"
        case .brokenLink(let why): return "\(url.path) is a symbolic link that leads nowhere (\(why))"
        case .missing(let why): return "\(url.path) cannot be found (\(why))"
        case .folderInList: return "\(url.path) is a folder; a file list names image files"
        case .notAnImageName:
            return "\(url.path) has no image extension (\(Dataset.imageExtensions.sorted().joined(separator: " ")))"
        case .undecodableName: return "a file name under \(url.deletingLastPathComponent().path) is not valid UTF-8"
        }
    }
}
