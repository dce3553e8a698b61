import Foundation
import XCTest
@testable import WinCLIP

/// Scores and maps against anomalib's `WinClipModel` on the fixture models
/// (Tools/reference/winclip_reference.py), zero-shot and few-shot.
final class WinCLIPParityTests: XCTestCase {
    let tolerance: Float = 1e-5

    struct Case {
        let name: String
        let scorer: WinCLIPScorer
        let expected: SafeTensorsFile
        let className: String
    }

    func load(_ name: String) throws -> Case {
        let expected = try Fixtures.open("\(name).winclip.safetensors")
        let config = try ModelConfig.load(Fixtures.path("\(name).json"))
        let model = try CLIPModel(config: config, weightsPath: Fixtures.path("\(name).safetensors"))
        let scales = try JSONDecoder().decode([Int].self, from: Data(expected.metadata["scales"]!.utf8))
        let scorer = try WinCLIPScorer(model: model, options: WinCLIPOptions(scales: scales))
        return Case(name: name, scorer: scorer, expected: expected, className: expected.metadata["class_name"]!)
    }

    static let models = ["tiny-vit-48", "tiny-vit-56-quickgelu"]

    func testTextEmbeddings() throws {
        for name in Self.models {
            let c = try load(name)
            let text = try c.scorer.textEmbeddings(className: c.className, gemm: Fixtures.backend)
            assertClose(text.normal + text.anomalous, try c.expected.floats("text_embeddings"), tolerance: tolerance, "\(name) text embeddings for '\(c.className)'")
        }
    }

    func testZeroShotAndFewShot() throws {
        for name in Self.models {
            let c = try load(name)
            let gemm = Fixtures.backend
            let s = c.scorer.model.config.vision.imageSize
            let pixels = try c.expected.floats("pixels"), refs = try c.expected.floats("ref_pixels")
            let n = c.expected.shape("pixels")![0], k = c.expected.shape("ref_pixels")![0]
            let text = try c.scorer.textEmbeddings(className: c.className, gemm: gemm)
            let references = c.scorer.referenceEmbeddings(pixels: refs, count: k, gemm: gemm)
            var zeroScores: [Float] = [], zeroMaps: [Float] = [], fewScores: [Float] = [], fewMaps: [Float] = []
            for i in 0..<n {
                let image = Array(pixels[(i * 3 * s * s)..<((i + 1) * 3 * s * s)])
                let zero = c.scorer.score(pixels: image, text: text, references: nil, gemm: gemm)
                zeroScores.append(zero.score)
                zeroMaps += zero.map
                let few = c.scorer.score(pixels: image, text: text, references: references, gemm: gemm)
                fewScores.append(few.score)
                fewMaps += few.map
            }
            assertClose(zeroScores, try c.expected.floats("zero_scores"), tolerance: tolerance, "\(name) zero-shot scores")
            assertClose(zeroMaps, try c.expected.floats("zero_maps"), tolerance: tolerance, "\(name) zero-shot maps")
            assertClose(fewScores, try c.expected.floats("few_scores"), tolerance: tolerance, "\(name) \(k)-shot scores")
            assertClose(fewMaps, try c.expected.floats("few_maps"), tolerance: tolerance, "\(name) \(k)-shot maps")
        }
    }
}
