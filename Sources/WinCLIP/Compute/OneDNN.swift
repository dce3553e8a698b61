import CBLASLoader
import Foundation
import Logging
import Options

/// oneDNN (Debian's libdnnl2) opened at run time for the linear layers: bf16 (`--precision
/// bf16`) or, as an option for fp32, its f32 matmul.
///
/// Opened with dlopen rather than linked: the library brings libgomp and libOpenCL into the
/// process, and the default fp32 path (OpenBLAS) does not need it, so fp32 programs and
/// machines without the package are unaffected. The C shim is compiled against the headers of
/// libdnnl-dev; a build without them still works and refuses oneDNN with a message.
public enum OneDNN {
    /// The opened library and the matmul kernel it runs for one precision.
    public struct Status: Sendable, CustomStringConvertible {
        public let version: String
        /// The ISA oneDNN's kernels use ("avx512_core_bf16", "avx512_core_amx").
        public let isa: String
        public let precision: Precision
        /// oneDNN's name of the matmul kernel ("brg:avx512_core_bf16").
        public let implementation: String
        public var description: String { "oneDNN \(version), ISA \(isa), \(precision) matmul \(implementation)" }
    }

    /// Matmul kernels that give each row the same bits at any row count and offset.
    public static let batchInvariantImplementations: Set<String> = ["brg:avx512_core", "brg:avx512_core_bf16"]

    private static let libraryPaths = ["libdnnl.so.2", "libdnnl.so", "/usr/lib/x86_64-linux-gnu/libdnnl.so.2", "/usr/lib/aarch64-linux-gnu/libdnnl.so.2"]

    nonisolated(unsafe) private static var cached: [Precision: Result<Status, PrecisionUnavailable>] = [:]  // guarded by `lock`
    private static let lock = NSLock()

    /// Opens the library once per process and checks, once per precision, that its kernels
    /// suit this CPU (bf16 instructions for bf16) and that a small product is right.
    @discardableResult
    public static func load(_ precision: Precision, logger: Logger? = nil) throws -> Status {
        lock.lock()
        defer { lock.unlock() }
        if let result = cached[precision] { return try result.get() }
        let result = open(precision)
        cached[precision] = result
        switch result {
        case .success(let s): logger?.info("\(s)")
        case .failure(let e): logger?.error("\(e)")
        }
        return try result.get()
    }

    private static func open(_ precision: Precision) -> Result<Status, PrecisionUnavailable> {
        let context = precision == .bf16 ? "--precision bf16" : "oneDNN fp32"
        // oneDNN's OpenMP threads spin after each product by default, taking the cores from
        // OpenBLAS (attention) and the element-wise kernels that run between products: with 2
        // threads that halved the speed of a pass. libgomp reads this when it is loaded, below.
        if ProcessInfo.processInfo.environment["OMP_WAIT_POLICY"] == nil { setenv("OMP_WAIT_POLICY", "PASSIVE", 1) }
        var message = [CChar](repeating: 0, count: 512)
        let rc = withArrayOfCStrings(libraryPaths) { winclip_dnnl_open($0, &message, message.count) }
        guard rc == 0 else { return .failure(PrecisionUnavailable(description: "\(context): " + String(cString: message))) }
        let version = String(cString: winclip_dnnl_version()), isa = String(cString: winclip_dnnl_isa())
        if precision == .bf16 && winclip_dnnl_isa_has_bf16() == 0 {
            return .failure(PrecisionUnavailable(description: "\(context): oneDNN \(version) runs \(isa) kernels on this CPU, without bf16 instructions (ONEDNN_MAX_CPU_ISA may limit it)"))
        }
        do {
            let implementation = try selfCheck(precision, context: context)
            guard !implementation.hasPrefix("ref") else {
                return .failure(PrecisionUnavailable(description: "\(context): oneDNN \(version) has only its reference \(precision) matmul (\(implementation)) here, which is too slow"))
            }
            return .success(Status(version: version, isa: isa, precision: precision, implementation: implementation))
        } catch {
            return .failure(error)
        }
    }

