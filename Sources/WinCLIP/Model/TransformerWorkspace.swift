import Foundation

/// The work buffers of one transformer pass (normalised rows, the wide qkv/MLP rows, attention
/// output, attention scores), kept between passes so that a warm pass allocates nothing: a
/// fresh 24 MB buffer per pass costs page faults and zeroing that show up next to the GEMMs.
final class TransformerWorkspace {
    private(set) var normed = Buffer()
    private(set) var wide = Buffer()
    private(set) var attended = Buffer()
    private(set) var scores = Buffer()

    /// A float buffer that only grows.
    struct Buffer {
        private(set) var pointer: UnsafeMutablePointer<Float>?
        private(set) var capacity = 0

        mutating func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
            if count > capacity || pointer == nil {
                pointer?.deallocate()
                capacity = max(count, 1)
                pointer = .allocate(capacity: capacity)
            }
            return pointer!
        }

        func release() { pointer?.deallocate() }
    }

    func reserve(rows: Int, width: Int, wideWidth: Int, scores scoreCount: Int) -> (normed: UnsafeMutablePointer<Float>, wide: UnsafeMutablePointer<Float>, attended: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>) {
        (normed.reserve(rows * width), wide.reserve(rows * wideWidth), attended.reserve(rows * width), scores.reserve(scoreCount))
    }

    deinit {
        normed.release()
        wide.release()
        attended.release()
        scores.release()
    }
}

/// Workspaces of one tower, one per pass running at the same time (workers share a model).
///
/// `@unchecked Sendable` is safe: `idle` is only touched with `lock` held, and a workspace is
/// used by one pass at a time (taken out of `idle` for the pass, put back after it).
final class TransformerWorkspacePool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [TransformerWorkspace] = []

    func withWorkspace<R>(_ body: (TransformerWorkspace) throws -> R) rethrows -> R {
        lock.lock()
        let workspace = idle.popLast() ?? TransformerWorkspace()
        lock.unlock()
        defer { lock.lock(); idle.append(workspace); lock.unlock() }
        return try body(workspace)
    }
}
