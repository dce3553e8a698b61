import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
@testable import Datasets
#endif

/// The scan against hostile trees: cycles, special files, unreadable folders, a stop request.
/// Every scan runs under `bounded`, so a hang fails instead of blocking the suite.
final class DatasetScanTests: XCTestCase {
    func scanPlain(_ root: URL, stop: @escaping @Sendable () -> Bool = { false }) throws -> Dataset {
        let path = root.path
        return try bounded { try Dataset(path: path, options: DatasetOptions(layout: .plain), shouldStop: stop) }
    }

    func testLoopToItselfAndToParentScanEachImageOnce() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("parts")
        try writeTestPNG(root, "a.png")
        try writeTestPNG(root, "sub/b.png")
        try makeLink(root, "loop", to: ".")
        try makeLink(root, "sub/up", to: "..")
        let dataset = try scanPlain(root)
        XCTAssertEqual(dataset.items.map(\.relativePath), ["a.png", "sub/b.png"])
        XCTAssertEqual(dataset.duplicates, 2)
        XCTAssertEqual(dataset.problems, [])
    }

    func testTwoLoopsAndMutuallyRecursiveLinksTerminate() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("parts")
        try writeTestPNG(root, "x/x.png")
        try writeTestPNG(root, "y/y.png")
        try makeLink(root, "x/toY", to: "../y")
        try makeLink(root, "y/toX", to: "../x")
        try makeLink(root, "loop1", to: ".")
        try makeLink(root, "loop2", to: ".")
        let dataset = try scanPlain(root)
        XCTAssertEqual(dataset.items.map(\.relativePath), ["x/x.png", "y/y.png"])
        XCTAssertEqual(dataset.duplicates, 4)
    }

    func testLinkToAFileIsFollowedUnderTheLinksName() throws {
        let base = try temporaryOutputFolder(self)
        let root = base.appendingPathComponent("parts")
        try writeTestPNG(root, "real.png")
        try writeTestPNG(base, "elsewhere/outside.png")
        try makeLink(root, "link.png", to: "../elsewhere/outside.png")
        try makeLink(root, "notes", to: "../elsewhere/outside.png")  // a link to an image, named like no image
        let dataset = try scanPlain(root)
        XCTAssertEqual(dataset.items.map(\.relativePath), ["link.png", "real.png"])
        XCTAssertEqual(dataset.items[0].url.path, root.appendingPathComponent("link.png").path)
        XCTAssertEqual(dataset.skippedFiles, 1)
    }

    func testLinksToAFolderOutsideAreFollowedOnce() throws {
        let base = try temporaryOutputFolder(self)
        let root = base.appendingPathComponent("parts")
        try writeTestPNG(root, "own.png")
        try writeTestPNG(base, "outside/o1.png")
        try writeTestPNG(base, "outside/deep/o2.png")
        try makeLink(root, "ext1", to: base.appendingPathComponent("outside").path)
        try makeLink(root, "ext2", to: "../outside")
        try makeLink(base, "outside/back", to: root.path)  // and back into the dataset
        let dataset = try scanPlain(root)
        XCTAssertEqual(dataset.items.map(\.relativePath), ["ext1/deep/o2.png", "ext1/o1.png", "own.png"])
        XCTAssertEqual(dataset.duplicates, 2)
    }

    func testARealFolderWinsOverALinkThatReachesItFirst() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("parts")
        try writeTestPNG(root, "z/img.png")
        try makeLink(root, "a/alias", to: "../z")  // "a/alias" sorts before "z"
        let dataset = try scanPlain(root)
        XCTAssertEqual(dataset.items.map(\.relativePath), ["z/img.png"])
        XCTAssertEqual(dataset.duplicates, 1)
    }

    func testFIFOIsNeverOpened() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("parts")
        try writeTestPNG(root, "a.png")
        try makeFIFO(root, "pipe.png")
        try makeFIFO(root, "pipe")               // no image name: skipped quietly
        try makeLink(root, "alias.png", to: "pipe.png")
        let dataset = try scanPlain(root)
        XCTAssertEqual(dataset.items.map(\.relativePath), ["a.png"])
        XCTAssertEqual(dataset.problems.map(\.relativePath), ["alias.png", "pipe.png"])
        XCTAssertEqual(dataset.problems.map(\.reason), [.notARegularFile(.fifo), .notARegularFile(.fifo)])
        XCTAssertEqual(dataset.skippedFiles, 1)
        XCTAssertTrue(dataset.problems[1].description.contains("is a FIFO, not a regular file"), dataset.problems[1].description)
    }

    func testSocketAndDeviceBecomeProblems() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("p")
        try writeTestPNG(root, "a.png")
        try makeSocket(root, "s.png")
        try makeLink(root, "null.png", to: "/dev/null")
        let dataset = try scanPlain(root)
        XCTAssertEqual(dataset.items.map(\.relativePath), ["a.png"])
        XCTAssertEqual(dataset.problems.map(\.relativePath), ["null.png", "s.png"])
        XCTAssertEqual(dataset.problems.map(\.reason), [.notARegularFile(.characterDevice), .notARegularFile(.socket)])
    }

    func testBrokenLinks() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("parts")
        try writeTestPNG(root, "a.png")
        try makeLink(root, "gone.png", to: "nowhere.png")
        try makeLink(root, "self.png", to: "self.png")   // ELOOP
        try makeLink(root, "gonedir", to: "nowhere")      // no image name: skipped
        let dataset = try scanPlain(root)
        XCTAssertEqual(dataset.items.map(\.relativePath), ["a.png"])
        XCTAssertEqual(dataset.problems.map(\.relativePath), ["gone.png", "self.png"])
        guard case .brokenLink = dataset.problems[0].reason, case .brokenLink = dataset.problems[1].reason else {
            return XCTFail("\(dataset.problems)")
        }
        XCTAssertEqual(dataset.skippedFiles, 1)
    }

    func testUnreadableFolderWithPermissions() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("parts")
        try writeTestPNG(root, "a.png")
        try writeTestPNG(root, "locked/hidden.png")
        let locked = root.appendingPathComponent("locked")
        XCTAssertEqual(chmod(locked.path, 0), 0)
        addTeardownBlock { chmod(locked.path, 0o755) }
        if runningAsRoot {
            // Root reads any folder whatever its mode; testUnreadableFolderReportedByTheListing
            // covers the same path with a listing that fails.
            throw XCTSkip("running as root: chmod 000 does not stop root from reading a folder")
        }
        let dataset = try scanPlain(root)
        XCTAssertEqual(dataset.items.map(\.relativePath), ["a.png"])
        XCTAssertEqual(dataset.problems.map(\.relativePath), ["locked/"])
        XCTAssertEqual(dataset.problems.first?.reason, .unreadableFolder(String(cString: strerror(EACCES))))
        XCTAssertTrue(dataset.problems.first?.isFolder ?? false)
    }

    func testUnreadableFolderReportedByTheListing() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("parts")
        try writeTestPNG(root, "a.png")
        try writeTestPNG(root, "locked/hidden.png")
        try writeTestPNG(root, "open/b.png")
        var scanner = DirectoryScanner()
        scanner.listDirectory = { path in
            path.hasSuffix("/locked") ? .failure(ListingFailure(errno: EACCES)) : DirectoryScanner.readDirectory(path)
        }
        let dataset = try Dataset(path: root.path, options: DatasetOptions(layout: .plain), scanner: scanner)
        XCTAssertEqual(dataset.items.map(\.relativePath), ["a.png", "open/b.png"])
        XCTAssertEqual(dataset.problems.map(\.relativePath), ["locked/"])
        XCTAssertEqual(dataset.problems.first?.reason, .unreadableFolder(String(cString: strerror(EACCES))))
        XCTAssertTrue(dataset.problems[0].description.contains("nothing under it is scored"), dataset.problems[0].description)

        // The dataset folder itself unreadable is an error, not an empty dataset.
        scanner.listDirectory = { _ in .failure(ListingFailure(errno: EACCES)) }
        XCTAssertThrowsError(try Dataset(path: root.path, options: DatasetOptions(layout: .plain), scanner: scanner)) { error in
            guard case DatasetError.unreadableFolder(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, root.path)
        }
    }

    func testOnlyProblemsIsAClearError() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("parts")
        try makeFIFO(root, "pipe.png")
        let path = root.path
        XCTAssertThrowsError(try bounded { try Dataset(path: path) }) { error in
            guard case DatasetError.noUsableImages(_, 1, let first) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(first.contains("FIFO"), first)
        }
    }

    func testUndecodableNameIsAProblem() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("parts")
        try writeTestPNG(root, "a.png")
        let bytes = Array(root.path.utf8) + Array("/bad-".utf8) + [0xFF, 0xFE] + Array(".png".utf8) + [0]
        let fd = bytes.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_CREAT | O_WRONLY, 0o644) } }
        guard fd >= 0 else { throw XCTSkip("this file system refuses non-UTF-8 names") }
        close(fd)
        let dataset = try scanPlain(root)
        XCTAssertEqual(dataset.items.map(\.relativePath), ["a.png"])
        XCTAssertEqual(dataset.problems.map(\.reason), [.undecodableName])
    }

    func testStopRequestEndsTheScan() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("parts")
        for i in 0..<20 { try writeTestPNG(root, "d\(i)/img.png") }
        try makeLink(root, "loop", to: ".")
        let calls = CallCounter()
        let stopAfterFive: @Sendable () -> Bool = { calls.next() > 5 }
        XCTAssertThrowsError(try scanPlain(root, stop: stopAfterFive)) { error in
            XCTAssertEqual(error as? DatasetError, .interrupted)
            XCTAssertEqual("\(error)", "the dataset scan was interrupted")
        }
        XCTAssertEqual(calls.count, 6, "the scan stopped at the first true")
        XCTAssertThrowsError(try Dataset.referenceFolder(root.path, shouldStop: { true })) { error in
            XCTAssertEqual(error as? DatasetError, .interrupted)
        }
        // Without a stop request the same tree scans completely.
        XCTAssertEqual(try scanPlain(root).items.count, 20)
    }

    func testItemsExcludingReferencesMatchesTheSameFileThroughALink() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("parts")
        try writeTestPNG(root, "a.png")
        try writeTestPNG(root, "b.png")
        try makeLink(root.deletingLastPathComponent(), "ref.png", to: root.appendingPathComponent("a.png").path)
        let dataset = try scanPlain(root)
        let reference = root.deletingLastPathComponent().appendingPathComponent("ref.png")
        XCTAssertEqual(dataset.items(excludingReferences: [reference]).map(\.relativePath), ["b.png"])
        XCTAssertEqual(dataset.items(excludingReferences: []).map(\.relativePath), ["a.png", "b.png"])
    }
}
