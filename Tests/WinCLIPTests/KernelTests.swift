import Foundation
import XCTest
@testable import WinCLIP

final class KernelTests: XCTestCase {
    /// GELU (after a bias, and alone) against the scalar formula 0.5 x (1 + erf(x / sqrt 2)) in double.
    func testGELUMatchesErfFormula() {
        var xs: [Float] = stride(from: Float(-12), through: 12, by: 0.0137).map { $0 }
        xs += [0, -0.0, 1e-30, -1e-30, 88, -88, 200, -200]
        func exact(_ x: Float) -> Float { Float(0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot()))) }
        var ys = xs
        ys.withUnsafeMutableBufferPointer { Kernels.biasActivation($0.baseAddress!, bias: nil, rows: 1, width: $0.count, .gelu) }
        var worst: Float = 0
        for (x, y) in zip(xs, ys) { worst = max(worst, abs(y - exact(x)) / max(1, abs(exact(x)))) }
        XCTAssertLessThan(worst, 4e-7, "GELU relative error")

        // [rows, width] with a bias per column: act(y + b) with y + b rounded to float first.
        let rows = 7, width = 37
        let bias = (0..<width).map { Float($0) * 0.173 - 3 }
        let input = (0..<(rows * width)).map { Float(($0 * 29) % 83) * 0.1 - 4 }
        var out = input
        out.withUnsafeMutableBufferPointer { Kernels.biasActivation($0.baseAddress!, bias: bias, rows: rows, width: width, .gelu) }
        for i in 0..<input.count {
            let e = exact(input[i] + bias[i % width])
            XCTAssertEqual(out[i], e, accuracy: 4e-7 * max(1, abs(e)), "element \(i)")
        }
    }

    func testQuickGELUMatchesSigmoidFormula() {
        let xs: [Float] = stride(from: Float(-30), through: 30, by: 0.173).map { $0 }
        let bias: [Float] = [0.5, -0.25]
        var ys = xs
        ys.withUnsafeMutableBufferPointer { Kernels.biasActivation($0.baseAddress!, bias: bias, rows: xs.count / 2, width: 2, .quickGELU) }
        for i in 0..<(xs.count / 2 * 2) {
            let v = Double(xs[i] + bias[i % 2])
            let exact = Float(v / (1 + Foundation.exp(-1.702 * v)))
            XCTAssertEqual(ys[i], exact, accuracy: 2e-6 * max(1, abs(exact)), "x = \(v)")
        }
    }

    /// The fused pass rounds exactly as adding the bias and then the (scaled) residual.
    func testBiasResidualRoundsAsTwoPasses() {
        let rows = 5, width = 19
        let x = (0..<(rows * width)).map { Float(($0 * 31) % 47) * 0.37 - 8 }
        let y = (0..<(rows * width)).map { Float(($0 * 17) % 53) * 0.013 - 0.3 }
        let bias = (0..<width).map { Float($0) * 0.0731 - 0.5 }
        let gamma = (0..<width).map { Float($0) * 0.011 + 0.1 }
        for g in [nil, gamma] {
            var fused = x
            fused.withUnsafeMutableBufferPointer { fp in
                y.withUnsafeBufferPointer { Kernels.biasResidual(fp.baseAddress!, $0.baseAddress!, bias: bias, rows: rows, width: width, gamma: g) }
            }
            for i in 0..<x.count {
                let biased = y[i] + bias[i % width]
                let expected = x[i] + (g.map { $0[i % width] * biased } ?? biased)
                XCTAssertEqual(fused[i], expected, "element \(i), gamma \(g == nil ? "none" : "per column")")
            }
        }
    }

    func testLayerNormMatchesDoubleReference() {
        let rows = 3, width = 45
        let x = (0..<(rows * width)).map { Float(($0 * 13) % 41) * 0.21 - 3 + Float($0 / width) * 2 }
        let norm = LayerNormWeights(weight: (0..<width).map { 1 + Float($0) * 0.01 }, bias: (0..<width).map { Float($0) * 0.02 - 0.4 })
        var y = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { Kernels.layerNorm(xp.baseAddress!, $0.baseAddress!, rows: rows, width: width, norm) } }
        for r in 0..<rows {
            let row = x[(r * width)..<((r + 1) * width)].map(Double.init)
            let mean = row.reduce(0, +) / Double(width)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
            for c in 0..<width {
                let e = (row[c] - mean) / (variance + 1e-5).squareRoot() * Double(norm.weight[c]) + Double(norm.bias[c])
                XCTAssertEqual(Double(y[r * width + c]), e, accuracy: 2e-6 * max(1, abs(e)), "row \(r) column \(c)")
            }
        }
        // In place gives the same result.
        var inPlace = x
        inPlace.withUnsafeMutableBufferPointer { Kernels.layerNorm($0.baseAddress!, $0.baseAddress!, rows: rows, width: width, norm) }
        XCTAssertEqual(inPlace, y)
    }

    func testSoftmaxRowsAndCausalMask() {
        let n = 21
        let s0 = (0..<(n * n)).map { Float(($0 * 7) % 23) * 0.9 - 10 }
        for causal in [false, true] {
            var s = s0
            Kernels.softmaxRows(&s, rows: n, count: n, causal: causal)
            for i in 0..<n {
                let valid = causal ? i + 1 : n
                let row = s0[(i * n)..<(i * n + valid)].map(Double.init)
                let top = row.max()!
                let sum = row.map { Foundation.exp($0 - top) }.reduce(0, +)
                for j in 0..<n {
                    let e = j < valid ? Foundation.exp(row[j] - top) / sum : 0
                    XCTAssertEqual(Double(s[i * n + j]), e, accuracy: 1e-6, "row \(i) entry \(j) causal \(causal)")
                }
            }
            // Rows 5... alone (a thread's share) give the same rows.
            var part = Array(s0[(5 * n)...])
            Kernels.softmaxRows(&part, rows: n - 5, count: n, firstRow: 5, causal: causal)
            XCTAssertEqual(part, Array(s[(5 * n)...]))
        }
    }

    /// The loop kernel of short sequences against scaled dot-product attention in double.
    func testShortAttentionMatchesReference() {
        let heads = 3, headWidth = 20, width = heads * headWidth, length = 9
        let qkv = (0..<(length * 3 * width)).map { Float(($0 * 37) % 101) / 50 - 1 }
        for causal in [false, true] {
            var out = [Float](repeating: .nan, count: length * width)
            var scores = [Float](repeating: 0, count: length)
            Kernels.attentionShort(qkv: qkv, out: &out, outStride: width, length: length, heads: heads, headWidth: headWidth,
                                   scale: 1 / Float(headWidth).squareRoot(), causal: causal, scores: &scores)
            let stride = 3 * width
            func q(_ row: Int, _ h: Int, _ d: Int) -> Double { Double(qkv[row * stride + h * headWidth + d]) }
            func k(_ row: Int, _ h: Int, _ d: Int) -> Double { Double(qkv[row * stride + width + h * headWidth + d]) }
            func v(_ row: Int, _ h: Int, _ d: Int) -> Double { Double(qkv[row * stride + 2 * width + h * headWidth + d]) }
            for h in 0..<heads {
                for i in 0..<length {
                    let valid = causal ? i + 1 : length
                    var logits: [Double] = []
                    for j in 0..<valid {
                        var dot = 0.0
                        for d in 0..<headWidth { dot += q(i, h, d) * k(j, h, d) }
                        logits.append(dot / Double(headWidth).squareRoot())
                    }
                    let top = logits.max()!
                    let weights = logits.map { Foundation.exp($0 - top) }
                    let sum = weights.reduce(0, +)
                    for d in 0..<headWidth {
                        var e = 0.0
                        for j in 0..<valid { e += weights[j] / sum * v(j, h, d) }
                        XCTAssertEqual(Double(out[i * width + h * headWidth + d]), e, accuracy: 1e-5, "head \(h) row \(i) column \(d) causal \(causal)")
                    }
                }
            }
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
