import Foundation
import Options
import XCTest
@testable import WinCLIP

/// `--precision bf16`: refused by name on CPUs without the feature (tested on every CPU with
/// an injected feature set), and close to fp32 on the fixture models where the CPU has it.
final class PrecisionTests: XCTestCase {
    let noBF16 = CPUFeatures(avx2: true, fma: true, avx512F: true)

    func testBF16IsRefusedNamingTheMissingFeature() {
        let message = Precision.bf16.missingFeature(on: noBF16)
        XCTAssertNotNil(message)
        for name in ["AVX512_BF16", "AMX-BF16", "AVX-512F", "--precision fp32"] {
            XCTAssert(message?.contains(name) == true, "\(message ?? "nil") should name \(name)")
        }
        XCTAssertThrowsError(try Precision.bf16.makeBackend(threads: 1, cpu: noBF16)) { error in
            XCTAssert(error is PrecisionUnavailable, "\(error)")
            XCTAssertEqual("\(error)", message)
        }
        XCTAssertEqual(Precision.bf16.missingFeature(on: CPUFeatures()), "--precision bf16 needs a CPU with AVX512_BF16 or AMX-BF16, and this CPU has neither (it has none of AVX2, FMA, AVX-512); use --precision fp32")
    }

    func testBF16AcceptedWithEitherFeatureAndFP32Everywhere() throws {
        XCTAssertNil(Precision.bf16.missingFeature(on: CPUFeatures(avx512F: true, avx512BF16: true)))
        XCTAssertNil(Precision.bf16.missingFeature(on: CPUFeatures(amxTile: true, amxBF16: true)))
        XCTAssertNil(Precision.fp32.missingFeature(on: CPUFeatures()))
        XCTAssert(try Precision.fp32.makeBackend(threads: 1, cpu: noBF16) is OpenBLASBackend)
        XCTAssertEqual(Precision(rawValue: "bf16"), .bf16)
        XCTAssertNil(Precision(rawValue: "fp16"))
    }

    /// The bf16 backend on this CPU, or a skip that names what is missing.
    func bf16Backend() throws -> MatMulBackend {
        if let missing = Precision.bf16.missingFeature(on: .current) {
            throw XCTSkip("bf16 not tested on this CPU: \(missing)")
        }
        return try Precision.bf16.makeBackend(threads: 1)
    }

    /// Scores within 1e-3 and maps within 5e-3 of fp32, zero-shot and few-shot.
    func testBF16ScoresAndMapsAreCloseToFP32() throws {
        let bf16 = try bf16Backend()
        let fp32 = Fixtures.backend
        for name in WinCLIPParityTests.models {
            let expected = try Fixtures.open("\(name).winclip.safetensors")
            let config = try ModelConfig.load(Fixtures.path("\(name).json"))
            let model = try CLIPModel(config: config, weightsPath: Fixtures.path("\(name).safetensors"))
            let scales = try JSONDecoder().decode([Int].self, from: Data(expected.metadata["scales"]!.utf8))
            let className = expected.metadata["class_name"]!
            let s = config.vision.imageSize
            let pixels = try expected.floats("pixels"), refs = try expected.floats("ref_pixels")
            let n = expected.shape("pixels")![0], k = expected.shape("ref_pixels")![0]

            func run(_ gemm: MatMulBackend) throws -> (scores: [Float], maps: [Float]) {
                let scorer = try WinCLIPScorer(model: model, scales: scales)
                let text = try scorer.textEmbeddings(className: className, gemm: gemm)
                let references = scorer.referenceEmbeddings(pixels: refs, count: k, gemm: gemm)
                var scores: [Float] = [], maps: [Float] = []
                for i in 0..<n {
                    let image = Array(pixels[(i * 3 * s * s)..<((i + 1) * 3 * s * s)])
                    for refs in [nil, references] {
                        let result = try scorer.score(pixels: image, context: ScoringContext(text: text, references: refs), gemm: gemm)
                        scores.append(result.score)
                        maps += result.map!
                    }
                }
                return (scores, maps)
            }
            let exact = try run(fp32), reduced = try run(bf16)
            let scoreDiff = assertClose(reduced.scores, exact.scores, tolerance: 1e-3, "\(name) bf16 vs fp32 scores")
            let mapDiff = assertClose(reduced.maps, exact.maps, tolerance: 5e-3, "\(name) bf16 vs fp32 maps")
            // bf16 must really have run: identical results would mean the fp32 path was taken.
            XCTAssertGreaterThan(max(scoreDiff, mapDiff), 0, "\(name): bf16 gave fp32's exact results")
        }
    }

