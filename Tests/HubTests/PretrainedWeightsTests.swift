import Foundation
import XCTest
@testable import Hub

/// The pretrained table against open_clip's own (Tests/Fixtures/open_clip_pretrained.json,
/// written by Tools/reference/open_clip_pretrained.py from open_clip 3.3.0's pretrained.py).
final class PretrainedWeightsTests: XCTestCase {
    struct Reference: Decodable {
        struct Entry: Decodable { let tag: String; let hf_hub: String; let quick_gelu: Bool }
        let open_clip_version: String
        let file: String
        let configs: [String: [Entry]]
    }

    func testTableEqualsOpenCLIPs() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/open_clip_pretrained.json")
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        XCTAssertEqual(Set(reference.configs.keys), Set(PretrainedWeights.modelConfigs))
        for (config, entries) in reference.configs {
            XCTAssertEqual(PretrainedWeights.tags(for: config), entries.map(\.tag), config)
            for e in entries {
                let w = try PretrainedWeights.lookup(modelConfig: config, tag: e.tag)
                XCTAssertEqual(w.repo + "/", e.hf_hub, "\(config) \(e.tag)")
                XCTAssertEqual(w.quickGELU, e.quick_gelu, "\(config) \(e.tag)")
                XCTAssertEqual(w.file, reference.file)
                // Every repository is a valid hub name.
                XCTAssertNoThrow(try HubFileReference(repo: w.repo, file: w.file))
            }
        }
        XCTAssertEqual(PretrainedWeights.table.count, 2 + 15 + 22)
    }

    func testDefaultTagOfTheDefaultConfig() throws {
        let w = try PretrainedWeights.lookup(modelConfig: "ViT-B-16-plus-240", tag: nil)
        XCTAssertEqual(w.tag, "laion400m_e31")
        XCTAssertEqual(w.repo, "timm/vit_base_patch16_plus_clip_240.laion400m_e31")
        XCTAssertEqual(w.file, "open_clip_model.safetensors")
        XCTAssertEqual(w.reference.description, "hf://timm/vit_base_patch16_plus_clip_240.laion400m_e31/open_clip_model.safetensors")
        for config in PretrainedWeights.modelConfigs {
            let d = try PretrainedWeights.lookup(modelConfig: config, tag: nil)
            XCTAssertFalse(d.quickGELU, "the default of \(config) loads into its GELU config")
        }
    }

    func testTagsAreCleanedAsOpenCLIPDoes() throws {
        XCTAssertEqual(try PretrainedWeights.lookup(modelConfig: "ViT-B-16", tag: "LAION400M-E32").tag, "laion400m_e32")
    }

    func testUnknownTagListsTheKnownOnes() {
        XCTAssertThrowsError(try PretrainedWeights.lookup(modelConfig: "ViT-B-16-plus-240", tag: "openai")) { error in
            XCTAssertEqual(error as? HubError, .unknownPretrainedTag("openai", modelConfig: "ViT-B-16-plus-240", known: ["laion400m_e31", "laion400m_e32"]))
            XCTAssert("\(error)".contains("unknown pretrained tag 'openai' for ViT-B-16-plus-240; open_clip lists: laion400m_e31, laion400m_e32"), "\(error)")
        }
        XCTAssertThrowsError(try PretrainedWeights.lookup(modelConfig: "tiny-vit-48", tag: "laion400m_e31")) { error in
            XCTAssert("\(error)".contains("has no published weights"), "\(error)")
        }
    }
}
