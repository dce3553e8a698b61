import Foundation

/// An image file opened for reading only after `stat` has shown a regular file within the size
/// limit: FIFOs, sockets, devices and directories are refused without being opened (a FIFO
/// would block), and an oversized file without being read. The descriptor is opened
/// non-blocking and checked again with `fstat`, so a path swapped for a FIFO between the two
/// checks is still refused without blocking. Reads use `pread`; nothing is memory-mapped (a
/// file truncated while mapped would fault with SIGBUS).
struct RegularFile: ~Copyable {
    let descriptor: Int32
    let size: Int
    let path: String

    init(path: String, maxBytes: Int) throws {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0 else { throw Self.unreadable(path, errno) }
        try Self.check(info, path: path, maxBytes: maxBytes)
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Self.unreadable(path, errno) }
        guard fstat(fd, &info) == 0 else {
            let error = errno
            close(fd)
            throw Self.unreadable(path, error)
        }
        do { try Self.check(info, path: path, maxBytes: maxBytes) } catch {
            close(fd)
            throw error
        }
        descriptor = fd
        size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    /// Up to `count` bytes from `offset` (fewer at the end of the file).
    func read(at offset: Int, count: Int) throws -> Data {
        var data = Data(count: count)
        let filled = try data.withUnsafeMutableBytes { try fill($0, from: offset) }
        data.count = filled
        return data
    }

    /// The whole file; one byte more than `fstat` announced is asked for, to notice a file that grew.
    func readAll() throws -> Data {
        var data = Data(count: size + 1)
        let filled = try data.withUnsafeMutableBytes { try fill($0, from: 0) }
        guard filled <= size else {
            throw ImageError(path: path, reason: .unreadable, detail: "the file grew while it was read (more than \(size) bytes)")
        }
        data.count = filled
        return data
    }

    private func fill(_ buffer: UnsafeMutableRawBufferPointer, from offset: Int) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + filled, buffer.count - filled, off_t(offset + filled))
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.unreadable(path, errno)
            }
            filled += n
        }
        return filled
    }

    private static func unreadable(_ path: String, _ code: Int32) -> ImageError {
        ImageError(path: path, reason: .unreadable, detail: "cannot read the file (\(String(cString: strerror(code))))")
    }

    private static func check(_ info: stat, path: String, maxBytes: Int) throws {
        let kind: String
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            guard Int(info.st_size) <= maxBytes else {
                throw ImageError(path: path, reason: .fileTooLarge,
                                 detail: "the file has \(info.st_size) bytes, over the limit of \(maxBytes) bytes; it was not read")
            }
            return
        case S_IFDIR: kind = "a directory"
        case S_IFIFO: kind = "a FIFO (named pipe)"
        case S_IFSOCK: kind = "a socket"
        case S_IFCHR: kind = "a character device"
        case S_IFBLK: kind = "a block device"
        default: kind = "not a regular file"
        }
        throw ImageError(path: path, reason: .notRegularFile, detail: "\(kind), not a regular file; it was not opened")
    }
}
