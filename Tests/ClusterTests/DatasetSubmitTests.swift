import Foundation
import XCTest
@testable import Datasets

/// The dataset scan's findings through a whole submit: unusable entries become error rows,
/// references are never scored, and a benchmark root runs every category with a summary.
final class DatasetSubmitTests: XCTestCase {
    let tile = clusterFixtures.appendingPathComponent("mvtec-tiny/tile")

    /// A copy of mvtec-tiny/tile at `destination`.
    func copyTile(to destination: URL) throws {
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: tile, to: destination)
    }

    func testFIFOAndBrokenLinkBecomeErrorRows() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("tile")
        try copyTile(to: root)
        XCTAssertEqual(mkfifo(root.appendingPathComponent("test/good/fifo.png").path, 0o644), 0)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("test/good/gone.png").path, withDestinationPath: "/nonexistent/x.png")
        let options = tinySubmitOptions(dataset: root.path, output: try temporaryOutputFolder(self).appendingPathComponent("out"))
        let out = try bounded(60) { try runSubmit(options) }
        let rows = try readResults(out)
        XCTAssertEqual(rows.count, 7, "5 files of the fixture + the FIFO + the broken link")
        XCTAssertNotNil(rows["test/good/fifo.png"]?.error)
        XCTAssertNotNil(rows["test/good/gone.png"]?.error)
        XCTAssertNotNil(rows["test/good/000.png"]?.score)
    }

    func testFolderLayoutNeverScoresItsReferences() throws {
        let out = try runTinySubmit(self, dataset: tile.path) {
            $0.datasetOptions = DatasetOptions(layout: .folder, folder: FolderLayoutDirs(normalDir: "train/good", abnormalDir: "test/crack"))
            $0.kShot = 2
        }
        let rows = try readResults(out)
        XCTAssertNil(rows["train/good/000.png"], "a reference")
        XCTAssertNil(rows["train/good/001.png"], "a reference")
        XCTAssertNotNil(rows["train/good/002.png"]?.score)
        XCTAssertEqual(rows["train/good/002.png"]?.label, 0)
        XCTAssertEqual(rows["test/crack/000.png"]?.label, 1)
    }

    func testBenchmarkRootRunsEveryCategoryAndWritesTheTable() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("mvtec")
        try copyTile(to: root.appendingPathComponent("tile"))
        try copyTile(to: root.appendingPathComponent("wood"))
        let out = try temporaryOutputFolder(self).appendingPathComponent("bench")
        let result = try runTinySubmit(self, dataset: root.path) { $0.output = out.path }
        XCTAssertEqual(result.path, out.path)
        for category in ["tile", "wood"] {
            XCTAssertEqual(try readResults(out.appendingPathComponent(category)).count, 5)
            XCTAssert(FileManager.default.fileExists(atPath: out.appendingPathComponent("\(category)/metrics.json").path))
        }
        let table = try String(contentsOf: out.appendingPathComponent("summary.md"), encoding: .utf8)
        XCTAssert(table.contains("tile") && table.contains("wood") && table.lowercased().contains("mean"), table)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json"))) as? [String: Any]
        XCTAssertNotNil(json)
    }
}
