import CImageShim
import CLibPNG
import Foundation

/// PNG decoding with libpng, producing exactly the pixels of Pillow's
/// `Image.open(p).convert("RGB")`:
/// - alpha (RGBA, grey+alpha) and tRNS transparency are dropped, never composited;
/// - 1-bit grey maps to 0/255, 2-bit grey to multiples of 85, 4-bit grey to multiples of 17;
/// - 16-bit RGB(A) and grey+alpha keep the high byte of each sample (Pillow's `;16B` unpackers);
/// - 16-bit grey is clipped, min(value, 255), as Pillow's `I;16` to `L` conversion does
///   (so most 16-bit grey photos come out nearly white — faithfully), unless
///   `ImageDecodeOptions.sixteenBit` is `.scale` (then the high byte);
/// - palette indices past the end of PLTE give black;
/// - gamma, colour profiles and other ancillary chunks are ignored.
/// Non-interlaced images are decoded and converted one row at a time, so that only the RGB
/// result is held whole. libpng's longjmp-based errors are caught in the CImageShim C target.
public enum PNGDecoder {
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    public static func decode(_ data: Data, path: String = "<memory>", options: ImageDecodeOptions = ImageDecodeOptions()) throws -> RGBImage {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> RGBImage in
            guard let base = raw.baseAddress, raw.count > 0 else {
                throw ImageError(path: path, reason: .empty, detail: "the file is empty")
            }
            guard let decoder = cis_png_new(base.assumingMemoryBound(to: UInt8.self), raw.count) else {
                throw ImageError(path: path, reason: .corrupt, detail: "out of memory creating the PNG decoder")
            }
            defer { cis_png_free(decoder) }
            func failure(_ what: String) -> ImageError {
                let message = String(cString: cis_png_error(decoder))
                return ImageError(path: path, reason: .corrupt, detail: "\(what): \(message.isEmpty ? "libpng error" : message)")
            }

            var header = cis_png_header()
            guard cis_png_read_header(decoder, &header) == 0 else { throw failure("invalid PNG header") }
            let width = Int(header.width), height = Int(header.height)
            try ImageLoader.checkSize(width: width, height: height, maxPixels: options.maxPixels, path: path, format: "PNG")

            let colorType = header.color_type, bitDepth = Int(header.bit_depth)
            let channels = Int(header.channels), rowBytes = Int(header.row_bytes)
            let samplesPerRow = width * channels
            guard channels >= 1, rowBytes >= samplesPerRow * (bitDepth == 16 ? 2 : 1) else {
                throw ImageError(path: path, reason: .corrupt, detail: "inconsistent PNG row layout (\(rowBytes) bytes for \(width) pixels)")
            }
            let (rawCount, overflow) = rowBytes.multipliedReportingOverflow(by: height)
            guard !overflow else {
                throw ImageError(path: path, reason: .tooLarge, detail: "PNG of \(width)x\(height) pixels is too large to decode")
            }

            // 8-bit RGB: libpng's rows are already the result.
            if colorType == PNG_COLOR_TYPE_RGB, bitDepth == 8, rowBytes == width * 3 {
                var pixels = [UInt8](repeating: 0, count: rawCount)
                let status = pixels.withUnsafeMutableBufferPointer { cis_png_read_rows(decoder, $0.baseAddress!, rowBytes) }
                guard status == 0 else { throw failure("corrupt or truncated PNG image data") }
                return RGBImage(width: width, height: height, pixels: pixels)
            }

            var pixels = [UInt8](repeating: 0, count: width * height * 3)
            let palette: [UInt8] = withUnsafeBytes(of: header.palette) { Array($0.prefix(Int(header.num_palette) * 3)) }
            let sixteenBit = options.sixteenBit
            if header.interlaced == 0 {
                var row = [UInt8](repeating: 0, count: rowBytes)
                try row.withUnsafeMutableBufferPointer { src in
                    try pixels.withUnsafeMutableBufferPointer { dst in
                        for y in 0..<height {
                            guard cis_png_read_row(decoder, src.baseAddress!) == 0 else { throw failure("corrupt or truncated PNG image data") }
                            convertRow(src: src.baseAddress!, dst: dst.baseAddress! + y * width * 3, width: width, colorType: colorType,
                                       bitDepth: bitDepth, channels: channels, palette: palette, sixteenBit: sixteenBit)
                        }
                    }
                }
                return RGBImage(width: width, height: height, pixels: pixels)
            }
            // Adam7 fills every row in every pass: the rows are held whole.
            var rows = [UInt8](repeating: 0, count: rawCount)
            let status = rows.withUnsafeMutableBufferPointer { cis_png_read_rows(decoder, $0.baseAddress!, rowBytes) }
            guard status == 0 else { throw failure("corrupt or truncated PNG image data") }
            rows.withUnsafeBufferPointer { src in
                pixels.withUnsafeMutableBufferPointer { dst in
                    for y in 0..<height {
                        convertRow(src: src.baseAddress! + y * rowBytes, dst: dst.baseAddress! + y * width * 3, width: width,
                                   colorType: colorType, bitDepth: bitDepth, channels: channels, palette: palette, sixteenBit: sixteenBit)
                    }
                }
            }
            return RGBImage(width: width, height: height, pixels: pixels)
        }
    }

    /// One row of libpng output (sub-byte samples already unpacked to bytes, 16-bit big-endian)
    /// to RGB bytes the way Pillow's PNG plugin unpacks it and `convert("RGB")` converts it.
    private static func convertRow(src: UnsafePointer<UInt8>, dst: UnsafeMutablePointer<UInt8>, width: Int,
                                   colorType: Int32, bitDepth: Int, channels: Int, palette: [UInt8], sixteenBit: SixteenBitMode) {
        switch colorType {
        case PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA:
            if bitDepth == 16 {
                let stride = 2 * channels
                for x in 0..<width {
                    let v: UInt8
                    if colorType == PNG_COLOR_TYPE_GRAY {
                        // Pillow: mode I;16, then I;16 -> L clips at 255 (or, by choice, the high byte).
                        v = sixteenBit.eightBit(Int(src[x * stride]) << 8 | Int(src[x * stride + 1]))
                    } else {
                        v = src[x * stride]  // Pillow: rawmode LA;16B keeps the high byte
                    }
                    dst[3 * x] = v; dst[3 * x + 1] = v; dst[3 * x + 2] = v
                }
            } else {
                let scale: UInt8 = bitDepth == 1 ? 255 : bitDepth == 2 ? 85 : bitDepth == 4 ? 17 : 1
                for x in 0..<width {
                    let v = src[x * channels] &* scale
                    dst[3 * x] = v; dst[3 * x + 1] = v; dst[3 * x + 2] = v
                }
            }
        case PNG_COLOR_TYPE_PALETTE:
            let count = palette.count / 3
            palette.withUnsafeBufferPointer { pal in
                for x in 0..<width {
                    let index = Int(src[x])
                    if index < count {
                        dst[3 * x] = pal[3 * index]; dst[3 * x + 1] = pal[3 * index + 1]; dst[3 * x + 2] = pal[3 * index + 2]
                    } else {
                        dst[3 * x] = 0; dst[3 * x + 1] = 0; dst[3 * x + 2] = 0  // Pillow pads the palette with black
                    }
                }
            }
        default:  // RGB, RGBA
            let stride = (bitDepth == 16 ? 2 : 1) * channels
            let step = bitDepth == 16 ? 2 : 1  // 16-bit: high byte of each sample
            for x in 0..<width {
                let p = src + x * stride
                dst[3 * x] = p[0]; dst[3 * x + 1] = p[step]; dst[3 * x + 2] = p[2 * step]
            }
        }
    }
}
