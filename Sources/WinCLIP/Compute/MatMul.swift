/// The one operation the model's heavy layers need: C = A op(B) (+ beta C), row-major.
///
/// Model code talks to this protocol only, so a second backend (oneDNN, bf16 on AMX) can be
/// added without touching the forward passes.
public protocol MatMulBackend: Sendable {
    var name: String { get }
    /// C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C, all row-major with leading dimensions.
    func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int)
}

import CBLASLoader
import Logging

/// FP32 GEMM through OpenBLAS (opened with the right kernel core, see `OpenBLAS`).
public struct OpenBLASBackend: MatMulBackend {
    public let status: OpenBLAS.Status
    public var name: String { "openblas-\(status.core)" }

    public init(threads: Int? = nil, logger: Logger? = nil) throws {
        status = try OpenBLAS.load(logger: logger)
        if let threads { OpenBLAS.setThreads(threads) }
    }

    public func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        winclip_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
