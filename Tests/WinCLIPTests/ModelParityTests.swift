import Foundation
import XCTest
@testable import WinCLIP
@testable import ImageInput

/// The forward passes against open_clip on small random-weight models (Tools/reference).
final class ModelParityTests: XCTestCase {
    static let models = ["tiny-vit-48", "tiny-vit-56-quickgelu"]
    let tolerance: Float = 1e-5

    func load(_ name: String) throws -> (CLIPModel, SafeTensorsFile) {
        let config = try ModelConfig.load(Fixtures.path("\(name).json"))
        let model = try CLIPModel(config: config, weightsPath: Fixtures.path("\(name).safetensors"))
        return (model, try Fixtures.open("\(name).expected.safetensors"))
    }

    func testImageTower() throws {
        for name in Self.models {
            let (model, expected) = try load(name)
            let pixels = try expected.floats("pixels")
            let batch = expected.shape("pixels")![0]
            let gemm = Fixtures.backend
            let before = model.vision.embedTokens(pixels: pixels, count: batch, gemm: gemm)
            assertClose(before, try expected.floats("tokens_before_ln_pre"), tolerance: tolerance, "\(name) tokens before ln_pre")
            let out = model.vision.encode(pixels: pixels, count: batch, gemm: gemm)
            assertClose(out.embeddings, try expected.floats("image_embeddings"), tolerance: tolerance, "\(name) image embeddings")
            assertClose(out.patchTokens, try expected.floats("patch_tokens"), tolerance: tolerance, "\(name) patch tokens")
        }
    }

    /// Sequences of any lengths from the pre-ln_pre tokens, as WinCLIP's window passes use them.
    func testRaggedSequencesFromLnPre() throws {
        for name in Self.models {
            let (model, expected) = try load(name)
            let pixels = try expected.floats("pixels")
            let batch = expected.shape("pixels")![0]
            let w = model.config.vision.width, t = model.config.vision.tokens
            let before = model.vision.embedTokens(pixels: pixels, count: batch, gemm: Fixtures.backend)
            let rows = try expected.ints("seq_rows"), lengths = try expected.ints("seq_lengths")
            var packed: [Float] = []
            for r in rows { packed += before[(r * w)..<((r + 1) * w)] }  // image 0's rows
            XCTAssertLessThan(rows.max()!, t)
            let (emb, _) = model.vision.encodeSequences(packed, batch: SequenceBatch(lengths: lengths), gemm: Fixtures.backend)
            assertClose(emb, try expected.floats("seq_embeddings"), tolerance: tolerance, "\(name) ragged window sequences")
        }
    }

    func testTextTower() throws {
        for name in Self.models {
            let (model, expected) = try load(name)
            let ids = try expected.ints("text_ids")
            let context = expected.shape("text_ids")![1]
            let prompts = stride(from: 0, to: ids.count, by: context).map { Array(ids[$0..<($0 + context)]) }
            let emb = try model.text.encode(tokenIDs: prompts, gemm: Fixtures.backend)
            assertClose(emb, try expected.floats("text_embeddings"), tolerance: tolerance, "\(name) text embeddings")
        }
    }

    /// The fixture's pixels are the product's own image pipeline on the real image files
    /// (PNG grey/RGB/RGBA and JPEG), so the embeddings above hold from file to embedding.
    func testPixelsComeFromTheImageFiles() throws {
        for name in Self.models {
            let (model, expected) = try load(name)
            let files = try JSONDecoder().decode([String].self, from: Data(expected.metadata["images"]!.utf8))
            XCTAssertEqual(files.count, expected.shape("pixels")![0])
            let preprocess = CLIPPreprocess(imageSize: model.config.vision.imageSize)
            var pixels: [Float] = []
            for f in files { pixels += preprocess(try ImageLoader.load(path: Fixtures.path(f))) }
            assertClose(pixels, try expected.floats("pixels"), tolerance: 1e-6, "\(name) preprocessed image files")
        }
    }

    func testTextTowerRejectsBadIDs() throws {
        let (model, _) = try load("tiny-vit-48")
        XCTAssertThrowsError(try model.text.encode(tokenIDs: [[49406, 60000, 49407]], gemm: Fixtures.backend))
        XCTAssertThrowsError(try model.text.encode(tokenIDs: [[]], gemm: Fixtures.backend))
    }
}
