import Foundation
import XCTest
@testable import Hub

/// The environment read as huggingface_hub's constants.py and _auth.py read it.
final class HubSettingsTests: XCTestCase {
    let home = "/home/user"

    func settings(_ env: [String: String]) -> HubSettings { HubSettings(environment: env, homeDirectory: home) }

    func testCacheFolderPrecedence() {
        XCTAssertEqual(settings([:]).cacheDirectory.path, "/home/user/.cache/huggingface/hub")
        XCTAssertEqual(settings(["XDG_CACHE_HOME": "/xdg"]).cacheDirectory.path, "/xdg/huggingface/hub")
        XCTAssertEqual(settings(["XDG_CACHE_HOME": "/xdg", "HF_HOME": "/hf"]).cacheDirectory.path, "/hf/hub")
        XCTAssertEqual(settings(["HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/legacy"]).cacheDirectory.path, "/legacy")
        XCTAssertEqual(settings(["HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/legacy", "HF_HUB_CACHE": "/cache"]).cacheDirectory.path, "/cache")
        // expanduser and expandvars, as huggingface_hub applies them.
        XCTAssertEqual(settings(["HF_HOME": "~/hf"]).cacheDirectory.path, "/home/user/hf/hub")
        XCTAssertEqual(settings(["SCRATCH": "/scratch", "HF_HUB_CACHE": "$SCRATCH/hub-${SCRATCH}/$UNSET"]).cacheDirectory.path,
                       "/scratch/hub-/scratch/$UNSET")
    }

    func testEndpointAndOffline() {
        XCTAssertEqual(settings([:]).endpoint, "https://huggingface.co")
        XCTAssertEqual(settings(["HF_ENDPOINT": "http://127.0.0.1:8080/"]).endpoint, "http://127.0.0.1:8080")
        XCTAssertFalse(settings([:]).isOffline)
        for v in ["1", "ON", "yes", "True"] { XCTAssertEqual(settings(["HF_HUB_OFFLINE": v]).offlineVariable, "HF_HUB_OFFLINE", v) }
        for v in ["0", "off", "", "2"] { XCTAssertFalse(settings(["HF_HUB_OFFLINE": v]).isOffline, v) }
        XCTAssertEqual(settings(["TRANSFORMERS_OFFLINE": "1"]).offlineVariable, "TRANSFORMERS_OFFLINE")
        XCTAssertEqual(settings(["HF_HUB_ETAG_TIMEOUT": "3", "HF_HUB_DOWNLOAD_TIMEOUT": "60"]).metadataTimeout, 3)
        XCTAssertEqual(settings(["HF_HUB_DOWNLOAD_TIMEOUT": "60"]).downloadTimeout, 60)
    }

    func testTokenFromEnvironmentOrTheLoginFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("HubSettingsTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        try Data("  hf_fromfile\n".utf8).write(to: dir.appendingPathComponent("token"))
        try Data("hf_elsewhere".utf8).write(to: dir.appendingPathComponent("other-token"))
        XCTAssertNil(settings([:]).token)
        XCTAssertEqual(settings(["HF_TOKEN": "hf_env"]).token, "hf_env")
        XCTAssertEqual(settings(["HUGGING_FACE_HUB_TOKEN": "hf_legacy"]).token, "hf_legacy")
        XCTAssertEqual(settings(["HF_TOKEN": "hf_env", "HUGGING_FACE_HUB_TOKEN": "hf_legacy"]).token, "hf_env")
        // huggingface_hub's login writes $HF_HOME/token.
        XCTAssertEqual(settings(["HF_HOME": dir.path]).token, "hf_fromfile")
        XCTAssertEqual(settings(["HF_HOME": dir.path, "HF_TOKEN": "hf_env"]).token, "hf_env")
        XCTAssertEqual(settings(["HF_HOME": "/nowhere", "HF_TOKEN_PATH": dir.appendingPathComponent("other-token").path]).token, "hf_elsewhere")
        XCTAssertNil(settings(["HF_HOME": dir.path, "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1"]).token)
    }

    func testResolveURLQuotesAsHuggingfaceHub() throws {
        let s = HubSettings(endpoint: "https://hub.example/", cacheDirectory: URL(fileURLWithPath: "/c"))
        XCTAssertEqual(s.resolveURL(try HubFileReference(repo: "timm/vit_base_patch16_plus_clip_240.laion400m_e31", file: "open_clip_model.safetensors"))?.absoluteString,
                       "https://hub.example/timm/vit_base_patch16_plus_clip_240.laion400m_e31/resolve/main/open_clip_model.safetensors")
        XCTAssertEqual(s.resolveURL(try HubFileReference(repo: "a/b", revision: "refs/pr/1", file: "dir/my file.bin"))?.absoluteString,
                       "https://hub.example/a/b/resolve/refs%2Fpr%2F1/dir/my%20file.bin")
    }

    func testCacheLayoutNames() throws {
        let cache = HubCache(directory: URL(fileURLWithPath: "/c"))
        let ref = try HubFileReference(repo: "timm/vit_base_patch16_plus_clip_240.laion400m_e31", file: "open_clip_model.safetensors")
        XCTAssertEqual(HubCache.folderName(repo: ref.repo), "models--timm--vit_base_patch16_plus_clip_240.laion400m_e31")
        XCTAssertEqual(cache.pointer(ref, commit: "abc").path, "/c/models--timm--vit_base_patch16_plus_clip_240.laion400m_e31/snapshots/abc/open_clip_model.safetensors")
        XCTAssertEqual(cache.blob(ref.repo, etag: "e").path, "/c/models--timm--vit_base_patch16_plus_clip_240.laion400m_e31/blobs/e")
        XCTAssertEqual(cache.lock(ref.repo, etag: "e").path, "/c/.locks/models--timm--vit_base_patch16_plus_clip_240.laion400m_e31/e.lock")
        XCTAssertEqual(cache.ref(ref.repo, revision: "main").path, "/c/models--timm--vit_base_patch16_plus_clip_240.laion400m_e31/refs/main")
        XCTAssertTrue(HubCache.isCommitHash("0123456789abcdef0123456789abcdef01234567"))
        XCTAssertFalse(HubCache.isCommitHash("0123456789ABCDEF0123456789abcdef01234567"))
        XCTAssertFalse(HubCache.isCommitHash("main"))
        XCTAssertEqual(HubDownloader.normalizeETag("W/\"abc\""), "abc")
        XCTAssertEqual(HubDownloader.normalizeETag("\"abc\""), "abc")
        XCTAssertNil(HubDownloader.normalizeETag("\"\""))
        XCTAssertEqual(HubHTTPClient.origin(URL(string: "https://Hub.example/x")!), HubHTTPClient.origin(URL(string: "https://hub.example:443/y")!))
        XCTAssertNotEqual(HubHTTPClient.origin(URL(string: "http://127.0.0.1:1/x")!), HubHTTPClient.origin(URL(string: "http://127.0.0.1:2/x")!))
    }
}
