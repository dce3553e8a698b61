import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The outcome of work run on another thread, handed back under a lock.
final class BoundedOutcome<T>: @unchecked Sendable {
    // Safe: `value` is only touched with `lock` held.
    private let lock = NSLock()
    private var value: Result<T, Error>?
    func set(_ result: Result<T, Error>) { lock.withLock { value = result } }
    func get() -> Result<T, Error>? { lock.withLock { value } }
}

/// Counts calls from any thread.
final class CallCounter: @unchecked Sendable {
    // Safe: `calls` is only touched with `lock` held.
    private let lock = NSLock()
    private var calls = 0
    /// Counts one call and returns the count including it.
    func next() -> Int { lock.withLock { calls += 1; return calls } }
    var count: Int { lock.withLock { calls } }
}

struct TimedOut: Error, CustomStringConvertible {
    let seconds: Double
    var description: String { "did not finish within \(seconds) s" }
}

/// Runs `body` on another thread and gives up after `seconds`, so a scan that hangs (a FIFO
/// opened, a cycle followed) fails the test instead of hanging the suite.
func bounded<T>(_ seconds: Double = 20, _ body: @escaping @Sendable () throws -> T) throws -> T {
    let outcome = BoundedOutcome<T>()
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        outcome.set(Result { try body() })
        done.signal()
    }
    guard done.wait(timeout: .now() + seconds) == .success, let result = outcome.get() else { throw TimedOut(seconds: seconds) }
    return try result.get()
}

/// A symbolic link at `relative` under `root` pointing to `target` (as written: relative
/// targets are relative to the link's folder).
func makeLink(_ root: URL, _ relative: String, to target: String) throws {
    let url = root.appendingPathComponent(relative)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target)
}

func makeFIFO(_ root: URL, _ relative: String) throws {
    let url = root.appendingPathComponent(relative)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    guard mkfifo(url.path, 0o644) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
}

/// A listening-less Unix socket bound at `relative` (the file stays after the descriptor is closed).
func makeSocket(_ root: URL, _ relative: String) throws {
    let path = root.appendingPathComponent(relative).path
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw POSIXError(.ENAMETOOLONG) }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
}

var runningAsRoot: Bool { geteuid() == 0 }
