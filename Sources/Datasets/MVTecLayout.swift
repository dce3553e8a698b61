import Foundation

/// MVTec AD (anomalib's `make_mvtec_ad_dataset`), also the layout anomalib's VisA preparation
/// writes (`visa_pytorch/<category>/{train/good,test/{good,bad},ground_truth/bad}`):
///
///     <category>/train/good/*.png         few-shot references (first K by name)
///     <category>/test/good/*.png          scored, label 0
///     <category>/test/<defect>/*.png      scored, label 1, defect type <defect>
///     <category>/ground_truth/<defect>/<stem>_mask.png   (or <stem>.png, VisA's naming)
extension Dataset {
    package static func readMVTec(_ root: URL, scanner: DirectoryScanner) throws -> DatasetContents {
        let test = root.appendingPathComponent("test")
        guard isFolder(test) else { throw DatasetError.missingFolder(test.path) }
        let scan = try scanner.scan(test, relativePrefix: "test/")
        try requireImages(scan, in: test)
        let groundTruth = root.appendingPathComponent("ground_truth")
        return DatasetContents(className: root.lastPathComponent, scan: scan,
                               referencePool: .folder(root.appendingPathComponent("train/good"))) { image in
            labelledBySubfolder(image, under: "test/", masks: groundTruth) { stem in ["\(stem)_mask.png", "\(stem).png"] }
        }
    }

    /// The MVTec AD rule, shared with MVTec AD 2: label 0 under `good/`, 1 elsewhere (an image
    /// directly in the test folder counts as anomalous, with no defect type); an anomalous
    /// image's mask is the first of `maskNames(stem)` that is a regular file in `masks`, with
    /// `stem` the image's path under the test folder without extension.
    package static func labelledBySubfolder(_ image: ScannedImage, under prefix: String, masks: URL,
                                    maskNames: (String) -> [String]) -> DatasetItem {
        let underTest = String(image.relativePath.dropFirst(prefix.count))
        let parts = underTest.split(separator: "/", omittingEmptySubsequences: false)
        let defect = parts.count > 1 ? String(parts[0]) : nil
        if defect == "good" {
            return DatasetItem(relativePath: image.relativePath, url: image.url, label: 0, maskURL: nil, defectType: "good")
        }
        let mask = firstRegularFile(in: masks, maskNames(stem(underTest)))
        return DatasetItem(relativePath: image.relativePath, url: image.url, label: 1, maskURL: mask, defectType: defect)
    }
}
