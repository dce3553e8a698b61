import Foundation
import XCTest
@testable import Datasets

/// Each layout on a small synthetic tree: detection, items, labels, masks, defect types,
/// class names, references; forced layouts and the errors of bad option combinations.
final class DatasetLayoutTests: XCTestCase {
    func read(_ root: URL, _ options: DatasetOptions = DatasetOptions()) throws -> Dataset {
        let path = root.path
        return try bounded { try Dataset(path: path, options: options) }
    }

    // MARK: MVTec AD 2

    func makeMVTecAD2() throws -> URL {
        let root = try temporaryOutputFolder(self).appendingPathComponent("sheet_metal")
        for name in ["001.png", "000.png", "002.png"] { try writeTestPNG(root, "train/good/\(name)") }
        try writeTestPNG(root, "validation/good/000.png")
        try writeTestPNG(root, "test_public/good/000.png")
        try writeTestPNG(root, "test_public/bad/000.png")
        try writeTestPNG(root, "test_public/bad/001.png")               // its mask is missing
        try writeTestPNG(root, "test_public/ground_truth/bad/000_mask.png")
        try writeTestPNG(root, "test_private/000.png")
        return root
    }

    func testMVTecAD2() throws {
        let root = try makeMVTecAD2()
        XCTAssertEqual(try DatasetLayout.detect(root), .mvtecAD2)
        let dataset = try read(root)
        XCTAssertEqual(dataset.layout, .mvtecAD2)
        XCTAssertEqual(dataset.className, "sheet_metal")
        XCTAssertEqual(dataset.items.map(\.relativePath), ["test_public/bad/000.png", "test_public/bad/001.png", "test_public/good/000.png"])
        XCTAssertEqual(dataset.items.map(\.label), [1, 1, 0])
        XCTAssertEqual(dataset.items.map(\.defectType), ["bad", "bad", "good"])
        XCTAssertEqual(dataset.items.map { $0.maskURL?.path },
                       [root.appendingPathComponent("test_public/ground_truth/bad/000_mask.png").path, nil, nil])
        XCTAssertEqual(try dataset.references(kShot: 2).map(\.lastPathComponent), ["000.png", "001.png"])
        XCTAssertEqual(dataset.items(excludingReferences: try dataset.references(kShot: 3)), dataset.items)
    }

