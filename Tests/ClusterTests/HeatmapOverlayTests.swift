import Foundation
import XCTest
@testable import Cluster
import WinCLIP

final class HeatmapOverlayTests: XCTestCase {
    /// `cv2.applyColorMap(np.arange(256, dtype=np.uint8)[None], cv2.COLORMAP_JET)` as RGB
    /// (OpenCV 4, opencv-python in the reference environment).
    static let openCVJet = hexBytes(
        "00008000008400008800008c00009000009400009800009c0000a00000a40000a80000ac0000b00000b40000b80000bc"
        + "0000c00000c40000c80000cc0000d00000d40000d80000dc0000e00000e40000e80000ec0000f00000f40000f80000fc"
        + "0000ff0004ff0008ff000cff0010ff0014ff0018ff001cff0020ff0024ff0028ff002cff0030ff0034ff0038ff003cff"
        + "0040ff0044ff0048ff004cff0050ff0054ff0058ff005cff0060ff0064ff0068ff006cff0070ff0074ff0078ff007cff"
        + "0080ff0084ff0088ff008cff0090ff0094ff0098ff009cff00a0ff00a4ff00a8ff00acff00b0ff00b4ff00b8ff00bcff"
        + "00c0ff00c4ff00c8ff00ccff00d0ff00d4ff00d8ff00dcff00e0ff00e4ff00e8ff00ecff00f0ff00f4ff00f8ff00fcff"
        + "02fffe06fffa0afff60efff212ffee16ffea1affe61effe222ffde26ffda2affd62effd232ffce36ffca3affc63effc2"
        + "42ffbe46ffba4affb64effb252ffae56ffaa5affa65effa262ff9e66ff9a6aff966eff9272ff8e76ff8a7aff867eff82"
        + "82ff7e86ff7a8aff768eff7292ff6e96ff6a9aff669eff62a2ff5ea6ff5aaaff56aeff52b2ff4eb6ff4abaff46beff42"
        + "c2ff3ec6ff3acaff36ceff32d2ff2ed6ff2adaff26deff22e2ff1ee6ff1aeaff16eeff12f2ff0ef6ff0afaff06feff01"
        + "fffc00fff800fff400fff000ffec00ffe800ffe400ffe000ffdc00ffd800ffd400ffd000ffcc00ffc800ffc400ffc000"
        + "ffbc00ffb800ffb400ffb000ffac00ffa800ffa400ffa000ff9c00ff9800ff9400ff9000ff8c00ff8800ff8400ff8000"
        + "ff7c00ff7800ff7400ff7000ff6c00ff6800ff6400ff6000ff5c00ff5800ff5400ff5000ff4c00ff4800ff4400ff4000"
        + "ff3c00ff3800ff3400ff3000ff2c00ff2800ff2400ff2000ff1c00ff1800ff1400ff1000ff0c00ff0800ff0400ff0000"
        + "fc0000f80000f40000f00000ec0000e80000e40000e00000dc0000d80000d40000d00000cc0000c80000c40000c00000"
        + "bc0000b80000b40000b00000ac0000a80000a40000a000009c00009800009400009000008c0000880000840000800000")

    func testJetMatchesOpenCV() {
        XCTAssertEqual(HeatmapOverlay.jet.count, 256)
        for i in 0..<256 {
            let expected = Array(Self.openCVJet[3 * i..<3 * i + 3])
            if i == 159 {
                // OpenCV's float32 table interpolation gives blue 1 where the exact value is 1.5.
                XCTAssertEqual(expected, [254, 255, 1])
                XCTAssertEqual(HeatmapOverlay.jet[i], [254, 255, 2])
            } else {
                XCTAssertEqual(HeatmapOverlay.jet[i], expected, "index \(i)")
            }
        }
    }

    func testBlendAndClamp() {
        let white = RGBImage(width: 3, height: 2, pixels: [UInt8](repeating: 255, count: 18))
        // Zero map: jet[0] = (0, 0, 128) blended over white.
        let zero = HeatmapOverlay.render(map: [0, 0, 0, 0], mapWidth: 2, mapHeight: 2, over: white)
        XCTAssertEqual(zero.width, 3)
        XCTAssertEqual(zero.height, 2)
        XCTAssertEqual(zero.pixels, [UInt8]([128, 128, 192]).repeated(6))
        // Values above 1 clamp to red (128, 0, 0); below 0 and NaN to the bottom of the map.
        let black = RGBImage(width: 2, height: 1, pixels: [UInt8](repeating: 0, count: 6))
        XCTAssertEqual(HeatmapOverlay.render(map: [7], mapWidth: 1, mapHeight: 1, over: black).pixels,
                       [64, 0, 0, 64, 0, 0])
        XCTAssertEqual(HeatmapOverlay.render(map: [-3], mapWidth: 1, mapHeight: 1, over: black).pixels,
                       [0, 0, 64, 0, 0, 64])
        XCTAssertEqual(HeatmapOverlay.render(map: [.nan], mapWidth: 1, mapHeight: 1, over: black).pixels,
                       [0, 0, 64, 0, 0, 64])
    }

    /// A 2 x 1 map [0, 1] over a 4 x 1 image: torch bilinear (align_corners=False) gives
    /// 0, 0.25, 0.75, 1 -> jet indices 0, 63, 191, 255.
    func testBilinearResize() {
        let black = RGBImage(width: 4, height: 1, pixels: [UInt8](repeating: 0, count: 12))
        let out = HeatmapOverlay.render(map: [0, 1], mapWidth: 2, mapHeight: 1, over: black)
        let expected = [0, 63, 191, 255].flatMap { HeatmapOverlay.jet[$0].map { UInt8((Int($0) + 1) / 2) } }
        XCTAssertEqual(out.pixels, expected)
    }
}

private extension Array {
    func repeated(_ count: Int) -> [Element] { (0..<count).flatMap { _ in self } }
}
