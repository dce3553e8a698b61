import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a path is, from `stat(2)` or `lstat(2)`: neither opens the file, so a FIFO, a device
/// or a huge file costs nothing to look at.
public enum FileKind: String, Sendable, Equatable {
    case regular, directory, symbolicLink = "symbolic link", fifo = "FIFO", socket
    case characterDevice = "character device", blockDevice = "block device", unknown = "special file"
}

/// The status of one path, or why it has none.
package enum FileStatus: Equatable {
    case exists(kind: FileKind, device: UInt64, inode: UInt64)
    /// `stat` failed: missing, a dangling or looping link, no search permission on a parent…
    case unavailable(errno: Int32)

    /// `stat` (follows symbolic links).
    package static func of(_ url: URL) -> FileStatus { of(path: url.path, followLinks: true) }

    package static func of(path: String, followLinks: Bool) -> FileStatus {
        var info = stat()
        let rc = followLinks ? stat(path, &info) : lstat(path, &info)
        guard rc == 0 else { return .unavailable(errno: errno) }
        let kind: FileKind
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        case S_IFIFO: kind = .fifo
        case S_IFSOCK: kind = .socket
        case S_IFCHR: kind = .characterDevice
        case S_IFBLK: kind = .blockDevice
        default: kind = .unknown
        }
        return .exists(kind: kind, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    package var kind: FileKind? {
        if case .exists(let kind, _, _) = self { return kind }
        return nil
    }

    package var isDirectory: Bool { kind == .directory }
    package var isRegularFile: Bool { kind == .regular }

    /// Device and inode: the identity of a folder, whatever path reaches it.
    package var identity: FileIdentity? {
        if case .exists(_, let device, let inode) = self { return FileIdentity(device: device, inode: inode) }
        return nil
    }

    package static func describe(errno code: Int32) -> String { String(cString: strerror(code)) }
}

package struct FileIdentity: Hashable {
    let device: UInt64
    let inode: UInt64
}
