import Foundation
import WinCLIP

/// A picture of an anomaly map over its image:
///
/// 1. the S x S map is resized to the image's own W x H bilinearly (torch `interpolate`,
///    `align_corners=False`, as the scorer upsamples maps);
/// 2. values are clamped to [0, 1] (WinCLIP's maps are probabilities, so no per-image min-max
///    normalisation: equal colours mean equal scores across images; NaN counts as 0) and turned
///    into a colormap index with `Int(v * 255)`, truncating like `(map * 255).astype(np.uint8)`;
/// 3. coloured with OpenCV's `COLORMAP_JET`;
/// 4. blended 50/50 over the image: `(image + heat + 1) / 2` per channel (halves rounded up).
public enum HeatmapOverlay {
    public static func render(map: [Float], mapWidth: Int, mapHeight: Int, over image: RGBImage) -> RGBImage {
        precondition(map.count == mapWidth * mapHeight, "map of \(map.count) values for \(mapWidth)x\(mapHeight)")
        let resized = BilinearUpsample.resize(map, inHeight: mapHeight, inWidth: mapWidth,
                                              outHeight: image.height, outWidth: image.width)
        var pixels = image.pixels
        for (i, value) in resized.enumerated() {
            let clamped = value.isNaN ? 0 : min(max(value, 0), 1)
            let heat = jet[Int(clamped * 255)]
            for c in 0..<3 {
                pixels[3 * i + c] = UInt8((Int(pixels[3 * i + c]) + Int(heat[c]) + 1) / 2)
            }
        }
        return RGBImage(width: image.width, height: image.height, pixels: pixels)
    }

    /// OpenCV's `COLORMAP_JET` as RGB for indices 0...255. OpenCV's table is GNU Octave's
    /// `jet(256)`: with x = i / 255, red = 4x - 1.5 rising to 1 then 4.5 - 4x, green = 4x - 0.5
    /// then 3.5 - 4x, blue = 4x + 0.5 then 2.5 - 4x, each clamped to [0, 1], times 255 rounded
    /// half to even. Equal to `cv2.applyColorMap` except blue at index 159 (OpenCV: 1, here: 2,
    /// from float32 rounding in OpenCV's table interpolation).
    public static let jet: [[UInt8]] = (0..<256).map { i in
        let v = 4 * Double(i)  // 255 times 4x
        func channel(_ rising: Double, _ falling: Double) -> UInt8 {
            UInt8(min(max(min(v + rising, falling - v), 0), 255).rounded(.toNearestOrEven))
        }
        return [channel(-382.5, 1147.5), channel(-127.5, 892.5), channel(127.5, 637.5)]
    }
}
