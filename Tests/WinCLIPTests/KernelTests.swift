import Foundation
import XCTest
@testable import WinCLIP

final class KernelTests: XCTestCase {
    func testVectorGELUMatchesErf() {
        var xs: [Float] = stride(from: Float(-12), through: 12, by: 0.0137).map { $0 }
        xs += [0, -0.0, 1e-30, -1e-30, 88, -88, 200, -200]
        var ys = xs
        ys.withUnsafeMutableBufferPointer { VectorMath.gelu($0.baseAddress!, count: $0.count) }
        var worst: Float = 0
        for (x, y) in zip(xs, ys) {
            let exact = Float(0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot())))
            worst = max(worst, abs(y - exact) / max(1, abs(exact)))
        }
        XCTAssertLessThan(worst, 4e-7, "GELU relative error")
    }

    func testVectorQuickGELU() {
        let xs: [Float] = stride(from: Float(-30), through: 30, by: 0.173).map { $0 }
        var ys = xs
        ys.withUnsafeMutableBufferPointer { VectorMath.quickGELU($0.baseAddress!, count: $0.count) }
        for (x, y) in zip(xs, ys) {
            let exact = Float(Double(x) / (1 + Foundation.exp(-1.702 * Double(x))))
            XCTAssertEqual(y, exact, accuracy: 2e-6 * max(1, abs(exact)), "x = \(x)")
        }
    }

    func testWindowMasksFollowUnfoldOrder() throws {
        let m = try WindowMasks(gridSize: 3, kernelSize: 2)
        XCTAssertEqual(m.windows, [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]])
        XCTAssertEqual(try WindowMasks(gridSize: 15, kernelSize: 3).count, 169)
        XCTAssertEqual(try WindowMasks(gridSize: 15, kernelSize: 15).count, 1)
        XCTAssertThrowsError(try WindowMasks(gridSize: 6, kernelSize: 7)) { error in
            XCTAssert("\(error)".contains("6x6"), "\(error)")
        }
        XCTAssertThrowsError(try WindowMasks(gridSize: 6, kernelSize: 0))
    }

    func testHarmonicAggregationAndNanToNum() throws {
        let agg = HarmonicAggregator(masks: try WindowMasks(gridSize: 3, kernelSize: 2))
        let map = agg.aggregate([0.5, 0.25, 1, 0.5])
        XCTAssertEqual(map[0], 0.5, accuracy: 1e-7)                 // only window 0
        XCTAssertEqual(map[4], 4 / (2 + 4 + 1 + 2), accuracy: 1e-7)  // all four windows
        XCTAssertEqual(map[1], 2 / (2 + 4), accuracy: 1e-7)
        // A zero window score makes 1/0 = inf, so the patch gets 0 (anomalib: count / inf = 0).
        XCTAssertEqual(agg.aggregate([0, 0.25, 1, 0.5])[0], 0)
    }

    func testBilinearMatchesTorchOnSmallCase() {
        // torch.nn.functional.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=(4, 4), mode="bilinear")
        let out = BilinearUpsample.resize([0, 1, 2, 3], inHeight: 2, inWidth: 2, outHeight: 4, outWidth: 4)
        let expected: [Float] = [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]
        for (a, b) in zip(out, expected) { XCTAssertEqual(a, b, accuracy: 1e-7) }
    }
}

final class OpenBLASTests: XCTestCase {
    /// On a CPU with AVX2 or AVX-512 the loader must not run OpenBLAS's generic fallback kernels.
    func testRunsTheCoreThisCPUAllows() throws {
        let status = try OpenBLAS.load()
        XCTAssertFalse(status.core.isEmpty)
        if let best = OpenBLAS.bestCore(), ProcessInfo.processInfo.environment["WINCLIP_BLAS_CORETYPE"] == nil {
            XCTAssertFalse(OpenBLAS.fallbackCores.contains(status.core), "\(status)")
            XCTAssertEqual(status.core.lowercased(), best.lowercased(), "\(status)")
        }
    }
}

final class GELUKernelTests: XCTestCase {
    /// The C kernel and the Swift SIMD version compute the same formulas.
    func testCKernelAgreesWithSwiftSIMD() {
        let xs: [Float] = stride(from: Float(-20), through: 20, by: 0.00731).map { $0 }
        var c = xs, s = xs
        c.withUnsafeMutableBufferPointer { VectorMath.gelu($0.baseAddress!, count: $0.count) }
        s.withUnsafeMutableBufferPointer { VectorMath.geluSIMD($0.baseAddress!, count: $0.count) }
        for i in 0..<xs.count { XCTAssertEqual(c[i], s[i], accuracy: 2e-7 * max(1, abs(s[i])), "x = \(xs[i])") }
        var qc = xs, qs = xs
        qc.withUnsafeMutableBufferPointer { VectorMath.quickGELU($0.baseAddress!, count: $0.count) }
        qs.withUnsafeMutableBufferPointer { VectorMath.quickGELUSIMD($0.baseAddress!, count: $0.count) }
        for i in 0..<xs.count { XCTAssertEqual(qc[i], qs[i], accuracy: 2e-7 * max(1, abs(qs[i])), "x = \(xs[i])") }
    }
}
