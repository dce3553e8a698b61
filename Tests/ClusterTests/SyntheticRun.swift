import Foundation
@testable import WinCLIP
@testable import Datasets
@testable import Outputs
@testable import ImageInput

/// A finished job's output folder made without a model: an MVTec-like dataset of small PNG images
/// (test/good, test/crack, test/scratch, masks under ground_truth), results.jsonl rows with
/// scores that separate the classes imperfectly, and one .npy map per image (a bright blob where
/// the mask is). Deterministic: the same count gives the same run.
struct SyntheticRun {
    let root: URL
    let output: URL
    let items: [DatasetItem]
    let writer: ResultWriter
    static let imageSize = 32
    static let mapSize = 16

    /// Every 7th anomalous image also carries an error row instead of a score, if `errors`.
    init(count: Int, in directory: URL, errors: Bool = true) throws {
        let fm = FileManager.default
        root = directory.appendingPathComponent("data")
        output = directory.appendingPathComponent("out")
        var rng = SplitMix64(seed: 42)
        var items: [DatasetItem] = []
        var rows: [(DatasetItem, Float?, [Float]?, String?)] = []
        let types = ["good", "crack", "scratch"]
        for i in 0..<count {
            let type = i % 5 < 3 ? "good" : types[1 + (i % 5 - 3)]
            let label = type == "good" ? 0 : 1
            let name = String(format: "%04d.png", i)
            let relative = "test/\(type)/\(name)"
            let url = root.appendingPathComponent(relative)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            // The image: a grey gradient with a darker square where the defect is.
            let cx = Int(rng.next() % 10) + 3, cy = Int(rng.next() % 10) + 3
            var pixels = [UInt8](repeating: 0, count: Self.imageSize * Self.imageSize * 3)
            var map = [Float](repeating: 0, count: Self.mapSize * Self.mapSize)
            var mask = [Bool](repeating: false, count: Self.imageSize * Self.imageSize)
            for y in 0..<Self.imageSize {
                for x in 0..<Self.imageSize {
                    let inDefect = label == 1 && abs(x / 2 - cx) <= 2 && abs(y / 2 - cy) <= 2
                    let v = UInt8(120 + (x + y) * 2) - (inDefect ? 70 : 0)
                    pixels[3 * (y * Self.imageSize + x)] = v
                    pixels[3 * (y * Self.imageSize + x) + 1] = v
                    pixels[3 * (y * Self.imageSize + x) + 2] = UInt8(min(255, Int(v) + 20))
                    mask[y * Self.imageSize + x] = inDefect
                }
            }
            for y in 0..<Self.mapSize {
                for x in 0..<Self.mapSize {
                    let d = Float((x - cx) * (x - cx) + (y - cy) * (y - cy))
                    let blob: Float = label == 1 ? 0.7 * Foundation.exp(-d / 6) : 0
                    map[y * Self.mapSize + x] = min(1, 0.1 + 0.2 * rng.nextUnitFloat() + blob)
                }
            }
            try PNGEncoder.write(RGBImage(width: Self.imageSize, height: Self.imageSize, pixels: pixels), to: url)
            var maskURL: URL?
            if label == 1 {
                maskURL = root.appendingPathComponent("ground_truth/\(type)/" + name.replacingOccurrences(of: ".png", with: "_mask.png"))
                try fm.createDirectory(at: maskURL!.deletingLastPathComponent(), withIntermediateDirectories: true)
                try PNGEncoder.encodeGrey(mask.map { $0 ? 255 : 0 }, width: Self.imageSize, height: Self.imageSize).write(to: maskURL!)
            }
            let item = DatasetItem(relativePath: relative, url: url, label: label, maskURL: maskURL)
            items.append(item)
            let score = min(1, max(0, Float(label == 1 ? 0.62 : 0.35) + 0.16 * rng.normal()))
            if errors && label == 1 && i % 7 == 0 {
                rows.append((item, nil, nil, "cannot load image: synthetic failure"))
            } else {
                rows.append((item, score, map, nil))
            }
        }
        self.items = items
        writer = try ResultWriter(directory: output, datasetName: "synthetic", images: items.map(\.relativePath))
        for (item, score, map, error) in rows {
            var row = ImageResult(image: item.relativePath, score: score, label: item.label, error: error)
            if let map { row.map = try writer.saveMap(map, width: Self.mapSize, height: Self.mapSize, for: item.relativePath) }
            try writer.write(row)
        }
        try writer.close()
    }
}

extension SplitMix64 {
    /// Roughly normal: the sum of 4 uniforms, centred and scaled to unit variance.
    mutating func normal() -> Float { (nextUnitFloat() + nextUnitFloat() + nextUnitFloat() + nextUnitFloat() - 2) * 1.7320508 }
}
