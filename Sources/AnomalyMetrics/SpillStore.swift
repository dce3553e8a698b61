import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An append-only byte store read back at offsets: the spill file of `PixelMetricsAccumulator`,
/// or an in-memory array for small cases (same layout, same code).
///
/// The file is created in the given directory and unlinked at once, so it takes no name and
/// disappears with its descriptor: on `close()`, on deinit, and also when the process is killed.
final class SpillStore {
    private enum Backing {
        case memory([UInt8])
        case file(descriptor: Int32, directory: String)
        case closed
    }

    private var backing: Backing
    /// Bytes written so far.
    private(set) var size = 0

    /// In memory.
    init() { backing = .memory([]) }

    /// A file in `directory` (which must exist), unlinked as soon as it is open.
    init(directory: URL) throws {
        let path = directory.path
        var template = Array((directory.appendingPathComponent(".winclip-pixel-metrics-XXXXXX").path).utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw PixelMetricsError("cannot create a spill file in \(path): \(String(cString: strerror(errno)))")
        }
        let name = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        unlink(name)
        backing = .file(descriptor: fd, directory: path)
    }

    deinit { close() }

    func close() {
        if case .file(let fd, _) = backing { _ = Foundation.close(fd) }
        backing = .closed
    }

    /// Appends `bytes`; returns the offset they start at.
    @discardableResult
    func append(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        let offset = size
        switch backing {
        case .memory(var array):
            backing = .closed  // keep `array` uniquely referenced while it grows
            array.append(contentsOf: bytes)
            backing = .memory(array)
        case .file(let fd, let directory):
            var done = 0
            while done < bytes.count {
                let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw PixelMetricsError("cannot write the spill file in \(directory): \(String(cString: strerror(errno)))")
                }
                done += n
            }
        case .closed:
            throw PixelMetricsError("the spill file is closed")
        }
        size += bytes.count
        return offset
    }

    /// Fills `buffer` with the bytes at `offset`.
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        precondition(offset >= 0 && offset + buffer.count <= size, "SpillStore: read past the end")
        switch backing {
        case .memory(let array):
            array.withUnsafeBytes { src in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset..<(offset + buffer.count)]))
            }
        case .file(let fd, let directory):
            var done = 0
            while done < buffer.count {
                let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    let reason = n == 0 ? "unexpected end of file" : String(cString: strerror(errno))
                    throw PixelMetricsError("cannot read the spill file in \(directory): \(reason)")
                }
                done += n
            }
        case .closed:
            throw PixelMetricsError("the spill file is closed")
        }
    }
}

/// Why pixel metrics could not be computed: bad input, or the spill file failed.
public struct PixelMetricsError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = "pixel metrics: " + description }
}
