import Foundation
import HubTestSupport
import XCTest
@testable import Hub

/// The cache huggingface_hub wrote (Tests/Fixtures/hf-hub-cache, by
/// Tools/reference/hub_cache_fixture.py from Tools/fake_hub.py) is read as is, and the Swift
/// client writes the same tree from the same fake hub.
final class HubCacheParityTests: XCTestCase {
    let fixture = FakeHub.fixtures.appendingPathComponent("hf-hub-cache")
    let repo = "winclip/hub-parity"
    let files = ["open_clip_model.safetensors", "configs/open_clip_config.json"]

    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("HubCacheParityTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Every entry under `root` (but lock files) as "kind path [-> link target]".
    func tree(_ root: URL) throws -> [String] {
        let fm = FileManager.default
        return try fm.subpathsOfDirectory(atPath: root.path).filter { !$0.hasPrefix(".locks") }.sorted().map { sub in
            let path = root.appendingPathComponent(sub).path
            if let target = try? fm.destinationOfSymbolicLink(atPath: path) { return "link \(sub) -> \(target)" }
            var isDirectory: ObjCBool = false
            _ = fm.fileExists(atPath: path, isDirectory: &isDirectory)
            return isDirectory.boolValue ? "dir \(sub)" : "file \(sub)"
        }
    }

    /// The fixture's bytes for each file, read through its snapshot links.
    func fixtureFile(_ name: String) throws -> URL {
        let cache = HubCache(directory: fixture)
        let hit = try XCTUnwrap(cache.cachedFile(try HubFileReference(repo: repo, file: name)))
        return hit.path.resolvingSymlinksInPath()
    }

    func testReadsTheCacheHuggingfaceHubWrote() throws {
        let home = try temporaryFolder()
        let cache = home.appendingPathComponent("hub")
        try FileManager.default.copyItem(at: fixture, to: cache)
        XCTAssertEqual(try tree(cache), try tree(fixture), "the copy keeps the links")
        let env = ["HF_HOME": home.path, "HF_HUB_CACHE": cache.path, "HF_HUB_OFFLINE": "1"]
        for name in files {
            let resolved = try WeightsResolver.resolve(modelConfig: "ViT-B-16", pretrained: nil, weights: "hf://\(repo)/\(name)", environment: env)
            guard case let .hub(origin) = resolved.origin else { return XCTFail() }
            XCTAssertEqual(origin.outcome, .cached)
            XCTAssertEqual(resolved.path.path, cache.appendingPathComponent("models--winclip--hub-parity/snapshots/\(origin.commit)/\(name)").path)
            XCTAssertEqual(try Data(contentsOf: resolved.path), try Data(contentsOf: fixtureFile(name)))
        }
    }

    func testWritesTheTreeHuggingfaceHubWrites() throws {
        // The same hub (fake_hub.py derives the commit from the repository name) serving the
        // same bytes that huggingface_hub downloaded.
        var served: [String: URL] = [:]
        for name in files { served["\(repo)/\(name)"] = try fixtureFile(name) }
        let hub = try FakeHub(files: served)
        addTeardownBlock { hub.stop() }
        let home = try temporaryFolder()
        let cache = home.appendingPathComponent("hub")
        let downloader = HubDownloader(settings: HubSettings(environment: ["HF_HOME": home.path, "HF_HUB_CACHE": cache.path, "HF_ENDPOINT": hub.endpoint]))
        for name in files { _ = try downloader.fetch(try HubFileReference(repo: repo, file: name)) }
        XCTAssertEqual(try tree(cache), try tree(fixture))
        let refs = "models--winclip--hub-parity/refs/main"
        XCTAssertEqual(try Data(contentsOf: cache.appendingPathComponent(refs)), try Data(contentsOf: fixture.appendingPathComponent(refs)))
        for blob in try FileManager.default.contentsOfDirectory(atPath: fixture.appendingPathComponent("models--winclip--hub-parity/blobs").path) {
            let path = "models--winclip--hub-parity/blobs/\(blob)"
            XCTAssertEqual(try Data(contentsOf: cache.appendingPathComponent(path)), try Data(contentsOf: fixture.appendingPathComponent(path)), blob)
        }
    }
}
