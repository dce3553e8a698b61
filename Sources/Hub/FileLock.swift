import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive flock(2) on a lock file, the same kind of lock huggingface_hub's `filelock`
/// takes on the same path, so a Python download and ours of one blob also exclude each other.
/// Released when the holder is released or the process dies (the kernel drops the lock).
public final class FileLock {
    public let path: URL
    private var descriptor: Int32

    /// Takes the lock, calling `waiting` once if another process holds it, then polling (every
    /// 0.1 s) until it is free or `isCancelled` says to give up (`HubError.cancelled`).
    public init(path: URL, waiting: () -> Void = {}, isCancelled: () -> Bool = { false }) throws {
        self.path = path
        do { try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true) } catch {
            throw HubError.io("cannot create \(path.deletingLastPathComponent().path): \(error.localizedDescription)")
        }
        descriptor = open(path.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw HubError.io("cannot open lock file \(path.path): \(String(cString: strerror(errno)))") }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK else {
                let message = String(cString: strerror(errno))
                close(descriptor)
                throw HubError.io("cannot lock \(path.path): \(message)")
            }
            waiting()
            while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
                guard errno == EWOULDBLOCK || errno == EINTR else {
                    let message = String(cString: strerror(errno))
                    close(descriptor)
                    throw HubError.io("cannot lock \(path.path): \(message)")
                }
                if isCancelled() {
                    close(descriptor)
                    throw HubError.cancelled(file: path.lastPathComponent, bytesOnDisk: 0, partialFile: path.path)
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }

    /// Releases the lock (also done on deinit). The lock file stays, as huggingface_hub's does.
    public func unlock() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { unlock() }
}
