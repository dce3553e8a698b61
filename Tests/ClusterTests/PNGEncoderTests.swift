import Foundation
import XCTest
import WinCLIP
@testable import Outputs
import ImageInput

final class PNGEncoderTests: XCTestCase {
    func testRGBRoundTripThroughImageLoader() throws {
        let (width, height) = (37, 19)
        let pixels = (0..<width * height * 3).map { UInt8(truncatingIfNeeded: $0 * 31 + $0 / 7) }
        let image = RGBImage(width: width, height: height, pixels: pixels)
        let url = try temporaryOutputFolder(self).appendingPathComponent("sub/dir/rgb.png")
        try PNGEncoder.write(image, to: url)
        XCTAssertEqual(try ImageLoader.load(path: url.path), image)
    }

    func testGreyRoundTrip() throws {
        let grey: [UInt8] = [0, 1, 2, 127, 128, 254, 255, 9]
        let decoded = try ImageLoader.decode(PNGEncoder.encodeGrey(grey, width: 4, height: 2))
        XCTAssertEqual(decoded.pixels, grey.flatMap { [$0, $0, $0] })
    }

    func testOnePixel() throws {
        let image = RGBImage(width: 1, height: 1, pixels: [1, 2, 3])
        XCTAssertEqual(try ImageLoader.decode(PNGEncoder.encode(image)), image)
    }

    func testEmptyImageIsAnError() {
        XCTAssertThrowsError(try PNGEncoder.encode(RGBImage(width: 0, height: 5, pixels: [])))
    }
}
