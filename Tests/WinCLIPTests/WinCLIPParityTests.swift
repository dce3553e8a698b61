import Foundation
import Options
import XCTest
@testable import WinCLIP

/// Scores and maps against anomalib's `WinClipModel` on the fixture models
/// (Tools/reference/winclip_reference.py), zero-shot and few-shot, in both window-attention
/// modes, each against its own reference: `window` against anomalib on open_clip 2.24.0 (as
/// anomalib pins it), `cross` against anomalib on open_clip 3.3.0. Images go through the
/// product's own path: the image plan's units, run one by one, then the assembly.
final class WinCLIPParityTests: XCTestCase {
    let tolerance: Float = 1e-5

    struct Case {
        let name: String
        let mode: WindowAttention
        let scorer: WinCLIPScorer
        let expected: SafeTensorsFile
        let className: String
    }

    static func fixtureName(_ model: String, _ mode: WindowAttention) -> String {
        mode == .default ? "\(model).winclip.safetensors" : "\(model).winclip-\(mode.rawValue).safetensors"
    }

    func load(_ name: String, _ mode: WindowAttention) throws -> Case {
        let expected = try Fixtures.open(Self.fixtureName(name, mode))
        XCTAssertEqual(expected.metadata["window_attention"], mode.rawValue, "\(name): fixture of another mode")
        let config = try ModelConfig.load(Fixtures.path("\(name).json"))
        let model = try CLIPModel(config: config, weightsPath: Fixtures.path("\(name).safetensors"))
        let scales = try JSONDecoder().decode([Int].self, from: Data(expected.metadata["scales"]!.utf8))
        let scorer = try WinCLIPScorer(model: model, scales: scales, attention: mode)
        return Case(name: name, mode: mode, scorer: scorer, expected: expected, className: expected.metadata["class_name"]!)
    }

    static let models = ["tiny-vit-48", "tiny-vit-56-quickgelu"]

    func testTextEmbeddings() throws {
        for name in Self.models {
            let c = try load(name, .default)
            let text = try c.scorer.textEmbeddings(className: c.className, gemm: Fixtures.backend)
            assertClose(text.normal + text.anomalous, try c.expected.floats("text_embeddings"), tolerance: tolerance, "\(name) text embeddings for '\(c.className)'")
        }
    }

    /// Every image of the fixture, zero-shot and K-shot, through `score` (the plan's units).
    func scoreAll(_ c: Case, plan: ImagePlan? = nil) throws -> (zeroScores: [Float], zeroMaps: [Float], fewScores: [Float], fewMaps: [Float]) {
        let gemm = Fixtures.backend
        let s = c.scorer.model.config.vision.imageSize
        let pixels = try c.expected.floats("pixels"), refs = try c.expected.floats("ref_pixels")
        let n = c.expected.shape("pixels")![0], k = c.expected.shape("ref_pixels")![0]
        let text = try c.scorer.textEmbeddings(className: c.className, gemm: gemm)
        let zero = ScoringContext(text: text, references: nil)
        let few = ScoringContext(text: text, references: c.scorer.referenceEmbeddings(pixels: refs, count: k, gemm: gemm))
        var out: (zeroScores: [Float], zeroMaps: [Float], fewScores: [Float], fewMaps: [Float]) = ([], [], [], [])
        for i in 0..<n {
            let image = Array(pixels[(i * 3 * s * s)..<((i + 1) * 3 * s * s)])
            let z = try c.scorer.score(pixels: image, context: zero, plan: plan, gemm: gemm)
            let f = try c.scorer.score(pixels: image, context: few, plan: plan, gemm: gemm)
            out.zeroScores.append(z.score); out.zeroMaps += z.map!
            out.fewScores.append(f.score); out.fewMaps += f.map!
        }
        return out
    }

    func testBothModesAgainstTheirReference() throws {
        for mode in WindowAttention.allCases {
            for name in Self.models {
                let c = try load(name, mode)
                let k = c.expected.shape("ref_pixels")![0]
                let plan = try c.scorer.plan()
                if mode == .window {
                    XCTAssertGreaterThan(plan.units.count, 1 + plan.scales.count, "\(name): the default plan cuts scales into batches")
                } else {
                    XCTAssertEqual(plan.units.count, 1 + plan.scales.count, "\(name): cross attention keeps whole scales")
                }
                let r = try scoreAll(c)
                let label = "\(name) [\(mode.rawValue), \(plan.units.count) units]"
                assertClose(r.zeroScores, try c.expected.floats("zero_scores"), tolerance: tolerance, "\(label) zero-shot scores")
                assertClose(r.zeroMaps, try c.expected.floats("zero_maps"), tolerance: tolerance, "\(label) zero-shot maps")
                assertClose(r.fewScores, try c.expected.floats("few_scores"), tolerance: tolerance, "\(label) \(k)-shot scores")
                assertClose(r.fewMaps, try c.expected.floats("few_maps"), tolerance: tolerance, "\(label) \(k)-shot maps")
            }
        }
    }

    /// The modes differ (the fixtures tell them apart), so a test of one cannot pass on the other.
    func testModesAreDistinguishable() throws {
        for name in Self.models {
            let window = try Fixtures.open(Self.fixtureName(name, .window)).floats("zero_maps")
            let cross = try Fixtures.open(Self.fixtureName(name, .cross)).floats("zero_maps")
            let gap = zip(window, cross).map { abs($0 - $1) }.max()!
            XCTAssertGreaterThan(gap, 100 * tolerance, "\(name): window and cross references should differ")
        }
    }

    /// Windows in batches equal whole-scale units within 1e-6 (GEMM blocking may round
    /// differently for different row counts), and one plan gives bit-identical results twice.
    func testBatchedWindowsEqualWholeScales() throws {
        for name in Self.models {
            let c = try load(name, .window)
            let batched = try scoreAll(c)
            let again = try scoreAll(c)
            XCTAssertEqual(batched.zeroMaps, again.zeroMaps, "\(name): the same plan must be bit-identical")
            XCTAssertEqual(batched.fewMaps, again.fewMaps, "\(name): the same plan must be bit-identical")
            let whole = try scoreAll(c, plan: c.scorer.plan(rowsPerUnit: .max))
            assertClose(batched.zeroMaps, whole.zeroMaps, tolerance: 1e-6, "\(name) batched vs whole-scale zero-shot maps")
            assertClose(batched.fewMaps, whole.fewMaps, tolerance: 1e-6, "\(name) batched vs whole-scale few-shot maps")
            assertClose(batched.zeroScores + batched.fewScores, whole.zeroScores + whole.fewScores, tolerance: 1e-6, "\(name) batched vs whole-scale scores")
        }
    }
}
