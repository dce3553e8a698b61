import Foundation
import XCTest
@testable import Datasets

final class DatasetFileListTests: XCTestCase {
    func testFileList() throws {
        let base = try temporaryOutputFolder(self)
        let lists = base.appendingPathComponent("lists")
        try writeTestPNG(lists, "a.png")
        try writeTestPNG(lists, "sub/b.png")
        try writeTestText(lists, "notes.txt")
        try makeFIFO(lists, "fifo.png")
        let outside = try writeTestPNG(base, "other/c.png")
        try FileManager.default.createDirectory(at: lists.appendingPathComponent("folder.png"), withIntermediateDirectories: true)
        try writeTestText(lists, "batch.txt", """
            # inspection batch 7
            a.png

              sub/b.png\u{20}\u{20}\r
            \(outside.path)
            ../other/c.png
            missing.png
            folder.png
            notes.txt
            fifo.png
            ./a.png
            """)
        let path = lists.appendingPathComponent("batch.txt").path
        for dataset in [try bounded { try Dataset(fileList: path) },
                        try bounded { try Dataset(path: path, options: DatasetOptions(layout: .fileList)) }] {
            XCTAssertEqual(dataset.layout, .fileList)
            XCTAssertEqual(dataset.name, "batch")
            XCTAssertEqual(dataset.className, "object")
            XCTAssertEqual(dataset.root.path, lists.path)
            // The list's order; a path outside the list's folder is named absolutely.
            XCTAssertEqual(dataset.items.map(\.relativePath), ["a.png", "sub/b.png", outside.path])
            XCTAssertEqual(dataset.items.map(\.url.path), [lists.appendingPathComponent("a.png").path,
                                                           lists.appendingPathComponent("sub/b.png").path, outside.path])
            XCTAssertTrue(dataset.items.allSatisfy { $0.label == nil })
            XCTAssertEqual(dataset.duplicates, 2, "../other/c.png and ./a.png repeat earlier lines")
            XCTAssertEqual(dataset.problems.map(\.relativePath), ["missing.png", "folder.png", "notes.txt", "fifo.png"])
            XCTAssertEqual(dataset.problems.map(\.reason).dropFirst(), [.folderInList, .notAnImageName, .notARegularFile(.fifo)])
            guard case .missing(let why) = dataset.problems[0].reason else { return XCTFail("\(dataset.problems)") }
            XCTAssertTrue(why.contains("listed in \(path)"), why)
        }
    }

    func testListFromAPipeStartsAtTheCurrentFolder() throws {
        let base = try temporaryOutputFolder(self)
        try writeTestPNG(base, "images/x.png")
        try makeFIFO(base, "lists/pipe")
        let pipe = base.appendingPathComponent("lists/pipe").path
        // A writer on another thread, as a shell's `<(find …)` would be.
        Thread.detachNewThread {
            if let handle = FileHandle(forWritingAtPath: pipe) {
                handle.write(Data("images/x.png\n".utf8))
                try? handle.close()
            }
        }
        let dataset = try bounded { try Dataset(fileList: pipe, currentDirectory: base) }
        XCTAssertEqual(dataset.items.map(\.relativePath), ["images/x.png"])
        XCTAssertEqual(dataset.root.path, base.path)
    }

    func testFileListErrors() throws {
        let base = try temporaryOutputFolder(self)
        XCTAssertThrowsError(try Dataset(fileList: base.appendingPathComponent("nope.txt").path)) { error in
            XCTAssertTrue("\(error)".contains("nope.txt: No such file or directory"), "\(error)")
        }
        XCTAssertThrowsError(try Dataset(fileList: base.path)) { error in
            XCTAssertTrue("\(error)".contains("is a folder"), "\(error)")
        }
        XCTAssertThrowsError(try Dataset(fileListText: "# nothing\n\n", base: base, name: "empty", listPath: "empty.txt")) { error in
            XCTAssertEqual(error as? DatasetError, .fileList(path: "empty.txt", message: "names no image (one path per line; '#' starts a comment)"))
        }
        XCTAssertThrowsError(try Dataset(fileListText: "gone.png\n", base: base, name: "l", listPath: "l.txt")) { error in
            guard case DatasetError.noUsableImages("l.txt", 1, _) = error else { return XCTFail("\(error)") }
        }
        try Data([0x61, 0xFF, 0x0A]).write(to: base.appendingPathComponent("binary.txt"))
        XCTAssertThrowsError(try Dataset(fileList: base.appendingPathComponent("binary.txt").path)) { error in
            XCTAssertTrue("\(error)".contains("is not UTF-8 text"), "\(error)")
        }
        XCTAssertThrowsError(try Dataset(path: base.path, options: DatasetOptions(layout: .fileList, folder: FolderLayoutDirs(normalDir: "x"))))
    }
}
