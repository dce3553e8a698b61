import Foundation
import XCTest
@testable import WinCLIP

/// The model's work between GEMMs split over several threads gives bit-identical results.
final class ThreadSplitTests: XCTestCase {
    /// OpenBLAS as it is, reporting `parallelism` threads to the model.
    struct Reporting: MatMulBackend {
        let inner: OpenBLASBackend
        let parallelism: Int
        var name: String { inner.name }
        func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
            inner.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    func testSplitOverThreadsIsBitIdentical() throws {
        let config = try ModelConfig.load(Fixtures.path("tiny-vit-48.json"))
        let model = try CLIPModel(config: config, weightsPath: Fixtures.path("tiny-vit-48.safetensors"))
        let s = config.vision.imageSize
        let pixels = (0..<(2 * 3 * s * s)).map { Float(($0 * 7) % 19) / 10 - 1 }
        let prompts = [[49406, 320, 1125, 539, 49407], [49406] + Array(400..<440) + [49407]]  // short and long (GEMM) attention
        let tokens = model.vision.embedTokens(pixels: pixels, count: 2, gemm: Fixtures.backend)
        let windows = SequenceBatch.uniform(count: 40, length: 5)  // enough sequences for 3 parts of 8 or more
        let windowTokens = Array((tokens + tokens + tokens + tokens).prefix(windows.rows * config.vision.width))
        var results: [[Float]] = []
        for threads in [1, 2, 3] {
            let gemm = Reporting(inner: Fixtures.backend, parallelism: threads)
            let image = model.vision.encode(pixels: pixels, count: 2, gemm: gemm)
            let short = model.vision.encodeSequences(windowTokens, batch: windows, gemm: gemm).embeddings
            let text = try model.text.encode(tokenIDs: prompts, gemm: gemm)
            results.append(image.embeddings + image.patchTokens + short + text)
        }
        XCTAssertEqual(results[0], results[1])
        XCTAssertEqual(results[0], results[2])
    }
}

/// A ragged batch (short and long sequences together) gives each sequence's result alone.
final class RaggedBatchTests: XCTestCase {
    func testRaggedBatchEqualsEachSequenceAlone() throws {
        let config = try ModelConfig.load(Fixtures.path("tiny-vit-48.json"))
        let model = try CLIPModel(config: config, weightsPath: Fixtures.path("tiny-vit-48.safetensors"))
        let s = config.vision.imageSize, w = config.vision.width
        let pixels = (0..<(3 * 3 * s * s)).map { Float(($0 * 5) % 29) / 14 - 1 }
        let tokens = model.vision.embedTokens(pixels: pixels, count: 3, gemm: Fixtures.backend)
        let lengths = [5, 76, 2, 10]
        var starts: [Int] = []
        var offset = 3
        for l in lengths { starts.append(offset); offset += l }
        let batch = SequenceBatch(lengths: lengths)
        let packed = Array(tokens[(3 * w)..<(offset * w)])
        let together = model.vision.encodeSequences(packed, batch: batch, gemm: Fixtures.backend).embeddings
        var alone: [Float] = []
        for (start, l) in zip(starts, lengths) {
            alone += model.vision.encodeSequences(Array(tokens[(start * w)..<((start + l) * w)]), batch: .uniform(count: 1, length: l), gemm: Fixtures.backend).embeddings
        }
        assertClose(together, alone, tolerance: 1e-5, "ragged batch vs sequences alone")
    }
}
