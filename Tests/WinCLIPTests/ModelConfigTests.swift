import Foundation
import XCTest
@testable import WinCLIP

final class ModelConfigTests: XCTestCase {
    func testBuiltins() throws {
        let plus = try ModelConfig.load("ViT-B-16-plus-240")
        XCTAssertEqual(plus.embedDim, 640)
        XCTAssertEqual(plus.vision.imageSize, 240)
        XCTAssertEqual(plus.vision.gridSize, 15)
        XCTAssertEqual(plus.vision.heads, 14)
        XCTAssertEqual(plus.vision.mlpWidth, 3584)
        XCTAssertEqual(plus.text.heads, 10)
        XCTAssertFalse(plus.quickGELU)
        XCTAssertEqual(try ModelConfig.load("ViT-B-32").vision.gridSize, 7)
        XCTAssertEqual(try ModelConfig.load("ViT-B-16").vision.tokens, 197)
        XCTAssertEqual(ModelConfig.defaultName, "ViT-B-16-plus-240")
    }

    func testFixtureConfigsByPath() throws {
        let c = try ModelConfig.load(Fixtures.path("tiny-vit-56-quickgelu.json"))
        XCTAssertTrue(c.quickGELU)
        XCTAssertEqual(c.vision.heads, 3)
        XCTAssertEqual(c.vision.mlpWidth, 96)
        XCTAssertEqual(c.vision.layerScaleInit, 0.5)
    }

    func testRejectsWhatTheEngineDoesNotImplement() {
        let cases: [(String, String)] = [
            (#"{"embed_dim": 512, "vision_cfg": {"image_size": 224, "layers": [3,4,6,3], "width": 64, "patch_size": 16}, "text_cfg": {}}"#, "ResNet"),
            (#"{"embed_dim": 512, "vision_cfg": {"timm_model_name": "convnext_base", "image_size": 224}, "text_cfg": {}}"#, "timm"),
            (#"{"embed_dim": 512, "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 16, "attentional_pool": true}, "text_cfg": {}}"#, "attentional_pool"),
            (#"{"embed_dim": 512, "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 16}, "text_cfg": {"hf_model_name": "roberta-base"}}"#, "hf_model_name"),
            (#"{"embed_dim": 512, "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 16}, "text_cfg": {"pool_type": "last"}}"#, "pool_type"),
            (#"[1, 2]"#, "JSON object"),
        ]
        for (json, word) in cases {
            XCTAssertThrowsError(try ModelConfig.parse(json: Data(json.utf8), name: "x")) { error in
                XCTAssert("\(error)".contains(word), "\(error) should mention \(word)")
            }
        }
        XCTAssertThrowsError(try ModelConfig.load("ViT-H-14-nonexistent")) { error in
            XCTAssert("\(error)".contains("ViT-B-16-plus-240"), "lists the built-in names: \(error)")
        }
    }
}
