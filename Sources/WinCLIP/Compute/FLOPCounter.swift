import Foundation

/// Wraps a backend and counts the floating-point operations (2 m n k per GEMM) it runs, so
/// that benchmarks report GFLOP/s from what was actually computed.
public final class CountingBackend: MatMulBackend, @unchecked Sendable {
    public let inner: MatMulBackend
    private let lock = NSLock()
    private var total: Double = 0
    public var name: String { inner.name }

    public init(_ inner: MatMulBackend) { self.inner = inner }

    public var flops: Double { lock.lock(); defer { lock.unlock() }; return total }
    public func reset() { lock.lock(); total = 0; lock.unlock() }

    public func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        lock.lock(); total += 2 * Double(m) * Double(n) * Double(k); lock.unlock()
        inner.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}
