import Foundation
import XCTest
@testable import Hub

final class WeightsSourceTests: XCTestCase {
    func testLocalPaths() throws {
        XCTAssertEqual(try WeightsSource.parse("weights/open_clip_model.safetensors"), .localFile("weights/open_clip_model.safetensors"))
        XCTAssertEqual(try WeightsSource.parse("/abs/w.safetensors"), .localFile("/abs/w.safetensors"))
    }

    func testHubURIs() throws {
        XCTAssertEqual(try WeightsSource.parse("hf://timm/vit_base_patch16_plus_clip_240.laion400m_e31/open_clip_model.safetensors"),
                       .hub(try HubFileReference(repo: "timm/vit_base_patch16_plus_clip_240.laion400m_e31", revision: "main", file: "open_clip_model.safetensors")))
        let commit = "0123456789abcdef0123456789abcdef01234567"
        XCTAssertEqual(try WeightsSource.parse("hf://laion/CLIP-ViT-B-32-laion2B-s34B-b79K@\(commit)/sub/dir/model.safetensors"),
                       .hub(try HubFileReference(repo: "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", revision: commit, file: "sub/dir/model.safetensors")))
        // A revision with '/' is percent-encoded, and printed back the same way.
        guard case let .hub(pr) = try WeightsSource.parse("hf://owner/repo@refs%2Fpr%2F3/model.safetensors") else { return XCTFail() }
        XCTAssertEqual(pr.revision, "refs/pr/3")
        XCTAssertEqual(pr.description, "hf://owner/repo@refs%2Fpr%2F3/model.safetensors")
        XCTAssertEqual(try HubFileReference(repo: "a/b", file: "f").description, "hf://a/b/f")
    }

    func testMalformedURIsSayWhatIsWrong() {
        let cases: [(String, String)] = [
            ("hf://", "the repository must be OWNER/REPO"),
            ("hf://owner", "the repository must be OWNER/REPO"),
            ("hf://owner/repo", "no FILE after OWNER/REPO"),
            ("hf://owner/repo/", "no FILE after the repository"),
            ("hf:/owner/repo/file", "the scheme must be written 'hf://'"),
            ("HF://owner/repo/file", "the scheme must be written 'hf://'"),
            ("hf://owner/repo@/file", "empty or badly encoded revision"),
            ("hf://owner/re po/file", "may only use letters, digits"),
            ("hf://-owner/repo/file", "may not start or end with '-' or '.'"),
            ("hf://owner/a--b/file", "may not contain '--' or '..'"),
            ("hf://owner/repo.git/file", "may not end with '.git'"),
            ("hf://owner/repo/../etc/passwd", "may not contain '.' or '..' segments"),
            ("hf://owner/repo/a//b", "empty path segment"),
            ("hf://datasets/owner/repo/file", "only model repositories"),
            ("", "empty weights path"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try WeightsSource.parse(text), text) { error in
                let message = "\(error)"
                XCTAssert(message.contains(expected), "'\(text)': '\(message)' should say '\(expected)'")
                if !text.isEmpty { XCTAssert(message.contains("expected hf://OWNER/REPO[@REVISION]/FILE"), message) }
            }
        }
    }
}
