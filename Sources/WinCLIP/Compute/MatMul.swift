/// The operations the model's heavy layers need, row-major: a general GEMM and the linear
/// layers' product with a model weight.
///
/// Model code talks to this protocol only. `linear` is separate from `gemm` because its right
/// operand is a weight that stays the same for the life of the model, so a backend may convert
/// it once (bf16 in oneDNN's layout, see `OneDNNBackend`) and keep it in the weight's
/// `PreparedWeights`.
public protocol MatMulBackend: Sendable {
    var name: String { get }
    /// C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C, all row-major with leading dimensions.
    func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int)
    /// y [rows, out] = x [rows, in] W^T for a linear layer's weight W [out, in], without the
    /// bias (the caller adds it in the next element-wise pass).
    func linear(_ x: UnsafePointer<Float>, rows: Int, weights: LinearWeights, into y: UnsafeMutablePointer<Float>)
    /// This backend in fp32 (itself when it is fp32). The text tower uses it: bf16 there moves
    /// the zero-shot scores by up to 2e-3 (the temperature of 0.07 amplifies the text
    /// embeddings' error), for a saving once per class.
    var exact: MatMulBackend { get }
    /// Threads each product uses; the model splits its element-wise work over as many.
    var parallelism: Int { get }
    /// Whether `linear` gives each row the same bits whatever the row count and the row's
    /// place in the product, so that images batched into one product score exactly as alone.
    /// True only for kernels where this was checked (`FullPassBatchTests` runs the ones this
    /// machine has); on any other backend `runFullPasses` runs one image at a time.
    var batchInvariantRows: Bool { get }
}

extension MatMulBackend {
    public var exact: MatMulBackend { self }
    public var parallelism: Int { 1 }
    public var batchInvariantRows: Bool { false }

    /// The fp32 product through `gemm`.
    public func linear(_ x: UnsafePointer<Float>, rows: Int, weights w: LinearWeights, into y: UnsafeMutablePointer<Float>) {
        w.weight.withUnsafeBufferPointer { wp in
            gemm(transA: false, transB: true, m: rows, n: w.outFeatures, k: w.inFeatures, alpha: 1,
                 a: x, lda: w.inFeatures, b: wp.baseAddress!, ldb: w.inFeatures, beta: 0, c: y, ldc: w.outFeatures)
        }
    }
}

import CBLASLoader
import Logging

/// FP32 GEMM through OpenBLAS (opened with the right kernel core, see `OpenBLAS`).
public struct OpenBLASBackend: MatMulBackend {
    public let status: OpenBLAS.Status
    public var name: String { "openblas-\(status.core)" }
    /// OpenBLAS's thread count (one setting per process).
    public var parallelism: Int { OpenBLAS.threads }
    /// OpenBLAS 0.3.21's SkylakeX and Sandybridge sgemm kernels compute every row alike. Its
    /// Haswell kernel does not: rows take different micro-kernel paths by their place modulo
    /// 24, so a row of an image batched at another offset differs in the last bits.
    public var batchInvariantRows: Bool { OpenBLAS.batchInvariantCores.contains(status.core) }

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
