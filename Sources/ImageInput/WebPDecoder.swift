import CImageShim
import Foundation

/// WebP decoding with libwebp, matching Pillow's `Image.open(p).convert("RGB")`: lossy and
/// lossless, with or without alpha; alpha is dropped without compositing (the colour stored under
/// a transparent pixel is kept, as Pillow keeps it); an animation gives its first frame as
/// libwebp's animation decoder composes it (Pillow's decoder). Lossy pixels depend on libwebp's
/// YUV-to-RGB conversion, which Pillow's bundled libwebp may round differently from the system's
/// (see ImageTests for the measured difference).
public enum WebPDecoder {
    public static func decode(_ data: Data, path: String = "<memory>", options: ImageDecodeOptions = ImageDecodeOptions()) throws -> RGBImage {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> RGBImage in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count > 0 else {
                throw ImageError(path: path, reason: .empty, detail: "the file is empty")
            }
            var header = cis_webp_header()
            let status = cis_webp_read_header(base, raw.count, &header)
            guard status == 0 else {
                throw ImageError(path: path, reason: .corrupt, detail: "invalid WebP header (\(statusName(status)))")
            }
            let width = Int(header.width), height = Int(header.height)
            try ImageLoader.checkSize(width: width, height: height, maxPixels: options.maxPixels, path: path, format: "WebP")
            var pixels = [UInt8](repeating: 0, count: width * height * 3)
            let decoded = pixels.withUnsafeMutableBufferPointer {
                cis_webp_decode_rgb(base, raw.count, $0.baseAddress!, width * 3, header.width, header.height)
            }
            guard decoded == 0 else {
                throw ImageError(path: path, reason: .corrupt,
                                 detail: "corrupt or truncated WebP image data (\(decoded > 1 ? statusName(decoded) : "libwebp error"))")
            }
            return RGBImage(width: width, height: height, pixels: pixels)
        }
    }

    /// libwebp's `VP8StatusCode` names.
    private static func statusName(_ status: Int32) -> String {
        switch status {
        case 1: return "out of memory"
        case 2: return "invalid parameter"
        case 3: return "bitstream error"
        case 4: return "unsupported feature"
        case 5: return "suspended"
        case 6: return "user abort"
        case 7: return "not enough data: the file is truncated"
        default: return "status \(status)"
        }
    }
}
