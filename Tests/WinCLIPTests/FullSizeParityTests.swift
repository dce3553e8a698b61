import Foundation
import Options
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

/// anomalib's WinClipModel on the full-size random-weight export, zero-shot and 2-shot, in each
/// window-attention mode whose fixture exists (`.winclip.safetensors` from open_clip 2.24.0,
/// `.winclip-cross.safetensors` from open_clip 3.3.0), through the product's unit plan.
final class FullSizeWinCLIPParityTests: XCTestCase {
    func testFullSizeWinCLIP() throws {
        guard let dir = ProcessInfo.processInfo.environment["WINCLIP_FULLSIZE_DIR"] else {
            throw XCTSkip("set WINCLIP_FULLSIZE_DIR to a folder written by make_fixtures.py --full-size")
        }
        let config = try ModelConfig.load("ViT-B-16-plus-240")
        let model = try CLIPModel(config: config, weightsPath: "\(dir)/ViT-B-16-plus-240.safetensors")
        let gemm = Fixtures.backend
        var tested = 0
        for mode in WindowAttention.allCases {
            let name = mode == .default ? "ViT-B-16-plus-240.winclip.safetensors" : "ViT-B-16-plus-240.winclip-\(mode.rawValue).safetensors"
            guard FileManager.default.fileExists(atPath: "\(dir)/\(name)") else { continue }
            tested += 1
            let expected = try SafeTensorsFile(path: "\(dir)/\(name)")
            let scorer = try WinCLIPScorer(model: model, attention: mode)
            let t0 = Date()
            let text = try scorer.textEmbeddings(className: expected.metadata["class_name"]!, gemm: gemm)
            print("text setup (231 prompts, full-size, 1 BLAS thread): \(String(format: "%.2f", Date().timeIntervalSince(t0))) s; anomalib: \(expected.metadata["anomalib_text_setup_seconds"] ?? "?") s")
            let label = "full-size [\(mode.rawValue), open_clip \(expected.metadata["open_clip_version"] ?? "?")]"
            assertClose(text.normal + text.anomalous, try expected.floats("text_embeddings"), tolerance: 1e-5, "\(label) text embeddings")
            let s = 240, n = expected.shape("pixels")![0], k = expected.shape("ref_pixels")![0]
            let pixels = try expected.floats("pixels")
            let refs = scorer.referenceEmbeddings(pixels: try expected.floats("ref_pixels"), count: k, gemm: gemm)
            var zs: [Float] = [], zm: [Float] = [], fs: [Float] = [], fm: [Float] = []
            for i in 0..<n {
                let image = Array(pixels[(i * 3 * s * s)..<((i + 1) * 3 * s * s)])
                let z = try scorer.score(pixels: image, context: ScoringContext(text: text, references: nil), gemm: gemm)
                let f = try scorer.score(pixels: image, context: ScoringContext(text: text, references: refs), gemm: gemm)
                zs.append(z.score); zm += z.map!; fs.append(f.score); fm += f.map!
            }
            assertClose(zs, try expected.floats("zero_scores"), tolerance: 1e-5, "\(label) zero-shot scores")
            assertClose(zm, try expected.floats("zero_maps"), tolerance: 1e-5, "\(label) zero-shot maps")
            assertClose(fs, try expected.floats("few_scores"), tolerance: 1e-5, "\(label) \(k)-shot scores")
            assertClose(fm, try expected.floats("few_maps"), tolerance: 1e-5, "\(label) \(k)-shot maps")
        }
        XCTAssertGreaterThan(tested, 0, "no WinCLIP fixture in \(dir)")
    }
}
