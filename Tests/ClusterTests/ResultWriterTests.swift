import Foundation
import XCTest
import WinCLIP
@testable import Datasets
@testable import Outputs

final class ResultWriterTests: XCTestCase {
    func lines(_ url: URL) throws -> [String] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    func testLinesParseBackInKeyOrder() throws {
        let dir = try temporaryOutputFolder(self).appendingPathComponent("out")
        let writer = try ResultWriter(directory: dir, datasetName: "bottle")
        XCTAssertTrue(FileManager.default.fileExists(atPath: writer.resultsURL.path))
        try writer.write(ImageResult(image: "test/crack/000.png", score: 0.8125, label: 1, map: "maps/test/crack/000.npy"))
        try writer.write(ImageResult(image: "test/good/000.png", score: 1e-5, label: 0))
        try writer.write(ImageResult(image: "a \"quoted\"\\name\n\tü.png", score: 0.1))
        try writer.write(ImageResult(image: "broken.png", label: 1, error: "cannot load image broken.png: truncated"))
        try writer.write(ImageResult(image: "nan.png", score: .nan))

        // Written through before close: nothing waits in a buffer.
        let before = try lines(writer.resultsURL)
        XCTAssertEqual(before.count, 6)
        XCTAssertEqual(before.last, "")
        try writer.close()
        XCTAssertThrowsError(try writer.write(ImageResult(image: "late.png", score: 0)))

        let text = try lines(writer.resultsURL).dropLast()
        XCTAssertEqual(text[0], #"{"image": "test/crack/000.png", "score": 0.8125, "label": 1, "map": "maps/test/crack/000.npy"}"#)
        XCTAssertEqual(text[1], #"{"image": "test/good/000.png", "score": 1e-05, "label": 0}"#)
        XCTAssertEqual(text[3], #"{"image": "broken.png", "label": 1, "error": "cannot load image broken.png: truncated"}"#)
        XCTAssertEqual(text[4], #"{"image": "nan.png", "score": null}"#)

        let objects = try text.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(objects[0]["image"] as? String, "test/crack/000.png")
        XCTAssertEqual((objects[0]["score"] as? NSNumber)?.floatValue, 0.8125)
        XCTAssertEqual(objects[0]["label"] as? Int, 1)
        XCTAssertEqual(objects[0]["map"] as? String, "maps/test/crack/000.npy")
        XCTAssertEqual((objects[1]["score"] as? NSNumber)?.floatValue, 1e-5)
        XCTAssertEqual(objects[2]["image"] as? String, "a \"quoted\"\\name\n\tü.png")
        XCTAssertEqual((objects[2]["score"] as? NSNumber)?.floatValue, 0.1)
        XCTAssertNil(objects[2]["label"])
        XCTAssertNil(objects[3]["score"])
        XCTAssertEqual(objects[3]["error"] as? String, "cannot load image broken.png: truncated")
    }

    func testScoresRoundTripAsFloat32() {
        for score: Float in [0, 1, 0.1, 0.7351234, 1.1754944e-38, 3.4028235e38, .leastNonzeroMagnitude] {
            let line = ImageResult(image: "x", score: score).jsonLine
            let object = try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            XCTAssertEqual((object["score"] as! NSNumber).floatValue, score, line)
        }
        XCTAssertEqual(ImageResult.quoted("\u{01}\u{7F}/"), "\"\\u0001\\u007f/\"")
    }

    func testConcurrentWritesKeepWholeLines() throws {
        let writer = try ResultWriter(directory: temporaryOutputFolder(self), datasetName: "x")
        DispatchQueue.concurrentPerform(iterations: 200) { i in
            try! writer.write(ImageResult(image: "img\(i).png", score: Float(i) / 200, label: i % 2))
        }
        try writer.close()
        let text = try lines(writer.resultsURL).dropLast()
        XCTAssertEqual(text.count, 200)
        let images = Set(try text.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            .map { $0["image"] as! String })
        XCTAssertEqual(images.count, 200)
    }

    func testExistingResultsAreNotOverwritten() throws {
        let dir = try temporaryOutputFolder(self)
        // An empty results.jsonl (a submit that never reached a coordinator) blocks nothing.
        try ResultWriter(directory: dir, datasetName: "x").close()
        let first = try ResultWriter(directory: dir, datasetName: "x")
        try first.write(ImageResult(image: "a.png", score: 0.5))
        try first.close()
        XCTAssertThrowsError(try ResultWriter(directory: dir, datasetName: "x")) { error in
            XCTAssertTrue("\(error)".contains("already holds results; continue that job with --resume"), "\(error)")
        }
        let appending = try ResultWriter(directory: dir, datasetName: "x", append: true)
        try appending.write(ImageResult(image: "b.png", score: 0.25))
        try appending.close()
        XCTAssertEqual(try lines(first.resultsURL).count, 3)
        let second = try ResultWriter(directory: dir, datasetName: "x", replaceExisting: true)
        try second.close()
        XCTAssertEqual(try Data(contentsOf: second.resultsURL).count, 0)
    }

    func testDefaultDirectoryIsNewAndNamedAfterDatasetAndTime() throws {
        let base = try temporaryOutputFolder(self).appendingPathComponent("winclip-results")
        var parts = DateComponents()
        (parts.year, parts.month, parts.day, parts.hour, parts.minute, parts.second) = (2025, 3, 7, 9, 5, 2)
        let date = Calendar.current.date(from: parts)!
        let first = try ResultWriter.newDefaultDirectory(in: base, datasetName: "metal_nut", now: date)
        let second = try ResultWriter.newDefaultDirectory(in: base, datasetName: "metal_nut", now: date)
        XCTAssertEqual(first.lastPathComponent, "metal_nut-20250307-090502")
        XCTAssertEqual(second.lastPathComponent, "metal_nut-20250307-090502-2")
        XCTAssertTrue(Dataset.isFolder(first) && Dataset.isFolder(second))
    }

    func testDefaultDirectoryUnderCurrentFolder() throws {
        let cwd = FileManager.default.currentDirectoryPath
        let scratch = try temporaryOutputFolder(self)
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(scratch.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(cwd) }
        let writer = try ResultWriter(directory: nil, datasetName: "bottle")
        try writer.close()
        XCTAssertEqual(writer.directory.deletingLastPathComponent().lastPathComponent, "winclip-results")
        XCTAssertTrue(writer.directory.lastPathComponent.hasPrefix("bottle-"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("winclip-results")
            .appendingPathComponent(writer.directory.lastPathComponent).appendingPathComponent("results.jsonl").path))
    }

    func testMapsAndOverlaysBesideEachOther() throws {
        let dir = try temporaryOutputFolder(self)
        let writer = try ResultWriter(directory: dir, datasetName: "x",
                                      images: ["test/crack/000.png", "plain/a.png", "plain/a.jpg", "plain/b.v2.jpeg"])
        let map: [Float] = [0, 0.25, 0.5, 1]
        let npy = try writer.saveMap(map, width: 2, height: 2, for: "test/crack/000.png")
        XCTAssertEqual(npy, "maps/test/crack/000.npy")
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent(npy)), NPYWriter.encode(map, shape: [2, 2]))

        // The overlay beside it (drawn after the job, see PictureOutput).
        XCTAssertEqual(PictureFiles(writer: writer, image: "test/crack/000.png", predMask: false, overlay: true).overlay,
                       "maps/test/crack/000.png")

        // Images that differ only by extension keep their full names.
        XCTAssertEqual(writer.mapPath(for: "plain/a.png", extension: "npy"), "maps/plain/a.png.npy")
        XCTAssertEqual(writer.mapPath(for: "plain/a.jpg", extension: "npy"), "maps/plain/a.jpg.npy")
        XCTAssertEqual(writer.mapPath(for: "plain/b.v2.jpeg", extension: "png"), "maps/plain/b.v2.png")
        XCTAssertEqual(writer.mapPath(for: "noext", extension: "npy"), "maps/noext.npy")
        XCTAssertEqual(ResultWriter.withoutExtension("dir.d/.hidden"), "dir.d/.hidden")
        try writer.close()
    }
}
