import CImageShim
import CLibJPEG
import Foundation

/// JPEG decoding with libjpeg-turbo, matching Pillow's `Image.open(p).convert("RGB")`:
/// YCbCr and RGB JPEGs (baseline or progressive) decode to RGB with libjpeg's defaults (islow IDCT,
/// fancy upsampling) as Pillow does; greyscale JPEGs are replicated to three channels. CMYK/YCCK
/// JPEGs are rejected. EXIF orientation is not applied (neither does `convert`). Pixels can differ
/// from Pillow's by the rounding differences between libjpeg-turbo versions (Pillow bundles its own).
/// libjpeg's longjmp-based errors are caught in the CImageShim C target.
public enum JPEGDecoder {
    public static func decode(_ data: Data, path: String = "<memory>", options: ImageDecodeOptions = ImageDecodeOptions()) throws -> RGBImage {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> RGBImage in
            guard let base = raw.baseAddress, raw.count > 0 else {
                throw ImageError(path: path, reason: .empty, detail: "the file is empty")
            }
            guard let decoder = cis_jpeg_new(base.assumingMemoryBound(to: UInt8.self), raw.count) else {
                throw ImageError(path: path, reason: .corrupt, detail: "out of memory creating the JPEG decoder")
            }
            defer { cis_jpeg_free(decoder) }
            func failure(_ what: String) -> ImageError {
                let message = String(cString: cis_jpeg_error(decoder))
                return ImageError(path: path, reason: .corrupt, detail: "\(what): \(message.isEmpty ? "libjpeg error" : message)")
            }

            var header = cis_jpeg_header()
            guard cis_jpeg_read_header(decoder, &header) == 0 else { throw failure("invalid JPEG header") }
            let width = Int(header.width), height = Int(header.height)
            try ImageLoader.checkSize(width: width, height: height, maxPixels: options.maxPixels, path: path, format: "JPEG")

            let space = UInt32(bitPattern: header.color_space)
            switch space {
            case JCS_YCbCr.rawValue, JCS_RGB.rawValue:
                guard header.num_components == 3 else { throw unsupported(header, path) }
                var pixels = [UInt8](repeating: 0, count: width * height * 3)
                let status = pixels.withUnsafeMutableBufferPointer {
                    cis_jpeg_read_rows(decoder, Int32(bitPattern: JCS_RGB.rawValue), $0.baseAddress!, width * 3)
                }
                guard status == 0 else { throw failure("corrupt or truncated JPEG image data") }
                return RGBImage(width: width, height: height, pixels: pixels)
            case JCS_GRAYSCALE.rawValue:
                guard header.num_components == 1 else { throw unsupported(header, path) }
                // Each grey row is decoded into the start of its RGB row and widened in place,
                // from the right so that no grey sample is overwritten before it is read.
                var pixels = [UInt8](repeating: 0, count: width * height * 3)
                let status = pixels.withUnsafeMutableBufferPointer {
                    cis_jpeg_read_rows(decoder, Int32(bitPattern: JCS_GRAYSCALE.rawValue), $0.baseAddress!, width * 3)
                }
                guard status == 0 else { throw failure("corrupt or truncated JPEG image data") }
                pixels.withUnsafeMutableBufferPointer { buffer in
                    for y in 0..<height {
                        let row = buffer.baseAddress! + y * width * 3
                        for x in stride(from: width - 1, through: 0, by: -1) {
                            let v = row[x]
                            row[3 * x] = v; row[3 * x + 1] = v; row[3 * x + 2] = v
                        }
                    }
                }
                return RGBImage(width: width, height: height, pixels: pixels)
            default:
                throw unsupported(header, path)
            }
        }
    }

    private static func unsupported(_ header: cis_jpeg_header, _ path: String) -> ImageError {
        let space = UInt32(bitPattern: header.color_space)
        let name: String
        switch space {
        case JCS_CMYK.rawValue: name = "CMYK"
        case JCS_YCCK.rawValue: name = "YCCK (Adobe CMYK)"
        case JCS_GRAYSCALE.rawValue: name = "greyscale"
        case JCS_YCbCr.rawValue: name = "YCbCr"
        case JCS_RGB.rawValue: name = "RGB"
        default: name = "unknown"
        }
        return ImageError(path: path, reason: .unsupported,
                          detail: "unsupported JPEG colour space \(name) with \(header.num_components) components (only greyscale, YCbCr and RGB JPEGs are supported)")
    }
}
