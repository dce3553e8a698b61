import Foundation
import Options
import XCTest
@testable import WinCLIP

/// Full passes of several images in one batch (`runFullPasses`) give every image exactly the
/// bits of its pass alone: image scores, few-shot patch associations, and the classification
/// and segmentation results assembled from them. Batches of 1, 2, 3 and 5 over five images, on
/// both fixture models and on the full-size model's shapes (ViT-B-16-plus-240, 226 tokens,
/// width 896, one layer of random weights), for every GEMM backend this machine has, at 1 and
/// 2 threads.
final class FullPassBatchTests: XCTestCase {
    static let batchSizes = [1, 2, 3, 5]

    /// A scorer, five images and the contexts to score them in.
    struct Case: Sendable {
        let label: String
        let scorer: WinCLIPScorer
        let images: [[Float]]
        let contexts: [ScoringContext]
    }

    /// The cases, made once (with OpenBLAS) for every backend and test: the text tower and the
    /// random weights take most of a debug run's time.
    static let cases: Result<(fixtures: [Case], fullSize: Case), Error> = Result {
        (try WinCLIPParityTests.models.map { try fixtureCase($0, gemm: Fixtures.backend) }, try fullSizeShapesCase())
    }

    /// A fixture model with its four fixture images and a fifth (the first, reversed), text
    /// and references as the product computes them.
    static func fixtureCase(_ name: String, gemm: MatMulBackend) throws -> Case {
        let expected = try Fixtures.open("\(name).winclip.safetensors")
        let config = try ModelConfig.load(Fixtures.path("\(name).json"))
        let model = try CLIPModel(config: config, weightsPath: Fixtures.path("\(name).safetensors"))
        let scales = try JSONDecoder().decode([Int].self, from: Data(expected.metadata["scales"]!.utf8))
        let scorer = try WinCLIPScorer(model: model, scales: scales)
        let length = 3 * config.vision.imageSize * config.vision.imageSize
        let pixels = try expected.floats("pixels")
        var images = (0..<(pixels.count / length)).map { Array(pixels[($0 * length)..<(($0 + 1) * length)]) }
        images.append(images[0].reversed())
        XCTAssertEqual(images.count, 5)
        let text = try scorer.textEmbeddings(className: expected.metadata["class_name"]!, gemm: gemm)
        let references = scorer.referenceEmbeddings(pixels: try expected.floats("ref_pixels"), count: expected.shape("ref_pixels")![0], gemm: gemm)
        return Case(label: name, scorer: scorer, images: images,
                    contexts: [ScoringContext(text: text, references: nil), ScoringContext(text: text, references: references)])
    }

    /// The full-size model's shapes with one layer of random weights, random images, text and
    /// references (few-shot: its results hold the image score and the patch associations).
    static func fullSizeShapesCase() throws -> Case {
        var config = try ModelConfig.load("ViT-B-16-plus-240")
        config.vision.layers = 1
        config.text.layers = 1
        config.text.vocabSize = 1000  // the text tower is not run: small random weights
        let model = CLIPModel(config: config, weights: .random(config: config, seed: 3))
        let scorer = try WinCLIPScorer(model: model, scales: [2], tokenizer: try SimpleTokenizer())
        var state: UInt64 = 0x1234_5678
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
        let v = config.vision, e = config.embedDim
        let images = (0..<5).map { _ in (0..<(3 * v.imageSize * v.imageSize)).map { _ in 2 * next() } }
        let text = TextEmbeddings(normal: (0..<e).map { _ in next() }, anomalous: (0..<e).map { _ in next() })
        let patches = Similarity.normalizedRows((0..<(2 * v.gridSize * v.gridSize * v.width)).map { _ in next() }, width: v.width)
        let references = ReferenceEmbeddings(count: 2, patchTokens: patches, windows: [])
        return Case(label: "ViT-B-16-plus-240 shapes", scorer: scorer, images: images, contexts: [ScoringContext(text: text, references: references)])
    }

    /// Each result's bits: the image score, then the few-shot patch associations.
    func bits(_ scores: [UnitScores]) -> [[UInt32]] {
        scores.map { unit in
            guard case .full(let score, let patches) = unit else { return [] }
            return [score.bitPattern] + (patches ?? []).map(\.bitPattern)
        }
    }