    func testMVTecAD2WithoutTestPublicIsDetectedButNamesTheMissingFolder() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("can")
        try writeTestPNG(root, "train/good/000.png")
        try writeTestPNG(root, "validation/good/000.png")
        XCTAssertEqual(try DatasetLayout.detect(root), .mvtecAD2)
        XCTAssertThrowsError(try read(root)) { error in
            XCTAssertEqual(error as? DatasetError, .missingFolder(root.appendingPathComponent("test_public").path))
        }
    }

    // MARK: VisA

    /// A VisA root as downloaded: split_csv/1cls.csv beside two categories.
    func makeVisARoot() throws -> URL {
        let root = try temporaryOutputFolder(self).appendingPathComponent("visa")
        for name in ["0000", "0001", "0002"] { try writeTestPNG(root, "candle/Data/Images/Normal/\(name).JPG") }
        try writeTestPNG(root, "candle/Data/Images/Anomaly/000.JPG")
        try writeTestPNG(root, "candle/Data/Images/Anomaly/001.JPG")
        try writeTestPNG(root, "candle/Data/Masks/Anomaly/000.png")
        try writeTestPNG(root, "capsules/Data/Images/Normal/0000.JPG")
        try writeTestText(root, "split_csv/1cls.csv", """
            object,split,label,image,mask
            candle,train,normal,candle/Data/Images/Normal/0001.JPG,
            candle,train,normal,candle/Data/Images/Normal/0000.JPG,
            candle,test,normal,candle/Data/Images/Normal/0002.JPG,
            candle,test,anomaly,candle/Data/Images/Anomaly/000.JPG,candle/Data/Masks/Anomaly/000.png
            candle,test,anomaly,candle/Data/Images/Anomaly/001.JPG,candle/Data/Masks/Anomaly/001.png
            candle,test,normal,candle/Data/Images/Normal/0003.JPG,
            capsules,test,normal,capsules/Data/Images/Normal/0000.JPG,

            """)
        return root
    }

    func testVisAWithTheSplitFile() throws {
        let visa = try makeVisARoot()
        let root = visa.appendingPathComponent("candle")
        XCTAssertEqual(try DatasetLayout.detect(root), .visa)
        let dataset = try read(root)
        XCTAssertEqual(dataset.layout, .visa)
        XCTAssertEqual(dataset.className, "candle")
        XCTAssertEqual(dataset.items.map(\.relativePath),
                       ["Data/Images/Anomaly/000.JPG", "Data/Images/Anomaly/001.JPG", "Data/Images/Normal/0002.JPG"])
        XCTAssertEqual(dataset.items.map(\.label), [1, 1, 0])
        XCTAssertEqual(dataset.items.map(\.defectType), ["anomaly", "anomaly", "good"])
        XCTAssertEqual(dataset.items.map { $0.maskURL?.path },
                       [root.appendingPathComponent("Data/Masks/Anomaly/000.png").path, nil, nil])
        // A row naming a missing file is a problem row, not a crash.
        XCTAssertEqual(dataset.problems.map(\.relativePath), ["Data/Images/Normal/0003.JPG"])
        guard case .missing = dataset.problems.first?.reason else { return XCTFail("\(dataset.problems)") }
        // References: the train rows in path order.
        XCTAssertEqual(try dataset.references(kShot: 2).map(\.lastPathComponent), ["0000.JPG", "0001.JPG"])
        XCTAssertThrowsError(try dataset.references(kShot: 3)) { error in
            guard case DatasetError.notEnoughReferences(_, 3, 2) = error else { return XCTFail("\(error)") }
        }
    }

    func testVisASplitFileInsideTheCategory() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("my_candle")
        try writeTestPNG(root, "Data/Images/Normal/0000.JPG")
        try writeTestPNG(root, "Data/Images/Anomaly/000.JPG")
        // Paths from the VisA root (candle/…) and an object name unlike the folder's.
        try writeTestText(root, "split_csv/1cls.csv", """
            object,split,label,image,mask
            candle,test,normal,candle/Data/Images/Normal/0000.JPG,
            candle,test,anomaly,candle/Data/Images/Anomaly/000.JPG,candle/Data/Masks/Anomaly/000.png
            """)
        let dataset = try read(root)
        XCTAssertEqual(dataset.className, "candle")
        XCTAssertEqual(dataset.items.map(\.relativePath), ["Data/Images/Anomaly/000.JPG", "Data/Images/Normal/0000.JPG"])
        XCTAssertEqual(dataset.problems, [])
    }

    func testVisASplitFileErrors() throws {
        let visa = try makeVisARoot()
        let root = visa.appendingPathComponent("candle")
        try writeTestText(visa, "split_csv/1cls.csv", "object,split,image,mask\ncandle,test,a.JPG,\n")
        XCTAssertThrowsError(try read(root)) { error in
            XCTAssertTrue("\(error)".contains("no 'label' column"), "\(error)")
        }
        try writeTestText(visa, "split_csv/1cls.csv", "object,split,label,image,mask\ncandle,test,broken,a.JPG,\n")
        XCTAssertThrowsError(try read(root)) { error in
            XCTAssertTrue("\(error)".contains("line 2: label 'broken'"), "\(error)")
        }
        try writeTestText(visa, "split_csv/1cls.csv", "object,split,label,image,mask\npcb1,test,normal,pcb1/a.JPG,\n")
        XCTAssertThrowsError(try read(root)) { error in
            XCTAssertTrue("\(error)".contains("no rows for object 'candle'"), "\(error)")
        }
    }

    func testVisAWithoutSplitFile() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("pcb1")
        for name in ["0000", "0001", "0002"] { try writeTestPNG(root, "Data/Images/Normal/\(name).JPG") }
        try writeTestPNG(root, "Data/Images/Anomaly/000.JPG")
        try writeTestPNG(root, "Data/Masks/Anomaly/000.png")
        let dataset = try read(root)
        XCTAssertEqual(dataset.layout, .visa)
        XCTAssertEqual(dataset.className, "pcb1")
        XCTAssertEqual(dataset.items.map(\.label), [1, 0, 0, 0])
        XCTAssertEqual(dataset.items[0].maskURL?.path, root.appendingPathComponent("Data/Masks/Anomaly/000.png").path)
        // References come from Normal, which is also scored: they are left out.
        let references = try dataset.references(kShot: 2)
        XCTAssertEqual(references.map(\.lastPathComponent), ["0000.JPG", "0001.JPG"])
        XCTAssertEqual(dataset.items(excludingReferences: references).map(\.relativePath),
                       ["Data/Images/Anomaly/000.JPG", "Data/Images/Normal/0002.JPG"])
    }

    func testVisAAsAnomalibConvertsItIsTheMVTecLayout() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("visa_pytorch/candle")
        try writeTestPNG(root, "train/good/0000.JPG")
        try writeTestPNG(root, "test/good/0002.JPG")
        try writeTestPNG(root, "test/bad/000.JPG")
        try writeTestPNG(root, "ground_truth/bad/000.png")
        let dataset = try read(root)
        XCTAssertEqual(dataset.layout, .mvtec)
        XCTAssertEqual(dataset.className, "candle")
        XCTAssertEqual(dataset.items.map(\.defectType), ["bad", "good"])
        XCTAssertEqual(dataset.items[0].maskURL?.lastPathComponent, "000.png")
    }

    // MARK: MVTec AD details

    func testMVTecDefectTypesAndASpecialFileAsMaskIsNotUsed() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("screw")
        try writeTestPNG(root, "train/good/000.png")
        try writeTestPNG(root, "test/good/000.png")
        try writeTestPNG(root, "test/thread_top/000.png")
        try writeTestPNG(root, "test/loose.png")
        try makeFIFO(root, "ground_truth/thread_top/000_mask.png")
        try writeTestPNG(root, "ground_truth/thread_top/000.png")
        let dataset = try read(root)
        XCTAssertEqual(dataset.items.map(\.relativePath), ["test/good/000.png", "test/loose.png", "test/thread_top/000.png"])
        XCTAssertEqual(dataset.items.map(\.defectType), ["good", nil, "thread_top"])
        XCTAssertEqual(dataset.items.map(\.label), [0, 1, 1])
        XCTAssertEqual(dataset.items[2].maskURL?.lastPathComponent, "000.png", "the FIFO named 000_mask.png is passed over")
    }

    // MARK: folder layout

    func makeFolderDataset() throws -> URL {
        let root = try temporaryOutputFolder(self).appendingPathComponent("custom")
        for name in ["a", "b", "c"] { try writeTestPNG(root, "good/\(name).png") }
        try writeTestPNG(root, "defects/e.png")
        try writeTestPNG(root, "defects/scratch/d.jpg")
        try writeTestPNG(root, "defects/masks/e.png")        // masks nested in the abnormal folder
        try writeTestPNG(root, "defects/masks/scratch/d_mask.png")
        try writeTestPNG(root, "good_test/t.png")
        return root
    }

    func testFolderLayout() throws {
        let root = try makeFolderDataset()
        let dirs = FolderLayoutDirs(normalDir: "good", abnormalDir: "defects", maskDir: "defects/masks")
        let dataset = try read(root, DatasetOptions(folder: dirs))
        XCTAssertEqual(dataset.layout, .folder)
        XCTAssertEqual(dataset.className, "object")
        XCTAssertEqual(dataset.items.map(\.relativePath),
                       ["defects/e.png", "defects/scratch/d.jpg", "good/a.png", "good/b.png", "good/c.png"])
        XCTAssertEqual(dataset.items.map(\.label), [1, 1, 0, 0, 0])
        XCTAssertEqual(dataset.items.map(\.defectType), ["defects", "scratch", "good", "good", "good"])
        XCTAssertEqual(dataset.items.map { $0.maskURL?.path }, [
            root.appendingPathComponent("defects/masks/e.png").path,
            root.appendingPathComponent("defects/masks/scratch/d_mask.png").path, nil, nil, nil,
        ])
        let references = try dataset.references(kShot: 2)
        XCTAssertEqual(references.map(\.lastPathComponent), ["a.png", "b.png"])
        XCTAssertEqual(dataset.items(excludingReferences: references).map(\.relativePath),
                       ["defects/e.png", "defects/scratch/d.jpg", "good/c.png"])
    }

    func testFolderLayoutWithNormalTestDirAndAbsolutePaths() throws {
        let root = try makeFolderDataset()
        let dirs = FolderLayoutDirs(normalDir: root.appendingPathComponent("good").path, abnormalDir: "defects",
                                    normalTestDir: "good_test")
        let dataset = try read(root, DatasetOptions(layout: .folder, folder: dirs))
        XCTAssertEqual(dataset.items.map(\.relativePath),
                       ["defects/e.png", "defects/masks/e.png", "defects/masks/scratch/d_mask.png", "defects/scratch/d.jpg", "good_test/t.png"])
        XCTAssertTrue(dataset.items.allSatisfy { $0.maskURL == nil })
        XCTAssertEqual(try dataset.references(kShot: 3).map(\.lastPathComponent), ["a.png", "b.png", "c.png"])
    }

    func testFolderLayoutErrors() throws {
        let root = try makeFolderDataset()
        func message(_ options: DatasetOptions) -> String {
            do { _ = try read(root, options); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(DatasetOptions(layout: .folder)).contains("needs --normal-dir"))
        XCTAssertTrue(message(DatasetOptions(folder: FolderLayoutDirs(normalDir: "nope"))).contains("--normal-dir: dataset folder"))
        XCTAssertTrue(message(DatasetOptions(folder: FolderLayoutDirs(normalDir: "good", maskDir: "defects/masks"))).contains("--mask-dir needs --abnormal-dir"))
        XCTAssertTrue(message(DatasetOptions(folder: FolderLayoutDirs(normalDir: "good", abnormalDir: "good"))).contains("must be different folders"))
        XCTAssertTrue(message(DatasetOptions(layout: .mvtec, folder: FolderLayoutDirs(normalDir: "good"))).contains("belong to the folder layout"))
        let empty = root.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertTrue(message(DatasetOptions(folder: FolderLayoutDirs(normalDir: "empty"))).contains("no image files"))
    }

    // MARK: detection and forcing

    func testAmbiguousMarkersNeedALayout() throws {
        let root = try temporaryOutputFolder(self).appendingPathComponent("odd")
        try writeTestPNG(root, "train/good/000.png")
        try writeTestPNG(root, "test/good/000.png")
        try writeTestPNG(root, "test_public/good/000.png")
        XCTAssertThrowsError(try read(root)) { error in
            XCTAssertEqual(error as? DatasetError, .ambiguousLayout(folder: root.path, candidates: [.mvtec, .mvtecAD2]))
            XCTAssertTrue("\(error)".contains("choose one with --layout"), "\(error)")
        }
        XCTAssertEqual(try read(root, DatasetOptions(layout: .mvtec)).items.map(\.relativePath), ["test/good/000.png"])
        XCTAssertEqual(try read(root, DatasetOptions(layout: .mvtecAD2)).items.map(\.relativePath), ["test_public/good/000.png"])
    }

    func testForcedLayouts() throws {
        let root = try makeMVTecAD2()
        // plain: everything, train and masks included, unlabelled.
        let plain = try read(root, DatasetOptions(layout: .plain))
        XCTAssertEqual(plain.layout, .plain)
        XCTAssertEqual(plain.items.count, 9)
        XCTAssertTrue(plain.items.allSatisfy { $0.label == nil && $0.defectType == nil })
        // A layout whose folders are missing names them.
        XCTAssertThrowsError(try read(root, DatasetOptions(layout: .mvtec))) { error in
            XCTAssertEqual(error as? DatasetError, .missingFolder(root.appendingPathComponent("test").path))
        }
        XCTAssertThrowsError(try read(root, DatasetOptions(layout: .visa))) { error in
            XCTAssertEqual(error as? DatasetError, .missingFolder(root.appendingPathComponent("Data/Images").path))
        }
        XCTAssertThrowsError(try plain.references(kShot: 1)) { error in
            XCTAssertEqual(error as? DatasetError, .noReferences(layout: .plain))
            XCTAssertTrue("\(error)".contains("--reference-dir"), "\(error)")
        }
        XCTAssertEqual(try plain.references(kShot: 0), [])
    }

    func testLayoutNamesForTheCommandLine() {
        XCTAssertEqual(DatasetLayout.allCases.map(\.rawValue), ["mvtec", "mvtec-ad2", "visa", "folder", "plain", "file-list"])
        XCTAssertEqual(DatasetLayout(rawValue: "mvtec-ad2"), .mvtecAD2)
        XCTAssertEqual(DatasetLayout.allCases.filter(\.isBenchmarkCategory), [.mvtec, .mvtecAD2, .visa])
    }

    func testCSVLineSplitting() {
        XCTAssertEqual(VisASplitRow.splitCSVLine("a,b,,c"), ["a", "b", "", "c"])
        XCTAssertEqual(VisASplitRow.splitCSVLine("\"a,b\",\"say \"\"hi\"\"\",x"), ["a,b", "say \"hi\"", "x"])
        XCTAssertEqual(VisASplitRow.splitCSVLine(""), [""])
    }
}
