import Foundation
import XCTest
@testable import Cluster
import Protocol
import WinCLIP

/// A fresh folder under the system temp dir, removed when the test ends.
func temporaryOutputFolder(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("ClusterTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// A small real PNG (written with the product's encoder) at `relative` under `root`.
@discardableResult
func writeTestPNG(_ root: URL, _ relative: String, width: Int = 4, height: Int = 3, seed: UInt8 = 0) throws -> URL {
    let url = root.appendingPathComponent(relative)
    let pixels = (0..<width * height * 3).map { UInt8(truncatingIfNeeded: $0 * 7 + Int(seed)) }
    try PNGEncoder.write(RGBImage(width: width, height: height, pixels: pixels), to: url)
    return url
}

func writeTestText(_ root: URL, _ relative: String, _ text: String = "not an image") throws {
    let url = root.appendingPathComponent(relative)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: url)
}

/// Test fixtures in the source tree (Tests/Fixtures), found from this file's path.
let clusterFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures")

func hexBytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    return stride(from: 0, to: digits.count - 1, by: 2).map { i in
        UInt8(String(decoding: digits[i...i + 1], as: UTF8.self), radix: 16)!
    }
}

/// The tiny fixture model (tiny-vit-48) as the cluster tests run it.
struct TinyFixtureModel {
    let jsonPath = clusterFixtures.appendingPathComponent("tiny-vit-48.json").path
    let weightsPath = clusterFixtures.appendingPathComponent("tiny-vit-48.safetensors").path
    let config: ModelConfig
    let model: CLIPModel
    let fingerprint: String

    init() throws {
        config = try ModelConfig.load(jsonPath)
        model = try CLIPModel(config: config, weightsPath: weightsPath)
        fingerprint = try ModelFingerprint.compute(config: config, weightsPath: weightsPath)
    }
}
