import Foundation
import Logging
import Options
import WinCLIP

/// The GEMM backends a worker computes with: fp32 (OpenBLAS) always, bf16 (oneDNN) where the CPU
/// has AVX512_BF16 or AMX and the library loads. A worker announces what it can run (READY);
/// each unit runs on the backend its job's `precision` names.
public struct ComputeBackends: Sendable {
    public let fp32: MatMulBackend
    public let bf16: MatMulBackend?
    /// Why bf16 is not available here (nil when it is).
    public let bf16Unavailable: String?

    public init(fp32: MatMulBackend, bf16: MatMulBackend? = nil, bf16Unavailable: String? = nil) {
        self.fp32 = fp32
        self.bf16 = bf16
        self.bf16Unavailable = bf16 == nil ? (bf16Unavailable ?? "bf16 was not set up on this worker") : nil
    }

    /// fp32 with `threads` BLAS threads, and bf16 when this machine can (`bf16: false` skips
    /// trying: oneDNN and its OpenMP runtime are only loaded where bf16 may be asked for).
    public static func make(threads: Int, bf16 wanted: Bool, logger: Logger?) throws -> ComputeBackends {
        let fp32 = try Precision.fp32.makeBackend(threads: threads, logger: logger)
        guard wanted else { return ComputeBackends(fp32: fp32, bf16Unavailable: "bf16 was not asked for") }
        do {
            let bf16 = try Precision.bf16.makeBackend(threads: threads, logger: logger)
            return ComputeBackends(fp32: fp32, bf16: bf16)
        } catch {
            logger?.info("bf16 not available: \(error)")
            return ComputeBackends(fp32: fp32, bf16Unavailable: "\(error)")
        }
    }

    public var precisions: [Precision] { bf16 == nil ? [.fp32] : [.fp32, .bf16] }

    public func backend(for precision: Precision) throws -> MatMulBackend {
        switch precision {
        case .fp32: return fp32
        case .bf16:
            guard let bf16 else { throw PrecisionUnavailable(description: bf16Unavailable ?? "bf16 is not available") }
            return bf16
        }
    }
}
