import Foundation
import XCTest
@testable import Datasets

final class DatasetTests: XCTestCase {
    /// metal_nut/ in MVTec AD's layout, with a missing mask, a hidden file and folder, an
    /// upper-case extension and stray non-image files.
    func makeMVTec() throws -> URL {
        let root = try temporaryOutputFolder(self).appendingPathComponent("metal_nut")
        for name in ["002.png", "000.png", "001.png"] { try writeTestPNG(root, "train/good/\(name)") }
        try writeTestText(root, "train/good/notes.txt")
        try writeTestPNG(root, "test/good/000.png")
        try writeTestPNG(root, "test/crack/000.png")
        try writeTestPNG(root, "test/crack/001.png")          // its mask is missing
        try writeTestPNG(root, "test/scratch/000.PNG")
        try writeTestPNG(root, "test/.cache/000.png")         // hidden folder
        try writeTestText(root, "test/crack/.DS_Store")             // hidden file
        try writeTestText(root, "test/readme.txt")                  // skipped, counted
        try writeTestPNG(root, "ground_truth/crack/000_mask.png")
        try writeTestPNG(root, "ground_truth/scratch/000_mask.png")
        try writeTestText(root, "license.txt")                      // outside test/: not scanned
        return root
    }

    func testMVTecLayout() throws {
        let root = try makeMVTec()
        let dataset = try Dataset(path: root.path)
        XCTAssertEqual(dataset.layout, .mvtec)
        XCTAssertEqual(dataset.name, "metal_nut")
        XCTAssertEqual(dataset.className, "metal_nut")  // anomalib passes the category unchanged
        XCTAssertEqual(dataset.skippedFiles, 1)
        XCTAssertEqual(dataset.items.map(\.relativePath),
                       ["test/crack/000.png", "test/crack/001.png", "test/good/000.png", "test/scratch/000.PNG"])
        XCTAssertEqual(dataset.items.map(\.label), [1, 1, 0, 1])
        XCTAssertEqual(dataset.items.map { $0.maskURL?.path }, [
            root.appendingPathComponent("ground_truth/crack/000_mask.png").path, nil, nil,
            root.appendingPathComponent("ground_truth/scratch/000_mask.png").path,
        ])
        XCTAssertEqual(dataset.items[0].url.path, root.appendingPathComponent("test/crack/000.png").path)
        for item in dataset.items { XCTAssertTrue(FileManager.default.fileExists(atPath: item.url.path)) }
    }

    func testMaskNamedLikeTheImageIsAccepted() throws {
        let root = try makeMVTec()
        try writeTestPNG(root, "ground_truth/crack/001.png")
        let dataset = try Dataset(path: root.path)
        XCTAssertEqual(dataset.items[1].maskURL?.lastPathComponent, "001.png")
    }

    func testReferencesAreTheFirstKOfTrainGoodByName() throws {
        let root = try makeMVTec()
        let dataset = try Dataset(path: root.path)
        XCTAssertEqual(try dataset.references(kShot: 2).map(\.lastPathComponent), ["000.png", "001.png"])
        XCTAssertEqual(try dataset.references(kShot: 3).map(\.lastPathComponent), ["000.png", "001.png", "002.png"])
        XCTAssertEqual(try dataset.references(kShot: 0), [])
        XCTAssertThrowsError(try dataset.references(kShot: 4)) { error in
            guard case DatasetError.notEnoughReferences(_, 4, 3) = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("4-shot needs 4 reference images"), "\(error)")
        }
    }

    func testPlainFolder() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("parts")
        try writeTestPNG(root, "a.png")
        try writeTestPNG(root, "Z.PNG")
        try writeTestPNG(root, "sub/b.jpg")
        try writeTestPNG(root, "sub/deeper/c.tiff")
        try writeTestPNG(root, ".git/x.png")
        try writeTestPNG(root, "train/only-train.png")  // train/ without test/ is not MVTec
        try writeTestText(root, "notes.md")
        try writeTestText(root, "sub/anim.gif")  // not in torchvision's IMG_EXTENSIONS
        let dataset = try Dataset(path: root.path)
        XCTAssertEqual(dataset.layout, .plain)
        XCTAssertEqual(dataset.className, "object")
        XCTAssertEqual(dataset.items.map(\.relativePath),
                       ["Z.PNG", "a.png", "sub/b.jpg", "sub/deeper/c.tiff", "train/only-train.png"])
        XCTAssertTrue(dataset.items.allSatisfy { $0.label == nil && $0.maskURL == nil })
        XCTAssertEqual(dataset.skippedFiles, 2)
        XCTAssertThrowsError(try dataset.references(kShot: 1))
    }

    func testImageExtensions() {
        for name in ["a.jpg", "a.JPEG", "a.png", "a.ppm", "a.bmp", "a.pgm", "a.tif", "a.TIFF", "a.webp"] {
            XCTAssertTrue(Dataset.isImageFile(name), name)
        }
        for name in ["a.gif", "a.pbm", "a.txt", "png", "a.png.bak", "a"] {
            XCTAssertFalse(Dataset.isImageFile(name), name)
        }
    }

    func testReferenceFolder() throws {
        let root = try temporaryOutputFolder(self)
        try writeTestPNG(root, "refs/b.png")
        try writeTestPNG(root, "refs/a.jpg")
        try writeTestPNG(root, "refs/more/c.png")
        try writeTestText(root, "refs/x.txt")
        XCTAssertEqual(try Dataset.referenceFolder(root.appendingPathComponent("refs").path).map(\.lastPathComponent),
                       ["a.jpg", "b.png", "c.png"])
        XCTAssertThrowsError(try Dataset.referenceFolder(root.appendingPathComponent("nope").path))
    }

    func testErrors() throws {
        let root = try temporaryOutputFolder(self)
        let missing = root.appendingPathComponent("missing").path
        XCTAssertThrowsError(try Dataset(path: missing)) { error in
            XCTAssertEqual(error as? DatasetError, .missingFolder(missing))
            XCTAssertEqual("\(error)", "dataset folder \(missing) does not exist")
        }
        try writeTestText(root, "file.png")
        XCTAssertThrowsError(try Dataset(path: root.appendingPathComponent("file.png").path)) { error in
            XCTAssertEqual(error as? DatasetError, .notAFolder(root.appendingPathComponent("file.png").path))
        }
        let empty = root.appendingPathComponent("empty")
        try writeTestText(empty, "a.txt")
        try writeTestText(empty, "deep/b.csv")
        try writeTestText(empty, ".hidden.png")
        XCTAssertThrowsError(try Dataset(path: empty.path)) { error in
            XCTAssertEqual(error as? DatasetError, .noImages(folder: empty.path, skipped: 2))
            XCTAssertTrue("\(error)".contains("2 other files were skipped"), "\(error)")
        }
        let bare = root.appendingPathComponent("bare")
        try FileManager.default.createDirectory(at: bare, withIntermediateDirectories: true)
        XCTAssertThrowsError(try Dataset(path: bare.path)) { error in
            XCTAssertTrue("\(error)".contains("holds no files at all"), "\(error)")
        }
        let noTest = root.appendingPathComponent("bottle")
        try writeTestPNG(noTest, "train/good/000.png")
        try FileManager.default.createDirectory(at: noTest.appendingPathComponent("test"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try Dataset(path: noTest.path)) { error in
            XCTAssertEqual(error as? DatasetError, .noImages(folder: noTest.appendingPathComponent("test").path, skipped: 0))
        }
    }
}