    /// Multiplies a 67x131 by a 45x131 weight (odd sizes reach the edge kernels) and compares
    /// with a plain loop over the same inputs (rounded to bf16 for bf16). Returns the kernel's name.
    private static func selfCheck(_ precision: Precision, context: String) throws(PrecisionUnavailable) -> String {
        let (m, n, k) = (67, 45, 131)
        let x = (0..<(m * k)).map { Float(($0 * 37) % 101) / 50 - 1 }
        let w = (0..<(n * k)).map { Float(($0 * 53) % 97) / 48 - 1 }
        let packed: OneDNNPackedWeights
        do { packed = try OneDNNPackedWeights(weight: w, outFeatures: n, inFeatures: k, precision: precision) } catch {
            throw PrecisionUnavailable(description: "\(context): \(error)")
        }
        var y = [Float](repeating: 0, count: m * n)
        var message = [CChar](repeating: 0, count: 512)
        let rc = x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { winclip_dnnl_linear(packed.handle, wp.baseAddress!, xp.baseAddress!, Int64(m), $0.baseAddress!, 1, &message, message.count) }
            }
        }
        guard rc == 0 else { throw PrecisionUnavailable(description: "\(context): " + String(cString: message)) }
        let xr = precision == .bf16 ? x.map { roundedToBF16($0) } : x
        let wr = precision == .bf16 ? w.map { roundedToBF16($0) } : w
        var worst: Double = 0
        for i in 0..<m {
            for j in 0..<n {
                var s: Double = 0
                for p in 0..<k { s += Double(xr[i * k + p]) * Double(wr[j * k + p]) }
                worst = max(worst, abs(s - Double(y[i * n + j])))
            }
        }
        guard worst < 1e-3 else {
            throw PrecisionUnavailable(description: "\(context): oneDNN's matmul computes wrong products here (largest error \(worst))")
        }
        return packed.implementation
    }

    /// x rounded to the nearest bf16 (ties to even), as the bf16 matmul's inputs are.
    static func roundedToBF16(_ x: Float) -> Float {
        var input = x
        var half: UInt16 = 0
        winclip_f32_to_bf16(&input, &half, 1)
        return Float(bitPattern: UInt32(half) << 16)
    }
}

/// One weight in oneDNN's blocked layout (bf16 or f32), with its matmul primitives; freed with
/// the weight (it lives in the weight's `PreparedWeights`).
///
/// `@unchecked Sendable` is safe: the C object is immutable after creation except its layout
/// and primitive tables, which the shim guards with its own mutex; oneDNN primitives may run
/// concurrently.
final class OneDNNPackedWeights: @unchecked Sendable {
    let handle: OpaquePointer
    let implementation: String

    struct PackError: Error, CustomStringConvertible { let description: String }

    init(weight: [Float], outFeatures n: Int, inFeatures k: Int, precision: Precision) throws {
        var message = [CChar](repeating: 0, count: 512), implementation = [CChar](repeating: 0, count: 128)
        let handle = weight.withUnsafeBufferPointer {
            winclip_dnnl_pack_weights($0.baseAddress!, Int64(n), Int64(k), precision == .bf16 ? 1 : 0, &implementation, implementation.count, &message, message.count)
        }
        guard let handle else { throw PackError(description: String(cString: message)) }
        self.handle = handle
        self.implementation = String(cString: implementation)
    }

    deinit { winclip_dnnl_free_weights(handle) }
}

/// Linear layers through oneDNN's matmul, every other product (attention, patch embedding,
/// projections) in fp32 through OpenBLAS. Weights are converted once, on first use, to the
/// layout the matmul prefers and kept with the weight; for bf16 the activations are rounded
/// per call; the output is fp32.
public struct OneDNNBackend: MatMulBackend {
    public let status: OneDNN.Status
    public let fp32: OpenBLASBackend
    /// OpenMP threads of each oneDNN call (set per calling thread, so workers do not interfere).
    public let threads: Int
    public var precision: Precision { status.precision }
    public var name: String { "onednn-\(precision)-\(status.isa)" }
    public var exact: MatMulBackend { precision == .fp32 ? self : fp32 }
    public var parallelism: Int { threads }
    /// oneDNN's brgemm matmul on AVX-512 (f32 and bf16) computes every row alike at any row
    /// count (checked at 1 to 64 threads); other kernels (AMX, AVX2) are not known to.
    public var batchInvariantRows: Bool { OneDNN.batchInvariantImplementations.contains(status.implementation) }

    private var preparedKey: String { "onednn-\(precision)" }

    /// Opens oneDNN (throws `PrecisionUnavailable` if it cannot run `precision` here) and OpenBLAS.
    public init(precision: Precision, threads: Int? = nil, logger: Logger? = nil) throws {
        status = try OneDNN.load(precision, logger: logger)
        fp32 = try OpenBLASBackend(threads: threads, logger: logger)
        self.threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
    }

    public func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        fp32.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// The self-check in `OneDNN.load` has run this path, so a failure here means the library
    /// broke mid-run (out of memory): it stops the program rather than return wrong scores.
    public func linear(_ x: UnsafePointer<Float>, rows: Int, weights: LinearWeights, into y: UnsafeMutablePointer<Float>) {
        if rows == 0 { return }
        let packed: OneDNNPackedWeights
        do {
            packed = try weights.prepared.value(preparedKey) {
                try OneDNNPackedWeights(weight: weights.weight, outFeatures: weights.outFeatures, inFeatures: weights.inFeatures, precision: precision)
            }
        } catch {
            fatalError("oneDNN could not convert a \(weights.outFeatures)x\(weights.inFeatures) weight: \(error)")
        }
        var message = [CChar](repeating: 0, count: 256)
        let rc = weights.weight.withUnsafeBufferPointer {
            winclip_dnnl_linear(packed.handle, $0.baseAddress!, x, Int64(rows), y, Int32(threads), &message, message.count)
        }
        guard rc == 0 else { fatalError(String(cString: message)) }
    }
}
