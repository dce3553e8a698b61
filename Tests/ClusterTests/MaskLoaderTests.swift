import Foundation
import XCTest
import WinCLIP
@testable import Datasets
@testable import Outputs
import ImageInput

/// Masks against anomalib + torchvision: Tests/Fixtures/masks holds source masks and the
/// S x S masks that `read_mask(as_tensor=True)` + WinClip's `Resize((S, S), BICUBIC)` make of
/// them (written by Tools/reference/masks.py, stored as 0/255 greyscale PNGs).
final class MaskLoaderTests: XCTestCase {
    func testMatchesTorchvision() throws {
        let folder = clusterFixtures.appendingPathComponent("masks")
        for stem in ["grey37x23", "rgb29x41"] {
            for size in [7, 16, 46, 50, 240] {
                let expectedImage = try ImageLoader.load(path: folder.appendingPathComponent("\(stem).\(size).png").path)
                XCTAssertEqual([expectedImage.width, expectedImage.height], [size, size])
                let expected = stride(from: 0, to: expectedImage.pixels.count, by: 3).map { expectedImage.pixels[$0] > 0 }
                let mask = try MaskLoader.load(path: folder.appendingPathComponent("\(stem).png").path, size: size)
                XCTAssertEqual(mask.count, size * size)
                let differing = zip(mask, expected).filter { $0 != $1 }.count
                XCTAssertEqual(differing, 0, "\(stem) at \(size): \(differing) pixels differ")
            }
        }
    }

    /// 5 wide x 3 high to 3 x 2 by hand: scale 5/3 picks columns floor(0, 1.67, 3.33) = 0, 1, 3
    /// (NEAREST_EXACT would pick 0, 2, 4) and scale 3/2 picks rows floor(0, 1.5) = 0, 1 (not 0, 2).
    func testNearestIndicesByHand() {
        let mask: [Bool] = [
            true, false, true, false, true,
            false, true, false, true, false,
            true, true, false, false, false,
        ]
        XCTAssertEqual(MaskLoader.resizeNearest(mask, width: 5, height: 3, outWidth: 3, outHeight: 2), [
            true, false, false,
            false, true, true,
        ])
        // 3 -> 7 upsampling: floor(d * 3/7) = 0 0 0 1 1 2 2.
        XCTAssertEqual((0..<7).map { MaskLoader.sourceIndex($0, inSize: 3, outSize: 7) }, [0, 0, 0, 1, 1, 2, 2])
        // Never past the last row, whatever the float rounding.
        for n in 1...300 { XCTAssertEqual(MaskLoader.sourceIndex(n - 1, inSize: 240, outSize: n) < 240, true) }
    }

    /// Pillow's convert("L") then > 0: L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16.
    func testBinariseUsesPillowLuma() {
        let pixels: [(UInt8, UInt8, UInt8, Bool)] = [
            (0, 0, 0, false), (0, 0, 1, false), (1, 0, 0, false), (0, 1, 0, true), (2, 0, 0, true),
            (1, 0, 1, false), (0, 0, 4, false), (0, 0, 5, true), (255, 255, 255, true), (1, 1, 1, true),
        ]
        let image = RGBImage(width: pixels.count, height: 1, pixels: pixels.flatMap { [$0.0, $0.1, $0.2] })
        XCTAssertEqual(MaskLoader.binarise(image), pixels.map(\.3))
    }

    func testMaskForItems() throws {
        let root = try temporaryOutputFolder(self)
        let maskURL = root.appendingPathComponent("m.png")
        try PNGEncoder.encodeGrey([0, 255, 255, 0], width: 2, height: 2).write(to: maskURL)
        let image = root.appendingPathComponent("i.png")
        let good = DatasetItem(relativePath: "test/good/i.png", url: image, label: 0, maskURL: nil)
        XCTAssertEqual(try MaskLoader.mask(for: good, size: 3), MaskLoader.empty(size: 3))
        XCTAssertEqual(MaskLoader.empty(size: 3), [Bool](repeating: false, count: 9))
        let bad = DatasetItem(relativePath: "test/x/i.png", url: image, label: 1, maskURL: maskURL)
        XCTAssertEqual(try MaskLoader.mask(for: bad, size: 4), [
            false, false, true, true,
            false, false, true, true,
            true, true, false, false,
            true, true, false, false,
        ])
        let noMask = DatasetItem(relativePath: "test/x/j.png", url: image, label: 1, maskURL: nil)
        XCTAssertNil(try MaskLoader.mask(for: noMask, size: 4))
        let unlabelled = DatasetItem(relativePath: "j.png", url: image, label: nil, maskURL: nil)
        XCTAssertNil(try MaskLoader.mask(for: unlabelled, size: 4))
    }
}
