import Foundation
import HubTestSupport
import XCTest
@testable import Hub

/// Downloads from Tools/fake_hub.py on loopback into a temporary HF_HUB_CACHE.
final class HubDownloadTests: XCTestCase {
    let tiny = FakeHub.fixtures.appendingPathComponent("tiny-vit-48.safetensors")
    let repo = "winclip/tiny-vit-48"
    let file = "open_clip_model.safetensors"

    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("HubDownloadTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// HF_HOME and HF_HUB_CACHE in a temporary folder: the user's cache and token are never read.
    func environment(_ hub: FakeHub?, home: URL, _ extra: [String: String] = [:]) -> [String: String] {
        var env = ["HF_HOME": home.path, "HF_HUB_CACHE": home.appendingPathComponent("hub").path,
                   "HF_ENDPOINT": hub?.endpoint ?? "http://127.0.0.1:9"]
        env.merge(extra) { $1 }
        return env
    }

    func downloader(_ hub: FakeHub?, home: URL, _ extra: [String: String] = [:], retries: Int = 5) -> HubDownloader {
        var settings = HubSettings(environment: environment(hub, home: home, extra))
        settings.downloadRetries = retries
        return HubDownloader(settings: settings)
    }

    func reference(revision: String = "main") throws -> HubFileReference { try HubFileReference(repo: repo, revision: revision, file: file) }

    func startHub(_ options: [String] = []) throws -> FakeHub {
        let hub = try FakeHub(files: ["\(repo)/\(file)": tiny], options: options)
        addTeardownBlock { hub.stop() }
        return hub
    }

    var tinySHA256: String { get throws { try BlobDigest.sha256(file: tiny) } }
    var tinySize: Int64 { get throws { try BlobDigest.size(of: tiny) } }

    func testDownloadWritesHuggingfaceHubsLayout() throws {
        let hub = try startHub()
        let home = try temporaryFolder()
        let result = try downloader(hub, home: home).fetch(try reference())
        guard case let .downloaded(report) = result.outcome else { return XCTFail("\(result.outcome)") }
        XCTAssertEqual(report, DownloadReport(size: try tinySize, resumedFrom: 0, requests: 1, transferred: try tinySize, interruptions: 0))

        let folder = home.appendingPathComponent("hub/models--winclip--tiny-vit-48")
        let sha = try tinySHA256
        let commit = result.commit
        XCTAssertEqual(commit.count, 40)
        XCTAssertEqual(result.path.path, folder.appendingPathComponent("snapshots/\(commit)/\(file)").path)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: result.path.path), "../../blobs/\(sha)")
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("blobs/\(sha)")), try Data(contentsOf: tiny))
        XCTAssertEqual(try String(contentsOf: folder.appendingPathComponent("refs/main"), encoding: .utf8), commit)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("blobs").path), [sha])
        XCTAssertTrue(FileManager.default.fileExists(atPath: home.appendingPathComponent("hub/.locks/models--winclip--tiny-vit-48/\(sha).lock").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: home.appendingPathComponent("hub/CACHEDIR.TAG").path))

        // The hub's protocol: HEAD on resolve (answered 302 with the metadata), GET on the CDN.
        let requests = try hub.requests()
        XCTAssertEqual(requests.map { "\($0.server) \($0.method) \($0.path)" },
                       ["hub HEAD /\(repo)/resolve/main/\(file)", "cdn GET /cdn/\(sha)/\(file)"])
    }

    func testFileKeptInGitIsCheckedAgainstItsBlobID() throws {
        // A small file in git (not LFS): the resolve route answers 200 itself, ETag = git blob id.
        let json = FakeHub.fixtures.appendingPathComponent("tiny-vit-48.json")
        let hub = try startHub(["--git-file", "\(repo)/open_clip_config.json=\(json.path)"])
        let home = try temporaryFolder()
        let result = try downloader(hub, home: home).fetch(try HubFileReference(repo: repo, file: "open_clip_config.json"))
        guard case .downloaded = result.outcome else { return XCTFail("\(result.outcome)") }
        let content = try Data(contentsOf: json)
        XCTAssertEqual(try Data(contentsOf: result.path), content)
        let blobID = try FileManager.default.destinationOfSymbolicLink(atPath: result.path.path).split(separator: "/").last.map(String.init)
        XCTAssertEqual(blobID?.count, 40)
        XCTAssertNil(try BlobDigest(etag: blobID!).mismatch(file: result.path), "the blob is named by its git id")
        XCTAssertEqual(try hub.requests().map { "\($0.server) \($0.method)" }, ["hub HEAD", "hub GET"])
    }

    func testEmptyFileNeedsNoBody() throws {
        let empty = try temporaryFolder().appendingPathComponent("empty")
        try Data().write(to: empty)
        let hub = try FakeHub(files: ["\(repo)/empty.bin": empty])
        addTeardownBlock { hub.stop() }
        let result = try downloader(hub, home: try temporaryFolder()).fetch(try HubFileReference(repo: repo, file: "empty.bin"))
        XCTAssertEqual(result.outcome, .downloaded(DownloadReport(size: 0, resumedFrom: 0, requests: 0, transferred: 0, interruptions: 0)))
        XCTAssertEqual(try Data(contentsOf: result.path), Data())
    }

    func testSecondRunMakesNoRequest() throws {
        let hub = try startHub()
        let home = try temporaryFolder()
        let first = try downloader(hub, home: home).fetch(try reference())
        let afterFirst = try hub.requests().count
        let second = try downloader(hub, home: home).fetch(try reference())
        XCTAssertEqual(second, HubFetchResult(path: first.path, commit: first.commit, outcome: .cached))
        XCTAssertEqual(try hub.requests().count, afterFirst, "a cached file costs no request")
        // Asking the hub whether `main` moved (fetch-weights) costs one HEAD and no download.
        let checked = try downloader(hub, home: home).fetch(try reference(), policy: .checkHub)
        XCTAssertEqual(checked.outcome, .alreadyCurrent)
        XCTAssertEqual(try hub.requests().dropFirst(afterFirst).map(\.method), ["HEAD"])
        // A commit-hash revision is looked up in snapshots/ directly.
        let pinned = try downloader(hub, home: home).fetch(try reference(revision: first.commit), policy: .checkHub)
        XCTAssertEqual(pinned.outcome, .cached)
        XCTAssertEqual(try hub.requests().count, afterFirst + 1)
    }

    func testDroppedTransferIsResumedWithRange() throws {
        let cut: Int64 = 1_000_000
        let hub = try startHub(["--cut-after", "\(cut)"])
        let home = try temporaryFolder()
        let result = try downloader(hub, home: home).fetch(try reference())
        guard case let .downloaded(report) = result.outcome else { return XCTFail("\(result.outcome)") }
        let size = try tinySize
        XCTAssertEqual(report, DownloadReport(size: size, resumedFrom: 0, requests: 2, transferred: size, interruptions: 1))
        XCTAssertEqual(try Data(contentsOf: result.path), try Data(contentsOf: tiny))
        let gets = try hub.requests().filter { $0.server == "cdn" }
        XCTAssertEqual(gets.map(\.range), [nil, "bytes=\(cut)-"])
        print("resume within one download: \(size) bytes, connection dropped after \(cut), second GET Range bytes=\(cut)- received \(size - cut)")
    }

    func testInterruptedDownloadResumesInTheNextRun() throws {
        let cut: Int64 = 1_500_000
        let hub = try startHub(["--cut-after", "\(cut)"])
        let home = try temporaryFolder()
        let sha = try tinySHA256
        let incomplete = home.appendingPathComponent("hub/models--winclip--tiny-vit-48/blobs/\(sha).incomplete")
        // A run that gives up at the first drop (as a killed process would) keeps its bytes.
        XCTAssertThrowsError(try downloader(hub, home: home, retries: 0).fetch(try reference())) { error in
            guard case let .transferFailed(_, _, onDisk, partial) = error as? HubError else { return XCTFail("\(error)") }
            XCTAssertEqual(onDisk, cut)
            XCTAssertEqual(partial, incomplete.path)
        }
        XCTAssertEqual(try BlobDigest.size(of: incomplete), cut)
        XCTAssertFalse(FileManager.default.fileExists(atPath: home.appendingPathComponent("hub/models--winclip--tiny-vit-48/snapshots").path))

        let result = try downloader(hub, home: home).fetch(try reference())
        guard case let .downloaded(report) = result.outcome else { return XCTFail("\(result.outcome)") }
        let size = try tinySize
        XCTAssertEqual(report, DownloadReport(size: size, resumedFrom: cut, requests: 1, transferred: size - cut, interruptions: 0))
        XCTAssertEqual(try Data(contentsOf: result.path), try Data(contentsOf: tiny))
        XCTAssertFalse(FileManager.default.fileExists(atPath: incomplete.path))
        XCTAssertEqual(try hub.requests().filter { $0.server == "cdn" }.map(\.range), [nil, "bytes=\(cut)-"])
        print("resume in the next run: \(size) bytes, first run stopped at \(cut) (kept in blobs/<etag>.incomplete), second run Range bytes=\(cut)- received \(size - cut)")
    }

    func testStopRequestKeepsTheBytesForTheNextRun() throws {
        // Slow bodies; "stop" is requested once 500 kB are on disk (as SIGINT does in the programs).
        let hub = try startHub(["--chunk-delay", "0.002"])
        let home = try temporaryFolder()
        let flag = StopFlag()
        let progress: HubProgressHandler = { event in
            if case let .received(_, received, _) = event, received >= 500_000 { flag.set() }
        }
        XCTAssertThrowsError(try downloader(hub, home: home).fetch(try reference(), progress: progress, isCancelled: { flag.isSet })) { error in
            guard case let .cancelled(_, onDisk, partial) = error as? HubError else { return XCTFail("\(error)") }
            XCTAssertGreaterThanOrEqual(onDisk, 500_000)
            XCTAssertEqual(try? BlobDigest.size(of: URL(fileURLWithPath: partial)), onDisk)
            XCTAssert("\(error)".contains("the next attempt resumes"), "\(error)")
        }
        let result = try downloader(hub, home: home).fetch(try reference())
        guard case let .downloaded(report) = result.outcome else { return XCTFail("\(result.outcome)") }
        XCTAssertGreaterThanOrEqual(report.resumedFrom, 500_000)
        XCTAssertEqual(report.transferred, try tinySize - report.resumedFrom)
        XCTAssertEqual(try Data(contentsOf: result.path), try Data(contentsOf: tiny))
    }

    func testChecksumMismatchIsRefused() throws {
        let hub = try startHub(["--corrupt"])
        let home = try temporaryFolder()
        let sha = try tinySHA256
        XCTAssertThrowsError(try downloader(hub, home: home).fetch(try reference())) { error in
            guard case let .checksumMismatch(_, expected, actual, algorithm) = error as? HubError else { return XCTFail("\(error)") }
            XCTAssertEqual(expected, sha)
            XCTAssertNotEqual(actual, sha)
            XCTAssertEqual(algorithm, "SHA-256")
            XCTAssert("\(error)".contains("refused"), "\(error)")
        }
        let folder = home.appendingPathComponent("hub/models--winclip--tiny-vit-48")
        let snapshots = (try? FileManager.default.subpathsOfDirectory(atPath: folder.appendingPathComponent("snapshots").path)) ?? []
        XCTAssertEqual(snapshots, [], "nothing is placed under snapshots/")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("blobs").path), [],
                       "neither the blob nor its .incomplete is kept")
        XCTAssertNil(HubCache(directory: home.appendingPathComponent("hub")).cachedFile(try reference()))
    }

    func testOfflineModeUsesTheCacheWithoutTheServer() throws {
        let hub = try startHub()
        let home = try temporaryFolder()
        let first = try downloader(hub, home: home).fetch(try reference())
        hub.stop()
        // HF_HUB_OFFLINE: no network call even when the hub would be asked.
        let offline = try downloader(hub, home: home, ["HF_HUB_OFFLINE": "1"]).fetch(try reference(), policy: .checkHub)
        XCTAssertEqual(offline, HubFetchResult(path: first.path, commit: first.commit, outcome: .cached))
        // The hub gone without offline mode: the cached snapshot serves, and says why.
        let unreachable = try downloader(hub, home: home).fetch(try reference(), policy: .checkHub)
        XCTAssertEqual(unreachable.path, first.path)
        guard case .cachedAfterHubFailure = unreachable.outcome else { return XCTFail("\(unreachable.outcome)") }
        XCTAssertEqual(try Data(contentsOf: unreachable.path), try Data(contentsOf: tiny))
        XCTAssertEqual(try downloader(hub, home: home).fetch(try reference()).outcome, .cached)
    }

    func testNothingCachedOfflineSaysHowToSeedAMachine() throws {
        let home = try temporaryFolder()
        let cache = home.appendingPathComponent("hub").path
        XCTAssertThrowsError(try downloader(nil, home: home, ["HF_HUB_OFFLINE": "1"]).fetch(try reference())) { error in
            guard case let .notCached(n) = error as? HubError else { return XCTFail("\(error)") }
            XCTAssertEqual(n.reason, .offlineMode(variable: "HF_HUB_OFFLINE"))
            let message = "\(error)"
            for part in ["offline mode is on (HF_HUB_OFFLINE)", "open_clip_model.safetensors of winclip/tiny-vit-48", cache,
                         "models--winclip--tiny-vit-48/snapshots/<commit>/open_clip_model.safetensors", "winclip-coord fetch-weights", "copy a cache folder holding the file"] {
                XCTAssert(message.contains(part), "'\(message)' should say '\(part)'")
            }
        }
        // No server at all (nothing listens on the endpoint's port): the same help.
        let hub = try startHub()
        hub.stop()
        XCTAssertThrowsError(try downloader(hub, home: home).fetch(try reference())) { error in
            guard case let .notCached(n) = error as? HubError, case .unreachable(hub.endpoint, _) = n.reason else { return XCTFail("\(error)") }
            XCTAssert("\(error)".contains("cannot be reached"), "\(error)")
        }
    }

    func testUnknownRepositoryRevisionAndFile() throws {
        let hub = try startHub()
        let home = try temporaryFolder()
        let d = downloader(hub, home: home)
        XCTAssertThrowsError(try d.fetch(try HubFileReference(repo: "winclip/no-such-model", file: file))) { error in
            XCTAssertEqual(error as? HubError, .repositoryNotFound(repo: "winclip/no-such-model", url: "\(hub.endpoint)/winclip/no-such-model/resolve/main/\(file)", status: 401))
            XCTAssert("\(error)".contains("repository winclip/no-such-model not found on the hub"), "\(error)")
        }
        XCTAssertThrowsError(try d.fetch(try HubFileReference(repo: repo, file: "open_clip_pytorch_model.bin"))) { error in
            XCTAssert("\(error)".contains("file open_clip_pytorch_model.bin not found in repository winclip/tiny-vit-48 at revision main"), "\(error)")
        }
        XCTAssertThrowsError(try d.fetch(try reference(revision: "v9"))) { error in
            XCTAssert("\(error)".contains("revision 'v9' not found in repository winclip/tiny-vit-48"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: home.appendingPathComponent("hub/models--winclip--no-such-model").path))
    }

    func testTokenGoesToTheHubAndNotToTheCDN() throws {
        let hub = try startHub(["--require-token", "hf_secret"])
        let home = try temporaryFolder()
        XCTAssertThrowsError(try downloader(hub, home: home).fetch(try reference())) { error in
            XCTAssert("\(error)".contains("set HF_TOKEN"), "\(error)")
        }
        // The token file huggingface_hub's login writes.
        try Data("hf_secret\n".utf8).write(to: home.appendingPathComponent("token"))
        _ = try downloader(hub, home: home).fetch(try reference())
        let served = try hub.requests().dropFirst()
        XCTAssertEqual(served.map(\.server), ["hub", "cdn"])
        XCTAssertEqual(served.map(\.authorization), ["Bearer hf_secret", nil])
    }

    func testTwoDownloadsOfOneFileAtOnce() throws {
        // Slow bodies (16 KiB every 5 ms: about 1 s) so that the two overlap.
        let hub = try startHub(["--chunk-delay", "0.005"])
        let home = try temporaryFolder()
        let results = ResultsBox()
        let group = DispatchGroup()
        for _ in 0..<2 {
            group.enter()
            let d = downloader(hub, home: home)
            let ref = try reference()
            Thread.detachNewThread {
                results.append(Result { try d.fetch(ref) })
                group.leave()
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 120), .success)
        let outcomes = try results.all.map { try $0.get() }
        XCTAssertEqual(outcomes.count, 2)
        XCTAssertEqual(Set(outcomes.map(\.path)).count, 1)
        // One of them downloaded; the other waited on the lock and found the blob.
        XCTAssertEqual(outcomes.filter { if case .downloaded = $0.outcome { return true } else { return false } }.count, 1)
        XCTAssertEqual(outcomes.filter { $0.outcome == .alreadyCurrent }.count, 1)
        XCTAssertEqual(try Data(contentsOf: outcomes[0].path), try Data(contentsOf: tiny))
        XCTAssertEqual(try hub.requests().filter { $0.server == "cdn" }.count, 1, "the body is downloaded once")
    }
}

/// Results handed back from worker threads.
final class ResultsBox: @unchecked Sendable {
    // Every access holds the lock.
    private let lock = NSLock()
    private var items: [Result<HubFetchResult, Error>] = []
    func append(_ r: Result<HubFetchResult, Error>) { lock.lock(); items.append(r); lock.unlock() }
    var all: [Result<HubFetchResult, Error>] { lock.lock(); defer { lock.unlock() }; return items }
}

/// A flag set from a progress callback and read by the download loop.
final class StopFlag: @unchecked Sendable {
    // Every access holds the lock.
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
