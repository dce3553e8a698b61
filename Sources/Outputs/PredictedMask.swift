import Foundation
import WinCLIP
import AnomalyMetrics
import ImageInput

/// anomalib's `pred_mask`: the pixels whose normalised map value is above 0.5 (see
/// `ScoreNormalization`), saved as a binary PNG (8-bit grey, 0 = normal, 255 = anomalous).
public enum PredictedMask {
    /// The mask of a `mapSize` x `mapSize` map at that size, or resized bilinearly (torch
    /// `interpolate`, align_corners=False) to `outputWidth` x `outputHeight` before the decision,
    /// as anomalib decides on the map at the output size.
    public static func compute(map: [Float], mapSize: Int, decision: ScoreNormalization,
                               outputWidth: Int? = nil, outputHeight: Int? = nil) throws -> [Bool] {
        guard mapSize > 0, map.count == mapSize * mapSize else {
            throw PictureError("the anomaly map has \(map.count) values, expected \(mapSize) x \(mapSize)")
        }
        let w = outputWidth ?? mapSize, h = outputHeight ?? mapSize
        guard w > 0, h > 0 else { throw PictureError("cannot make a \(w)x\(h) mask") }
        let values = (w == mapSize && h == mapSize) ? map
            : BilinearUpsample.resize(map, inHeight: mapSize, inWidth: mapSize, outHeight: h, outWidth: w)
        return values.map(decision.isAnomalous)
    }

    /// The PNG bytes of a row-major mask.
    public static func png(_ mask: [Bool], width: Int, height: Int) throws -> Data {
        guard width > 0, height > 0, mask.count == width * height else {
            throw PictureError("a mask of \(mask.count) values is not \(width) x \(height)")
        }
        return try PNGEncoder.encodeGrey(mask.map { $0 ? 255 : 0 }, width: width, height: height)
    }

    /// Writes the mask as PNG to `url`, creating missing folders.
    public static func write(_ mask: [Bool], width: Int, height: Int, to url: URL) throws {
        let data = try png(mask, width: width, height: height)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url, options: .atomic)
    }
}

/// Small previews for the report's table, embedded in report.html as JPEG data URIs.
public enum Thumbnail {
    /// Pixels of the longer side: the report shows thumbnails at 64 CSS pixels.
    public static let defaultSize = 64
    /// About 1.2 KB for a 64-pixel heat map of a textured image (1.7 KB in base64), so that a
    /// 10,000-image report stays under 25 MB.
    public static let jpegQuality = 75

    /// `image` scaled so that its longer side is `maxSide` (antialiased bicubic), aspect kept;
    /// images already that small are returned as they are.
    public static func make(_ image: RGBImage, maxSide: Int = defaultSize) throws -> RGBImage {
        guard image.width > 0, image.height > 0 else { throw PictureError("cannot make a thumbnail of an empty image") }
        guard maxSide > 0 else { throw PictureError("thumbnail size must be positive, not \(maxSide)") }
        let longer = max(image.width, image.height)
        guard longer > maxSide else { return image }
        let w = max(1, Int((Double(image.width) * Double(maxSide) / Double(longer)).rounded()))
        let h = max(1, Int((Double(image.height) * Double(maxSide) / Double(longer)).rounded()))
        return image.resized(width: w, height: h)
    }

    /// The JPEG bytes of the thumbnail of `image`.
    public static func jpeg(of image: RGBImage, maxSide: Int = defaultSize) throws -> Data {
        try JPEGEncoder.encode(make(image, maxSide: maxSide), quality: jpegQuality)
    }
}
