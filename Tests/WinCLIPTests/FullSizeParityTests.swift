import Foundation
import XCTest
@testable import WinCLIP

/// The same parity checks on the full-size ViT-B-16-plus-240 with random weights, exported by
/// `Tools/reference/make_fixtures.py --full-size DIR` (830 MB, not committed). Runs only when
/// WINCLIP_FULLSIZE_DIR names that folder.
final class FullSizeParityTests: XCTestCase {
    func testFullSizeModel() throws {
        guard let dir = ProcessInfo.processInfo.environment["WINCLIP_FULLSIZE_DIR"] else {
            throw XCTSkip("set WINCLIP_FULLSIZE_DIR to a folder written by make_fixtures.py --full-size")
        }
        let config = try ModelConfig.load("ViT-B-16-plus-240")
        let model = try CLIPModel(config: config, weightsPath: "\(dir)/ViT-B-16-plus-240.safetensors")
        let expected = try SafeTensorsFile(path: "\(dir)/ViT-B-16-plus-240.expected.safetensors")
        let pixels = try expected.floats("pixels")
        let batch = expected.shape("pixels")![0]
        let gemm = Fixtures.backend
        let out = model.vision.encode(pixels: pixels, count: batch, gemm: gemm)
        assertClose(out.embeddings, try expected.floats("image_embeddings"), tolerance: 1e-5, "full-size image embeddings")
        assertClose(out.patchTokens, try expected.floats("patch_tokens"), tolerance: 1e-5, "full-size patch tokens")
        let before = model.vision.embedTokens(pixels: pixels, count: batch, gemm: gemm)
        let w = config.vision.width
        var packed: [Float] = []
        for r in try expected.ints("seq_rows") { packed += before[(r * w)..<((r + 1) * w)] }
        let (seq, _) = model.vision.encodeSequences(packed, batch: SequenceBatch(lengths: try expected.ints("seq_lengths")), gemm: gemm)
        assertClose(seq, try expected.floats("seq_embeddings"), tolerance: 1e-5, "full-size window sequences")
        let ids = try expected.ints("text_ids")
        let prompts = stride(from: 0, to: ids.count, by: 77).map { Array(ids[$0..<($0 + 77)]) }
        let text = try model.text.encode(tokenIDs: prompts, gemm: gemm)
        assertClose(text, try expected.floats("text_embeddings"), tolerance: 1e-5, "full-size text embeddings")
    }
}
