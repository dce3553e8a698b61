import CBLASLoader
import Foundation
import Logging

/// oneDNN (Debian's libdnnl2) opened at run time for the bf16 linear layers.
///
/// Opened with dlopen rather than linked: the library brings libgomp and libOpenCL into the
/// process, and only `--precision bf16` needs it, so fp32 programs (every worker by default)
/// and machines without the package are unaffected. The C shim is compiled against the headers
/// of libdnnl-dev; a build without them still works and refuses bf16 with a message.
public enum OneDNN {
    public struct Status: Sendable, CustomStringConvertible {
        public let version: String
        /// The ISA oneDNN's kernels use ("avx512_core_bf16", "avx512_core_amx").
        public let isa: String
        /// oneDNN's name of the bf16 matmul kernel ("brg:avx512_core_bf16").
        public let implementation: String
        public var description: String { "oneDNN \(version), ISA \(isa), bf16 matmul \(implementation)" }
    }

    private static let libraryPaths = ["libdnnl.so.2", "libdnnl.so", "/usr/lib/x86_64-linux-gnu/libdnnl.so.2", "/usr/lib/aarch64-linux-gnu/libdnnl.so.2"]

    nonisolated(unsafe) private static var cachedStatus: Result<Status, PrecisionUnavailable>?  // guarded by `lock`
    private static let lock = NSLock()

    /// Opens the library once per process, checks that its kernels use bf16 instructions on
    /// this CPU and that a small product is right (later calls return the first result).
    @discardableResult
    public static func load(logger: Logger? = nil) throws -> Status {
        lock.lock()
        defer { lock.unlock() }
        if let cached = cachedStatus { return try cached.get() }
        let result = open()
        cachedStatus = result
        switch result {
        case .success(let s): logger?.info("\(s)")
        case .failure(let e): logger?.error("\(e)")
        }
        return try result.get()
    }

    private static func open() -> Result<Status, PrecisionUnavailable> {
        // oneDNN's OpenMP threads spin after each product by default, taking the cores from
        // OpenBLAS (attention) and the element-wise kernels that run between products: with 2
        // threads that halved the speed of a pass. libgomp reads this when it is loaded, below.
        if ProcessInfo.processInfo.environment["OMP_WAIT_POLICY"] == nil { setenv("OMP_WAIT_POLICY", "PASSIVE", 1) }
        var message = [CChar](repeating: 0, count: 512)
        let rc = withArrayOfCStrings(libraryPaths) { winclip_dnnl_open($0, &message, message.count) }
        guard rc == 0 else { return .failure(PrecisionUnavailable(description: "--precision bf16: " + String(cString: message))) }
        let version = String(cString: winclip_dnnl_version()), isa = String(cString: winclip_dnnl_isa())
        guard winclip_dnnl_isa_has_bf16() != 0 else {
            return .failure(PrecisionUnavailable(description: "--precision bf16: oneDNN \(version) runs \(isa) kernels on this CPU, without bf16 instructions (ONEDNN_MAX_CPU_ISA may limit it)"))
        }
        do {
            let implementation = try selfCheck()
            guard !implementation.hasPrefix("ref") else {
                return .failure(PrecisionUnavailable(description: "--precision bf16: oneDNN \(version) has only its reference bf16 matmul (\(implementation)) here, which is slower than fp32"))
            }
            return .success(Status(version: version, isa: isa, implementation: implementation))
        } catch {
            return .failure(error)
        }
    }

