import CBLASLoader
import Foundation
import Logging
import Options

/// `--precision` (the enum lives in Options, with the job's other options): what each case
/// runs here. fp32: everything through OpenBLAS, anomalib's numbers within 1e-5. bf16: the image
/// tower's linear layers in bf16 with fp32 accumulation through oneDNN (attention, softmax,
/// LayerNorm and the text tower stay fp32), on CPUs with AVX512_BF16 or AMX-BF16: scores within
/// 1e-3 and maps within 5e-3 of fp32.
extension Precision {
    /// Why this precision cannot run on `cpu`, naming the missing feature; nil when it can.
    public func missingFeature(on cpu: CPUFeatures) -> String? {
        switch self {
        case .fp32:
            return nil
        case .bf16:
            if cpu.avx512BF16 || cpu.amxBF16 { return nil }
            return "--precision bf16 needs a CPU with AVX512_BF16 or AMX-BF16, and this CPU has neither"
                + " (it has \(cpu.summary)); use --precision fp32"
        }
    }

    /// The GEMM backend for this precision: OpenBLAS for fp32; for bf16 oneDNN's bf16 matmul
    /// for the linear layers and OpenBLAS for the rest. Throws `PrecisionUnavailable` when the
    /// CPU lacks the feature or oneDNN cannot be used.
    public func makeBackend(threads: Int? = nil, cpu: CPUFeatures = .current, logger: Logger? = nil) throws -> MatMulBackend {
        if let missing = missingFeature(on: cpu) { throw PrecisionUnavailable(description: missing) }
        switch self {
        case .fp32: return try OpenBLASBackend(threads: threads, logger: logger)
        case .bf16: return try OneDNNBackend(precision: .bf16, threads: threads, logger: logger)
        }
    }
}

public struct PrecisionUnavailable: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// The CPU features that decide the GEMM kernels (from CPUID and XGETBV: a feature the OS has
/// not enabled counts as absent).
public struct CPUFeatures: Sendable, Equatable {
    public var avx2: Bool
    public var fma: Bool
    public var avx512F: Bool
    public var avx512BF16: Bool
    public var amxTile: Bool
    public var amxBF16: Bool

    public init(avx2: Bool = false, fma: Bool = false, avx512F: Bool = false, avx512BF16: Bool = false, amxTile: Bool = false, amxBF16: Bool = false) {
        self.avx2 = avx2
        self.fma = fma
        self.avx512F = avx512F
        self.avx512BF16 = avx512BF16
        self.amxTile = amxTile
        self.amxBF16 = amxBF16
    }

    /// This machine's CPU.
    public static var current: CPUFeatures {
        var f = winclip_cpu_features()
        winclip_cpu_probe(&f)
        return CPUFeatures(avx2: f.avx2 != 0, fma: f.fma != 0, avx512F: f.avx512f != 0, avx512BF16: f.avx512_bf16 != 0,
                           amxTile: f.amx_tile != 0, amxBF16: f.amx_bf16 != 0)
    }

    /// The features present, by their usual names ("AVX2, FMA, AVX-512F"), or "none of AVX2, ...".
    public var summary: String {
        let named: [(String, Bool)] = [("AVX2", avx2), ("FMA", fma), ("AVX-512F", avx512F), ("AVX512_BF16", avx512BF16), ("AMX-TILE", amxTile), ("AMX-BF16", amxBF16)]
        let present = named.filter(\.1).map(\.0)
        return present.isEmpty ? "none of AVX2, FMA, AVX-512" : present.joined(separator: ", ")
    }
}
