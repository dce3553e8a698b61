import Foundation

/// MVTec AD 2 (anomalib's `make_mvtec2_dataset` with its default public test set):
///
///     <category>/train/good/*.png                 few-shot references (first K by name)
///     <category>/validation/good/*.png            not scored (anomalib's validation split)
///     <category>/test_public/good/*.png           scored, label 0
///     <category>/test_public/bad/*.png            scored, label 1, defect type "bad"
///     <category>/test_public/ground_truth/bad/<stem>_mask.png
///     <category>/test_private*/                   not scored (no ground truth)
///
/// anomalib only reads `good/` and `bad/`; any other sub-folder of `test_public/` is scored as
/// anomalous with its name as defect type (MVTec AD's rule), and a missing mask leaves the
/// item without one instead of stopping the run.
extension Dataset {
    package static func readMVTecAD2(_ root: URL, scanner: DirectoryScanner) throws -> DatasetContents {
        let test = root.appendingPathComponent("test_public")
        guard isFolder(test) else { throw DatasetError.missingFolder(test.path) }
        let scan = try scanner.scan(test, relativePrefix: "test_public/", skipping: ["ground_truth"])
        try requireImages(scan, in: test)
        let groundTruth = test.appendingPathComponent("ground_truth")
        return DatasetContents(className: root.lastPathComponent, scan: scan,
                               referencePool: .folder(root.appendingPathComponent("train/good"))) { image in
            // anomalib: `image_path.stem + "_mask" + image_path.suffix`.
            let suffix = (image.relativePath as NSString).pathExtension
            return labelledBySubfolder(image, under: "test_public/", masks: groundTruth) { stem in
                ["\(stem)_mask.\(suffix)", "\(stem)_mask.png", "\(stem).png"]
            }
        }
    }
}