    /// Each weight is converted once and reused: a second pass adds no conversions.
    func testBF16WeightsAreConvertedOnce() throws {
        let bf16 = try bf16Backend()
        let config = try ModelConfig.load(Fixtures.path("tiny-vit-48.json"))
        let model = try CLIPModel(config: config, weightsPath: Fixtures.path("tiny-vit-48.safetensors"))
        let s = config.vision.imageSize
        let pixels = (0..<(3 * s * s)).map { Float(($0 * 7) % 19) / 10 - 1 }
        let first = model.vision.encode(pixels: pixels, count: 1, gemm: bf16)
        let block = model.vision.weights.blocks[0]
        for w in [block.attnIn, block.attnOut, block.fc, block.proj] { XCTAssertEqual(w.prepared.count, 1) }
        let packed = try block.fc.prepared.value("onednn-bf16") { () throws -> OneDNNPackedWeights in
            XCTFail("the weight was not converted on first use")
            throw PrecisionUnavailable(description: "unreachable")
        }
        let second = model.vision.encode(pixels: pixels, count: 1, gemm: bf16)
        XCTAssertEqual(first.embeddings, second.embeddings, "bf16 results are deterministic")
        XCTAssert(try block.fc.prepared.value("onednn-bf16") { () throws -> OneDNNPackedWeights in throw PrecisionUnavailable(description: "unreachable") } === packed)
        XCTAssertEqual(block.fc.prepared.count, 1)
        // The text tower runs fp32 at every precision; the fp32 backend converts nothing.
        _ = try model.text.encode(tokenIDs: [[49406, 320, 49407]], gemm: bf16)
        XCTAssertEqual(model.text.weights.blocks[0].fc.prepared.count, 0)
        let other = try CLIPModel(config: config, weightsPath: Fixtures.path("tiny-vit-48.safetensors"))
        _ = other.vision.encode(pixels: pixels, count: 1, gemm: Fixtures.backend)
        XCTAssertEqual(other.vision.weights.blocks[0].fc.prepared.count, 0)
    }

    /// oneDNN's f32 matmul for the linear layers (an option for fp32) keeps anomalib's numbers
    /// within 1e-5, zero-shot and few-shot, text included.
    func testOneDNNFP32MatchesAnomalib() throws {
        let gemm: OneDNNBackend
        do { gemm = try OneDNNBackend(precision: .fp32, threads: 1) } catch let error as PrecisionUnavailable {
            throw XCTSkip("oneDNN fp32 not tested: \(error)")
        }
        XCTAssert(gemm.exact is OneDNNBackend, "fp32 through oneDNN is its own exact form")
        for name in WinCLIPParityTests.models {
            let expected = try Fixtures.open("\(name).winclip.safetensors")
            let config = try ModelConfig.load(Fixtures.path("\(name).json"))
            let model = try CLIPModel(config: config, weightsPath: Fixtures.path("\(name).safetensors"))
            let scales = try JSONDecoder().decode([Int].self, from: Data(expected.metadata["scales"]!.utf8))
            let scorer = try WinCLIPScorer(model: model, scales: scales)
            let s = config.vision.imageSize
            let pixels = try expected.floats("pixels")
            let n = expected.shape("pixels")![0], k = expected.shape("ref_pixels")![0]
            let text = try scorer.textEmbeddings(className: expected.metadata["class_name"]!, gemm: gemm)
            let references = scorer.referenceEmbeddings(pixels: try expected.floats("ref_pixels"), count: k, gemm: gemm)
            var zeroScores: [Float] = [], zeroMaps: [Float] = [], fewScores: [Float] = [], fewMaps: [Float] = []
            for i in 0..<n {
                let image = Array(pixels[(i * 3 * s * s)..<((i + 1) * 3 * s * s)])
                let zero = try scorer.score(pixels: image, context: ScoringContext(text: text, references: nil), gemm: gemm)
                let few = try scorer.score(pixels: image, context: ScoringContext(text: text, references: references), gemm: gemm)
                zeroScores.append(zero.score)
                zeroMaps += zero.map!
                fewScores.append(few.score)
                fewMaps += few.map!
            }
            assertClose(zeroScores, try expected.floats("zero_scores"), tolerance: 1e-5, "\(name) oneDNN fp32 zero-shot scores")
            assertClose(zeroMaps, try expected.floats("zero_maps"), tolerance: 1e-5, "\(name) oneDNN fp32 zero-shot maps")
            assertClose(fewScores, try expected.floats("few_scores"), tolerance: 1e-5, "\(name) oneDNN fp32 few-shot scores")
            assertClose(fewMaps, try expected.floats("few_maps"), tolerance: 1e-5, "\(name) oneDNN fp32 few-shot maps")
        }
        XCTAssertNotNil(try? OneDNN.load(.fp32))
    }

    /// Workers share one backend and one model: concurrent bf16 passes (first use included,
    /// so the conversion races too) give the serial result.
    func testBF16ConcurrentPassesAgree() throws {
        let bf16 = try bf16Backend()
        let config = try ModelConfig.load(Fixtures.path("tiny-vit-56-quickgelu.json"))
        let weightsPath = Fixtures.path("tiny-vit-56-quickgelu.safetensors")
        let s = config.vision.imageSize
        func image(step: Int) -> [Float] { (0..<(3 * s * s)).map { (j: Int) -> Float in Float((j * step) % 23) / 11 - 1 } }
        let images: [[Float]] = (0..<4).map { image(step: 7 + $0) }
        let serialModel = try CLIPModel(config: config, weightsPath: weightsPath)
        let serial = images.map { serialModel.vision.encode(pixels: $0, count: 1, gemm: bf16).embeddings }
        let shared = try CLIPModel(config: config, weightsPath: weightsPath)
        let results = ConcurrentResults(count: images.count)
        DispatchQueue.concurrentPerform(iterations: images.count) { i in
            results.set(i, shared.vision.encode(pixels: images[i], count: 1, gemm: bf16).embeddings)
        }
        XCTAssertEqual(results.values, serial)
    }
}

/// Results written by concurrent iterations. `@unchecked Sendable` is safe: `values` is only
/// touched with `lock` held.
final class ConcurrentResults: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [[Float]]
    init(count: Int) { stored = Array(repeating: [], count: count) }
    func set(_ i: Int, _ value: [Float]) { lock.lock(); stored[i] = value; lock.unlock() }
    var values: [[Float]] { lock.lock(); defer { lock.unlock() }; return stored }
}
