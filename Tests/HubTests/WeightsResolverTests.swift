import Foundation
import HubTestSupport
import XCTest
@testable import Hub

final class WeightsResolverTests: XCTestCase {
    let tiny = FakeHub.fixtures.appendingPathComponent("tiny-vit-48.safetensors")

    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("WeightsResolverTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func environment(_ hub: FakeHub?, home: URL) -> [String: String] {
        ["HF_HOME": home.path, "HF_HUB_CACHE": home.appendingPathComponent("hub").path, "HF_ENDPOINT": hub?.endpoint ?? "http://127.0.0.1:9"]
    }

    func testDefaultConfigAsksForTheLaion400mE31Repository() throws {
        // The fake hub serves the tiny fixture under the real repository's name: the request
        // shows what a fresh machine asks huggingface.co for.
        let hub = try FakeHub(files: ["timm/vit_base_patch16_plus_clip_240.laion400m_e31/open_clip_model.safetensors": tiny])
        addTeardownBlock { hub.stop() }
        let home = try temporaryFolder()
        let resolved = try WeightsResolver.resolve(modelConfig: "ViT-B-16-plus-240", pretrained: nil, weights: nil, environment: environment(hub, home: home))
        XCTAssertEqual(try hub.requests().first.map { "\($0.method) \($0.path)" },
                       "HEAD /timm/vit_base_patch16_plus_clip_240.laion400m_e31/resolve/main/open_clip_model.safetensors")
        guard case let .hub(origin) = resolved.origin else { return XCTFail("\(resolved.origin)") }
        XCTAssertEqual(origin.tag, "laion400m_e31")
        XCTAssertEqual(origin.reference.repo, "timm/vit_base_patch16_plus_clip_240.laion400m_e31")
        XCTAssertEqual(origin.reference.file, "open_clip_model.safetensors")
        XCTAssertEqual(resolved.path.path, home.appendingPathComponent("hub/models--timm--vit_base_patch16_plus_clip_240.laion400m_e31/snapshots/\(origin.commit)/open_clip_model.safetensors").path)
        XCTAssertEqual(resolved.notes, [])
        XCTAssert(resolved.summary.contains("'laion400m_e31' hf://timm/vit_base_patch16_plus_clip_240.laion400m_e31/open_clip_model.safetensors"), resolved.summary)
        // The same with the tag named, and with the equivalent hf:// URI: cached, no request.
        let count = try hub.requests().count
        let tagged = try WeightsResolver.resolve(modelConfig: "ViT-B-16-plus-240", pretrained: "laion400m_e31", weights: nil, environment: environment(hub, home: home))
        let uri = try WeightsResolver.resolve(modelConfig: "ViT-B-16-plus-240", pretrained: nil,
                                              weights: "hf://timm/vit_base_patch16_plus_clip_240.laion400m_e31/open_clip_model.safetensors",
                                              environment: environment(hub, home: home))
        XCTAssertEqual(tagged.path, resolved.path)
        XCTAssertEqual(uri.path, resolved.path)
        XCTAssertEqual(try hub.requests().count, count)
    }

    func testQuickGELUTagsCarryOpenCLIPsWarning() throws {
        let hub = try FakeHub(files: ["timm/vit_base_patch32_clip_224.openai/open_clip_model.safetensors": tiny])
        addTeardownBlock { hub.stop() }
        let resolved = try WeightsResolver.resolve(modelConfig: "ViT-B-32", pretrained: "openai", weights: nil, environment: environment(hub, home: try temporaryFolder()))
        XCTAssertEqual(resolved.notes.count, 1)
        XCTAssert(resolved.notes[0].contains("trained with QuickGELU"), resolved.notes[0])
    }

    func testExplicitWeightsWinOverATag() throws {
        let home = try temporaryFolder()
        let resolved = try WeightsResolver.resolve(modelConfig: "ViT-B-16-plus-240", pretrained: "laion400m_e32", weights: tiny.path,
                                                   environment: environment(nil, home: home))
        XCTAssertEqual(resolved.path, tiny)
        XCTAssertEqual(resolved.origin, .localFile)
        XCTAssertEqual(resolved.notes, ["--weights \(tiny.path) is used; --pretrained laion400m_e32 is ignored"])
    }

    func testErrorsWithoutUsableWeights() throws {
        let env = environment(nil, home: try temporaryFolder())
        let json = FakeHub.fixtures.appendingPathComponent("tiny-vit-48.json").path
        XCTAssertThrowsError(try WeightsResolver.resolve(modelConfig: json, pretrained: nil, weights: nil, environment: env)) { error in
            XCTAssertEqual(error as? HubError, .noWeightsGiven(modelConfig: json, builtinConfigs: ["ViT-B-16-plus-240", "ViT-B-16", "ViT-B-32"]))
            XCTAssert("\(error)".contains("no weights given for model config \(json): pass --weights FILE"), "\(error)")
        }
        XCTAssertThrowsError(try WeightsResolver.resolve(modelConfig: json, pretrained: "laion400m_e31", weights: nil, environment: env)) { error in
            XCTAssert("\(error)".contains("has no published weights"), "\(error)")
        }
        XCTAssertThrowsError(try WeightsResolver.resolve(modelConfig: "ViT-B-16", pretrained: "laion5b", weights: nil, environment: env)) { error in
            XCTAssert("\(error)".contains("unknown pretrained tag 'laion5b' for ViT-B-16; open_clip lists: openai, laion400m_e31"), "\(error)")
        }
        XCTAssertThrowsError(try WeightsResolver.resolve(modelConfig: "ViT-B-16", pretrained: nil, weights: "/no/such.safetensors", environment: env)) { error in
            XCTAssertEqual(error as? HubError, .localFileMissing("/no/such.safetensors"))
        }
        XCTAssertThrowsError(try WeightsResolver.resolve(modelConfig: "ViT-B-16", pretrained: nil, weights: "hf://only-owner", environment: env)) { error in
            XCTAssert("\(error)".contains("malformed weights URI 'hf://only-owner'"), "\(error)")
        }
        // Offline with nothing cached: the default tag's repository is named.
        var offline = env
        offline["HF_HUB_OFFLINE"] = "1"
        XCTAssertThrowsError(try WeightsResolver.resolve(modelConfig: "ViT-B-16-plus-240", pretrained: nil, weights: nil, environment: offline)) { error in
            XCTAssert("\(error)".contains("open_clip_model.safetensors of timm/vit_base_patch16_plus_clip_240.laion400m_e31"), "\(error)")
        }
    }
}
