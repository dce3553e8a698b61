import CBLASLoader
import Foundation
import Logging

/// OpenBLAS opened at run time with a kernel core chosen for this CPU.
///
/// Debian's OpenBLAS 0.3.21 picks its kernels in a library constructor. On CPUs newer than
/// the build it may fall back to "Prescott" (about 5x slower sgemm), and an inherited
/// `OPENBLAS_CORETYPE` may name a weaker core than the CPU has. So the core is decided here,
/// before the library is opened:
/// 1. `WINCLIP_BLAS_CORETYPE`, if set, is used as given (an explicit choice for this program);
/// 2. otherwise the best core this CPU's features allow (SkylakeX with AVX-512, Haswell with
///    AVX2+FMA, Sandybridge with AVX) replaces whatever `OPENBLAS_CORETYPE` says;
/// 3. on a CPU without AVX the library's own detection is left alone.
/// After opening, a small product is checked against a plain loop, so a core that computes
/// wrong results stops the program instead of corrupting scores.
public enum OpenBLAS {
    public struct Status: Sendable, CustomStringConvertible {
        public let core: String
        public let requestedCore: String?
        public let reason: String
        public let config: String
        public var description: String { "OpenBLAS core \(core) (\(reason)); \(config)" }
    }

    public struct LoadError: Error, CustomStringConvertible { public let description: String }

    /// Cores of OpenBLAS 0.3.x that mean "CPU not recognised": generic SSE kernels.
    public static let fallbackCores: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai", "Coppermine", "Northwood", "Banias", "Unknown"]

    /// Cores whose sgemm gives each row the same bits at any row count and offset (checked on
    /// 0.3.21 at 1 to 64 threads for the full-size model's linear shapes).
    public static let batchInvariantCores: Set<String> = ["SkylakeX", "Sandybridge"]

    private static let libraryPaths = [
        "libopenblas.so.0", "libopenblas.so", "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
        "/usr/lib/aarch64-linux-gnu/libopenblas.so.0", "libopenblas.dylib",
    ]

    /// `nonisolated(unsafe)` is safe: read and written only in `load`, with `lock` held.
    nonisolated(unsafe) private static var cachedStatus: Result<Status, LoadError>?
    private static let lock = NSLock()

    /// The best OpenBLAS core name for this CPU, or nil when the library should detect it.
    public static func bestCore() -> String? {
        var f = winclip_cpu_features()
        winclip_cpu_probe(&f)
        if f.avx512f != 0 && f.avx512bw != 0 && f.avx512vl != 0 && f.avx512dq != 0 { return "SkylakeX" }
        if f.avx2 != 0 && f.fma != 0 { return "Haswell" }
        if f.avx != 0 { return "Sandybridge" }
        return nil
    }

    /// Opens the library once per process (later calls return the first result).
    @discardableResult
    public static func load(logger: Logger? = nil) throws -> Status {
        lock.lock()
        defer { lock.unlock() }
        if let cached = cachedStatus { return try cached.get() }
        let env = ProcessInfo.processInfo.environment
        var requested: String?
        var reason: String
        if let forced = env["WINCLIP_BLAS_CORETYPE"], !forced.isEmpty {
            requested = forced
            reason = "set by WINCLIP_BLAS_CORETYPE"
        } else if let best = bestCore() {
            requested = best
            if let inherited = env["OPENBLAS_CORETYPE"], inherited.lowercased() != best.lowercased() {
                reason = "chosen from CPU features; the inherited OPENBLAS_CORETYPE=\(inherited) was overridden"
            } else {
                reason = "chosen from CPU features"
            }
        } else {
            reason = "detected by OpenBLAS"
        }
        if let requested { setenv("OPENBLAS_CORETYPE", requested, 1) }
        var message = [CChar](repeating: 0, count: 512)
        let result: Result<Status, LoadError>
        let rc: Int32 = withArrayOfCStrings(libraryPaths) { paths in
            winclip_blas_open(paths, &message, message.count)
        }
        if rc != 0 {
            result = .failure(LoadError(description: String(cString: message)))
        } else {
            let core = String(cString: winclip_blas_corename())
            if fallbackCores.contains(core) {
                reason += "; WARNING: \(core) is a generic fallback core and runs several times slower, set WINCLIP_BLAS_CORETYPE"
            }
            let status = Status(core: core, requestedCore: requested, reason: reason, config: String(cString: winclip_blas_config()))
            if let problem = selfCheck() {
                result = .failure(LoadError(description: "OpenBLAS core \(core) computes wrong products (\(problem)); set WINCLIP_BLAS_CORETYPE to another core"))
            } else {
                result = .success(status)
            }
        }
        cachedStatus = result
        switch result {
        case .success(let s): logger?.info("\(s)")
        case .failure(let e): logger?.error("\(e)")
        }
        return try result.get()
    }

    /// Threads OpenBLAS may use inside one call (workers use 1 and run in parallel instead).
    public static func setThreads(_ n: Int) { winclip_blas_set_threads(Int32(n)) }
    public static var threads: Int { Int(winclip_blas_get_threads()) }

    /// Compares a 67x45x131 product (odd sizes reach the edge kernels) with a plain loop.
    private static func selfCheck() -> String? {
        let (m, n, k) = (67, 45, 131)
        var a = [Float](repeating: 0, count: m * k), b = [Float](repeating: 0, count: n * k)
        for i in 0..<a.count { a[i] = Float((i * 37) % 101) / 50 - 1 }
        for i in 0..<b.count { b[i] = Float((i * 53) % 97) / 48 - 1 }
        var c = [Float](repeating: 0, count: m * n)
        winclip_sgemm(0, 1, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(k), 0, &c, Int32(n))
        var worst: Double = 0
        for i in 0..<m {
            for j in 0..<n {
                var s: Double = 0
                for p in 0..<k { s += Double(a[i * k + p]) * Double(b[j * k + p]) }
                worst = max(worst, abs(s - Double(c[i * n + j])))
            }
        }
        return worst < 1e-3 ? nil : "largest error \(worst)"
    }
}

func withArrayOfCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicated = strings.map { strdup($0) }
    defer { duplicated.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = duplicated.map { UnsafePointer($0) }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
