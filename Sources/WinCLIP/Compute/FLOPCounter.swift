import Foundation

/// Wraps a backend and counts the floating-point operations (2 m n k per GEMM) it runs, so
/// that benchmarks report GFLOP/s from what was actually computed (linear layers at any
/// precision count the same 2 m n k).
public final class CountingBackend: MatMulBackend, Sendable {
    public let inner: MatMulBackend
    private let tally: Tally
    public var name: String { inner.name }

    /// The running total, shared with the `exact` form. `@unchecked Sendable` is safe: `total`
    /// is only read and written with `lock` held.
    private final class Tally: @unchecked Sendable {
        let lock = NSLock()
        var total: Double = 0
        func add(_ flops: Double) { lock.lock(); total += flops; lock.unlock() }
    }

    public convenience init(_ inner: MatMulBackend) { self.init(inner, tally: Tally()) }

    private init(_ inner: MatMulBackend, tally: Tally) {
        self.inner = inner
        self.tally = tally
    }

    public var flops: Double { tally.lock.lock(); defer { tally.lock.unlock() }; return tally.total }
    public func reset() { tally.lock.lock(); tally.total = 0; tally.lock.unlock() }

    /// The inner backend's fp32 form, counted into the same total.
    public var exact: MatMulBackend { CountingBackend(inner.exact, tally: tally) }
    public var parallelism: Int { inner.parallelism }
    public var batchInvariantRows: Bool { inner.batchInvariantRows }

    public func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        tally.add(2 * Double(m) * Double(n) * Double(k))
        inner.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    public func linear(_ x: UnsafePointer<Float>, rows: Int, weights: LinearWeights, into y: UnsafeMutablePointer<Float>) {
        tally.add(2 * Double(rows) * Double(weights.outFeatures) * Double(weights.inFeatures))
        inner.linear(x, rows: rows, weights: weights, into: y)
    }
}