    /// Multiplies a 67x131 by a 45x131 weight (odd sizes reach the edge kernels) and compares
    /// with a plain loop over the same bf16-rounded inputs. Returns the kernel's name.
    private static func selfCheck() throws(PrecisionUnavailable) -> String {
        let (m, n, k) = (67, 45, 131)
        let x = (0..<(m * k)).map { Float(($0 * 37) % 101) / 50 - 1 }
        let w = (0..<(n * k)).map { Float(($0 * 53) % 97) / 48 - 1 }
        let packed: OneDNNPackedWeights
        do { packed = try OneDNNPackedWeights(weight: w, outFeatures: n, inFeatures: k) } catch {
            throw PrecisionUnavailable(description: "--precision bf16: \(error)")
        }
        var y = [Float](repeating: 0, count: m * n)
        var message = [CChar](repeating: 0, count: 512)
        let rc = x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { winclip_dnnl_linear(packed.handle, wp.baseAddress!, xp.baseAddress!, Int64(m), $0.baseAddress!, 1, &message, message.count) }
            }
        }
        guard rc == 0 else { throw PrecisionUnavailable(description: "--precision bf16: " + String(cString: message)) }
        let xr = x.map(roundedToBF16), wr = w.map(roundedToBF16)
        var worst: Double = 0
        for i in 0..<m {
            for j in 0..<n {
                var s: Double = 0
                for p in 0..<k { s += Double(xr[i * k + p]) * Double(wr[j * k + p]) }
                worst = max(worst, abs(s - Double(y[i * n + j])))
            }
        }
        guard worst < 1e-3 else {
            throw PrecisionUnavailable(description: "--precision bf16: oneDNN's bf16 matmul computes wrong products here (largest error \(worst))")
        }
        return packed.implementation
    }

    /// x rounded to the nearest bf16 (ties to even), as the matmul's inputs are.
    static func roundedToBF16(_ x: Float) -> Float {
        var input = x
        var half: UInt16 = 0
        winclip_f32_to_bf16(&input, &half, 1)
        return Float(bitPattern: UInt32(half) << 16)
    }
}

/// One weight converted to bf16 in oneDNN's blocked layout, with its matmul primitives; freed
/// with the weight (it lives in the weight's `PreparedWeights`).
///
/// `@unchecked Sendable` is safe: the C object is immutable after creation except its primitive
/// table, which the shim guards with its own mutex; oneDNN primitives may run concurrently.
final class OneDNNPackedWeights: @unchecked Sendable {
    let handle: OpaquePointer
    let implementation: String

    struct PackError: Error, CustomStringConvertible { let description: String }

    init(weight: [Float], outFeatures n: Int, inFeatures k: Int) throws {
        var message = [CChar](repeating: 0, count: 512), implementation = [CChar](repeating: 0, count: 128)
        let handle = weight.withUnsafeBufferPointer {
            winclip_dnnl_pack_weights($0.baseAddress!, Int64(n), Int64(k), &implementation, implementation.count, &message, message.count)
        }
        guard let handle else { throw PackError(description: String(cString: message)) }
        self.handle = handle
        self.implementation = String(cString: implementation)
    }

    deinit { winclip_dnnl_free_weights(handle) }
}

/// The bf16 backend: linear layers through oneDNN's bf16 matmul (weights converted once, on
/// first use, and kept with the weight; activations rounded to bf16 per call; fp32 output),
/// every other product (attention, patch embedding, projections) in fp32 through OpenBLAS.
public struct OneDNNBF16Backend: MatMulBackend {
    public let status: OneDNN.Status
    public let fp32: OpenBLASBackend
    /// OpenMP threads of each oneDNN call (set per calling thread, so workers do not interfere).
    public let threads: Int
    public var name: String { "onednn-bf16-\(status.isa)" }
    public var exact: MatMulBackend { fp32 }
    public var parallelism: Int { threads }

    private static let preparedKey = "onednn-bf16"

    /// Opens oneDNN (throws `PrecisionUnavailable` if it cannot run bf16 here) and OpenBLAS.
    public init(threads: Int? = nil, logger: Logger? = nil) throws {
        status = try OneDNN.load(logger: logger)
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
            packed = try weights.prepared.value(Self.preparedKey) {
                try OneDNNPackedWeights(weight: weights.weight, outFeatures: weights.outFeatures, inFeatures: weights.inFeatures)
            }
        } catch {
            fatalError("oneDNN could not convert a \(weights.outFeatures)x\(weights.inFeatures) weight to bf16: \(error)")
        }
        var message = [CChar](repeating: 0, count: 256)
        let rc = weights.weight.withUnsafeBufferPointer {
            winclip_dnnl_linear(packed.handle, $0.baseAddress!, x, Int64(rows), y, Int32(threads), &message, message.count)
        }
        guard rc == 0 else { fatalError(String(cString: message)) }
    }
}
