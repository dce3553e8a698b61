import Foundation
import ImageInput

/// Ground-truth masks as anomalib's evaluation sees them, row-major `[Bool]` of S x S:
///
/// 1. `read_mask(path, as_tensor=True)` (anomalib/data/utils/image.py):
///    `Image.open(path).convert("L")`, then `> 0`. Pillow's RGB to L conversion is
///    `(R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16`, so a pixel is set when that is >= 1.
/// 2. WinClip's pre-processor `Resize((240, 240), antialias=True, interpolation=BICUBIC)`, which
///    torchvision v2 applies to the `tv_tensors.Mask` with NEAREST (`resize_mask` coerces every
///    mode other than NEAREST / NEAREST_EXACT to NEAREST), i.e. torch's legacy nearest index
///    `min(floor(dst * Float32(in / out)), in - 1)`, not NEAREST_EXACT's `floor((dst + 0.5) * scale)`.
public enum MaskLoader {
    /// The resized mask of an item: all false for a normal image, the loaded mask when the item
    /// has one, nil when the truth is unknown (unlabelled, or an anomalous image without a mask).
    public static func mask(for item: DatasetItem, size: Int) throws -> [Bool]? {
        if item.label == 0 { return empty(size: size) }
        guard let url = item.maskURL else { return nil }
        return try load(path: url.path, size: size)
    }

    public static func load(path: String, size: Int) throws -> [Bool] {
        let image = try ImageLoader.load(path: path)
        return resizeNearest(binarise(image), width: image.width, height: image.height,
                             outWidth: size, outHeight: size)
    }

    public static func empty(size: Int) -> [Bool] {
        [Bool](repeating: false, count: size * size)
    }

    /// Pillow's `convert("L")` followed by `> 0`.
    public static func binarise(_ image: RGBImage) -> [Bool] {
        (0..<image.width * image.height).map { i in
            let r = Int(image.pixels[3 * i]), g = Int(image.pixels[3 * i + 1]), b = Int(image.pixels[3 * i + 2])
            return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16 > 0
        }
    }

    /// torch `interpolate(mode="nearest")` of one plane.
    public static func resizeNearest(_ mask: [Bool], width: Int, height: Int, outWidth: Int, outHeight: Int) -> [Bool] {
        precondition(mask.count == width * height, "mask of \(mask.count) values for \(width)x\(height)")
        let xs = (0..<outWidth).map { sourceIndex($0, inSize: width, outSize: outWidth) }
        let ys = (0..<outHeight).map { sourceIndex($0, inSize: height, outSize: outHeight) }
        var out = [Bool](repeating: false, count: outWidth * outHeight)
        for (oy, y) in ys.enumerated() {
            for (ox, x) in xs.enumerated() {
                out[oy * outWidth + ox] = mask[y * width + x]
            }
        }
        return out
    }

    /// ATen's `nearest_neighbor_compute_source_index`, with the scale and product in float32.
    package static func sourceIndex(_ dst: Int, inSize: Int, outSize: Int) -> Int {
        let scale = Float(inSize) / Float(outSize)
        return min(Int((Float(dst) * scale).rounded(.down)), inSize - 1)
    }
}
