import Foundation
import XCTest
@testable import Datasets
@testable import Outputs
@testable import Submit

/// An output folder that cannot take the results: a plain sentence naming the file and the
/// cure, never Foundation's "Error Domain=... Code=...".
final class OutputFailureTests: XCTestCase {
    let tile = clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path

    func failure(_ o: SubmitOptions, file: StaticString = #filePath, line: UInt = #line) -> OutputFailure? {
        do { try runSubmit(o) } catch let failure as OutputFailure {
            XCTAssertFalse(failure.description.contains("Domain=") || failure.description.contains("Code="), failure.description, file: file, line: line)
            return failure
        } catch {
            XCTFail("not an OutputFailure: \(error)", file: file, line: line)
            return nil
        }
        XCTFail("the job did not fail", file: file, line: line)
        return nil
    }

    func testResultsFileThatIsAFolder() throws {
        let out = try temporaryOutputFolder(self).appendingPathComponent("out")
        let results = out.appendingPathComponent("results.jsonl")
        try FileManager.default.createDirectory(at: results, withIntermediateDirectories: true)
        var o = tinySubmitOptions(dataset: tile, output: out)
        XCTAssertEqual(failure(o), OutputFailure(.isFolder, path: results.path))
        o.resume = true
        XCTAssertEqual(failure(o), OutputFailure(.isFolder, path: results.path))
        XCTAssertTrue(FileStatus.of(results).isDirectory, "left as it was")
    }

    func testOutputUnderAFile() throws {
        let parent = try temporaryOutputFolder(self).appendingPathComponent("a-file")
        try Data("x".utf8).write(to: parent)
        let out = parent.appendingPathComponent("out")
        XCTAssertEqual(failure(tinySubmitOptions(dataset: tile, output: out))?.problem, .notAFolder)
    }

    /// Root ignores permission bits, so an unwritable folder is made with a read-only mount.
    func testReadOnlyOutput() throws {
        let mount = try TinyMount(self, options: "ro,size=64k")
        XCTAssertEqual(failure(tinySubmitOptions(dataset: tile, output: mount.point.appendingPathComponent("out")))?.problem, .readOnlyFileSystem)
    }

    func testDiskFull() throws {
        let mount = try TinyMount(self, options: "size=32k")
        var o = tinySubmitOptions(dataset: tile, output: mount.point.appendingPathComponent("out"))
        o.saveMaps = true  // maps and overlays fill 32 KiB (8 pages) after the first images
        let got = failure(o)
        XCTAssertEqual(got?.problem, .diskFull, "\(String(describing: got))")
        XCTAssert(got?.description.contains("--resume") == true, "says how to go on")
    }

    func testFoundationErrorsAreTranslated() {
        let cocoa = CocoaError(.fileWriteOutOfSpace, userInfo: [NSFilePathErrorKey: "/x/results.jsonl"])
        XCTAssertEqual(OutputFailure.from(cocoa, path: "/fallback"), OutputFailure(.diskFull, path: "/x/results.jsonl"))
        XCTAssertEqual(OutputFailure.from(POSIXError(.EACCES), path: "/out")?.problem, .noPermission)
        XCTAssertNil(OutputFailure.from(SubmitError("not a file error"), path: "/out"))
    }
}

/// A small tmpfs mounted on a temporary folder for one test (CI runs as root), unmounted at
/// its end; the test is skipped where mounting is not allowed.
struct TinyMount {
    let point: URL

    init(_ test: XCTestCase, options: String) throws {
        point = try temporaryOutputFolder(test).appendingPathComponent("mnt")
        try FileManager.default.createDirectory(at: point, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", options, "tmpfs", point.path]
        mount.standardError = FileHandle.nullDevice
        do { try mount.run() } catch { throw XCTSkip("cannot run mount: \(error)") }
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else { throw XCTSkip("mounting a tmpfs is not allowed here (needs root): status \(mount.terminationStatus)") }
        let path = point.path
        test.addTeardownBlock {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = [path]
            try? umount.run()
            umount.waitUntilExit()
        }
    }
}