    /// Every batch size, the images cut into consecutive batches (the last may be short), gives
    /// the results of each image alone, bit for bit.
    func assertBatchesMatchAlone(_ c: Case, gemm: MatMulBackend, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        for context in c.contexts {
            let mode = context.fewShot ? "few-shot" : "zero-shot"
            // Batches of 1: each image alone (what `run(.full)` computes).
            let alone = try c.images.flatMap { try c.scorer.runFullPasses(pixels: [$0], context: context, gemm: gemm) }
            // Not a constant: the five images score differently.
            XCTAssertEqual(Set(bits(alone).map { $0[0] }).count, c.images.count, "\(label) \(c.label) \(mode): images score alike", file: file, line: line)
            for size in Self.batchSizes where size > 1 {
                var batched: [UnitScores] = []
                for start in stride(from: 0, to: c.images.count, by: size) {
                    batched += try c.scorer.runFullPasses(pixels: Array(c.images[start..<min(start + size, c.images.count)]), context: context, gemm: gemm)
                }
                XCTAssertEqual(bits(batched), bits(alone), "\(label) \(c.label) \(mode): batches of \(size) differ from each image alone", file: file, line: line)
            }
        }
    }

    /// The cases on every model, at 1 and 2 threads of `make(threads)`.
    func assertAllCases(_ label: String, make: (Int) throws -> MatMulBackend) throws {
        // OpenBLAS's thread count is one setting per process (oneDNN's backend sets it too for
        // its other products): restored for the other tests.
        let before = OpenBLAS.threads
        defer { OpenBLAS.setThreads(before) }
        for threads in [1, 2] {
            let gemm = try make(threads)
            // Where the backend is not known to be batch invariant, the batches run image by
            // image (`testBatchingFollowsTheBackendsRowInvariance`): still checked, but say so.
            if !gemm.batchInvariantRows { print("\(label): \(gemm.name) is not known to be batch invariant: batches run one image at a time") }
            let cases = try Self.cases.get()
            for c in cases.fixtures + [cases.fullSize] { try assertBatchesMatchAlone(c, gemm: gemm, "\(label) \(threads) thread(s)") }
        }
    }

    func testOpenBLASBatchesAreBitIdentical() throws {
        try assertAllCases("OpenBLAS") { threads in
            OpenBLAS.setThreads(threads)
            return Fixtures.backend
        }
    }

    func testOneDNNFP32BatchesAreBitIdentical() throws {
        try assertAllCases("oneDNN fp32") { threads in
            do { return try OneDNNBackend(precision: .fp32, threads: threads) } catch let error as PrecisionUnavailable {
                throw XCTSkip("oneDNN fp32 not available here: \(error)")
            }
        }
    }

    func testOneDNNBF16BatchesAreBitIdentical() throws {
        if let missing = Precision.bf16.missingFeature(on: .current) { throw XCTSkip("bf16 not tested on this CPU: \(missing)") }
        try assertAllCases("oneDNN bf16") { try Precision.bf16.makeBackend(threads: $0) }
    }

    /// The single pass is today's computation: the tower's `encode` (class embedding and patch
    /// tokens after ln_post) scored directly.
    func testSinglePassIsTheTowersEncoding() throws {
        let gemm = Fixtures.backend
        for c in try Self.cases.get().fixtures {
            let name = c.label
            let few = c.contexts[1]
            for image in c.images {
                let out = c.scorer.model.vision.encode(pixels: image, count: 1, gemm: gemm)
                let score = Similarity.anomalousClassScores(out.embeddings, width: c.scorer.model.config.embedDim, text: few.text, temperature: WinCLIPScorer.temperature)[0]
                let patches = Similarity.visualAssociation(out.patchTokens, width: c.scorer.model.config.vision.width,
                                                           normalizedReferences: few.references!.patchTokens, gemm: gemm)
                let run = try c.scorer.run(.full, pixels: image, context: few, gemm: gemm)
                XCTAssertEqual(bits([run]), [[score.bitPattern] + patches.map(\.bitPattern)], "\(name)")
            }
        }
    }

    /// Classification results, and few-shot segmentation results, assembled from a batch of
    /// five full passes equal `score` on each image alone.
    func testResultsAssembledFromABatchEqualScoringAlone() throws {
        let gemm = Fixtures.backend
        for c in try Self.cases.get().fixtures {
            let name = c.label
            let plan = try c.scorer.plan()
            for context in c.contexts {
                let batch = try c.scorer.runFullPasses(pixels: c.images, context: context, gemm: gemm)
                for (image, full) in zip(c.images, batch) {
                    if !context.fewShot {
                        var classification = ImageAssembly(plan: plan, fewShot: false, mapPolicy: .never)
                        XCTAssertEqual(try classification.add(.full, full), [])
                        let alone = try c.scorer.score(pixels: image, context: context, mapPolicy: .never, gemm: gemm)
                        XCTAssertEqual(classification.result?.score.bitPattern, alone.score.bitPattern, "\(name) classification")
                        XCTAssertNil(classification.result?.map)
                    }
                    var segmentation = ImageAssembly(plan: plan, fewShot: context.fewShot, mapPolicy: .always)
                    try segmentation.add(.full, full)
                    for unit in plan.windowUnits { try segmentation.add(unit, try c.scorer.run(unit, pixels: image, context: context, gemm: gemm)) }
                    let alone = try c.scorer.score(pixels: image, context: context, gemm: gemm)
                    let result = try XCTUnwrap(segmentation.result)
                    XCTAssertEqual(result.score.bitPattern, alone.score.bitPattern, "\(name) segmentation score")
                    XCTAssertEqual(result.map?.map(\.bitPattern), alone.map?.map(\.bitPattern), "\(name) segmentation map")
                }
            }
        }
    }

    /// OpenBLAS as it is, recording the row count of every linear product and reporting
    /// `batchInvariantRows` as told.
    final class RowRecording: MatMulBackend, @unchecked Sendable {
        let inner: OpenBLASBackend
        let batchInvariantRows: Bool
        var linearRows: [Int] = []  // one test thread
        init(inner: OpenBLASBackend, batchInvariantRows: Bool) {
            self.inner = inner
            self.batchInvariantRows = batchInvariantRows
        }
        var name: String { inner.name }
        func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
            inner.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
        func linear(_ x: UnsafePointer<Float>, rows: Int, weights: LinearWeights, into y: UnsafeMutablePointer<Float>) {
            linearRows.append(rows)
            inner.linear(x, rows: rows, weights: weights, into: y)
        }
    }

    /// The linear layers multiply every image's rows at once where the backend is batch
    /// invariant, and one image's rows at a time where it is not (same results either way).
    func testBatchingFollowsTheBackendsRowInvariance() throws {
        let c = try Self.cases.get().fixtures[0]
        let tokens = c.scorer.model.config.vision.tokens, layers = c.scorer.model.config.vision.layers
        var results: [[[UInt32]]] = []
        for invariant in [true, false] {
            let gemm = RowRecording(inner: Fixtures.backend, batchInvariantRows: invariant)
            results.append(bits(try c.scorer.runFullPasses(pixels: Array(c.images.prefix(3)), context: c.contexts[1], gemm: gemm)))
            XCTAssertEqual(gemm.linearRows, Array(repeating: invariant ? 3 * tokens : tokens, count: 4 * layers * (invariant ? 1 : 3)))
        }
        XCTAssertEqual(results[0], results[1])
        // The kernels this machine runs are known to be invariant (else the other tests here
        // would check the one-at-a-time path only).
        if OpenBLAS.bestCore() == "SkylakeX" { XCTAssertTrue(Fixtures.backend.batchInvariantRows, Fixtures.backend.name) }
    }

    /// An image of the wrong size is refused by its place in the batch, before any work; an
    /// empty batch has no results.
    func testBadImagesAreRefusedByPosition() throws {
        let c = try Self.cases.get().fixtures[0]
        let context = c.contexts[0]
        XCTAssertThrowsError(try c.scorer.runFullPasses(pixels: [c.images[0], Array(c.images[1].dropLast()), c.images[2]], context: context, gemm: Fixtures.backend)) { error in
            XCTAssertEqual(error as? ScoringError, ScoringError("pixels of image 1 of the batch must be [3, 48, 48], got \(3 * 48 * 48 - 1) values"))
        }
        XCTAssertEqual(try c.scorer.runFullPasses(pixels: [], context: context, gemm: Fixtures.backend), [])
    }
}
