import CImageShim
import CLibTIFF
import Foundation

/// TIFF decoding with libtiff (any compression it decodes: none, LZW, Deflate, PackBits, ...,
/// with predictors; strips or tiles; either byte order and fill order), producing the pixels of
/// Pillow's `Image.open(p).convert("RGB")` for the first image of the file, as Pillow's
/// `TiffImagePlugin` maps each layout to a mode and raw mode:
/// - bilevel, 2/4/8-bit grey (min-is-black, or min-is-white inverted); 2-bit grey scales by 85,
///   4-bit by 17; grey with an unspecified or unassociated extra sample keeps the grey;
/// - 16-bit grey (`I;16`): clipped, min(v, 255), as Pillow's `I;16` conversion does, or the high
///   byte with `ImageDecodeOptions.sixteenBit == .scale`; like Pillow, min-is-white 16-bit grey
///   is not inverted, and big-endian min-is-white 16-bit grey is refused;
/// - 8- and 16-bit RGB with up to three unassociated or unspecified extra samples (alpha dropped
///   without compositing; 16-bit keeps the high byte of each sample, Pillow's `RGB;16N`),
///   contiguous or in separate planes;
/// - 1/2/4/8-bit palette images (the 16-bit ColorMap's high bytes), with an optional extra sample;
/// - the Orientation tag is applied (Pillow's `exif_transpose` on load).
/// Refused as unsupported: premultiplied (associated) alpha, CMYK, YCbCr/JPEG, CIELab, signed
/// 16-bit and floating-point samples, and other layouts Pillow has no mode for.
public enum TIFFDecoder {
    public static func decode(_ data: Data, path: String = "<memory>", options: ImageDecodeOptions = ImageDecodeOptions()) throws -> RGBImage {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> RGBImage in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count > 0 else {
                throw ImageError(path: path, reason: .empty, detail: "the file is empty")
            }
            guard let decoder = cis_tiff_new(base, raw.count) else {
                throw ImageError(path: path, reason: .corrupt, detail: "out of memory creating the TIFF decoder")
            }
            defer { cis_tiff_free(decoder) }
            return try decode(decoder, path: path, options: options)
        }
    }

    /// Decodes an open regular file of `size` bytes through its descriptor (read with `pread`,
    /// never mapped), so that the file is never held whole: TIFFs from line-scan cameras are
    /// often large and uncompressed. The caller keeps `fileDescriptor` open.
    public static func decode(fileDescriptor: Int32, size: Int, path: String, options: ImageDecodeOptions = ImageDecodeOptions()) throws -> RGBImage {
        guard size > 0 else { throw ImageError(path: path, reason: .empty, detail: "the file is empty") }
        guard let decoder = cis_tiff_new_fd(fileDescriptor, size) else {
            throw ImageError(path: path, reason: .corrupt, detail: "out of memory creating the TIFF decoder")
        }
        defer { cis_tiff_free(decoder) }
        return try decode(decoder, path: path, options: options)
    }

    private static func decode(_ decoder: OpaquePointer, path: String, options: ImageDecodeOptions) throws -> RGBImage {
        func failure(_ what: String) -> ImageError {
            let message = String(cString: cis_tiff_error(decoder))
            return ImageError(path: path, reason: .corrupt, detail: "\(what): \(message.isEmpty ? "libtiff error" : message)")
        }
        var header = cis_tiff_header()
        guard cis_tiff_read_header(decoder, &header) == 0 else { throw failure("invalid TIFF header") }
        guard header.photometric == header.libtiff_photometric || (header.photometric == 0 && header.libtiff_photometric == -1) else {
            // libtiff falls back to grey or RGB when a palette image's ColorMap cannot be read;
            // Pillow refuses the file.
            throw ImageError(path: path, reason: .corrupt, detail: header.photometric == 3
                             ? "TIFF palette image whose ColorMap is missing or cannot be read (truncated?)"
                             : "TIFF PhotometricInterpretation \(header.photometric) read as \(header.libtiff_photometric)")
        }
        let width = Int(header.width), height = Int(header.height)
        try ImageLoader.checkSize(width: width, height: height, maxPixels: options.maxPixels, path: path, format: "TIFF")
        let layout = try Layout(header, path: path)

        var palette = [UInt8](repeating: 0, count: 256 * 3)
        if case .palette(let bits, _) = layout {
            let entries = 1 << bits
            var red = [UInt16](repeating: 0, count: entries), green = red, blue = red
            guard cis_tiff_colormap(decoder, &red, &green, &blue, entries) == 0 else { throw failure("invalid TIFF palette") }
            for i in 0..<entries {  // Pillow: value // 256
                palette[3 * i] = UInt8(red[i] >> 8); palette[3 * i + 1] = UInt8(green[i] >> 8); palette[3 * i + 2] = UInt8(blue[i] >> 8)
            }
        }

        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let planes = layout.planes(header)
        let unpack = Unpacker(layout: layout, palette: palette, sixteenBit: options.sixteenBit, planar: planes > 1)
        if header.tiled != 0 {
            let tileWidth = Int(header.tile_width), tileLength = Int(header.tile_length)
            let tileSize = Int(header.tile_size), tileRowSize = Int(header.tile_row_size)
            guard tileWidth > 0, tileLength > 0, tileSize >= tileRowSize * tileLength,
                  tileRowSize >= (tileWidth * layout.bitsPerPixel(planar: planes > 1) + 7) / 8 else {
                throw ImageError(path: path, reason: .corrupt, detail: "inconsistent TIFF tile layout (\(tileWidth)x\(tileLength) tiles of \(tileSize) bytes)")
            }
            var tile = [UInt8](repeating: 0, count: tileSize)
            try tile.withUnsafeMutableBufferPointer { tile in
                try pixels.withUnsafeMutableBufferPointer { dst in
                    for plane in 0..<planes {
                        for y0 in stride(from: 0, to: height, by: tileLength) {
                            for x0 in stride(from: 0, to: width, by: tileWidth) {
                                guard cis_tiff_read_tile(decoder, tile.baseAddress!, UInt32(x0), UInt32(y0), Int32(plane)) == 0 else {
                                    throw failure("corrupt or truncated TIFF tile")
                                }
                                let columns = min(tileWidth, width - x0)
                                for row in 0..<min(tileLength, height - y0) {
                                    unpack.row(tile.baseAddress! + row * tileRowSize, into: dst.baseAddress! + ((y0 + row) * width + x0) * 3,
                                               count: columns, plane: plane)
                                }
                            }
                        }
                    }
                }
            }
        } else {
            let lineSize = Int(header.scanline_size)
            guard lineSize >= (width * layout.bitsPerPixel(planar: planes > 1) + 7) / 8 else {
                throw ImageError(path: path, reason: .corrupt, detail: "inconsistent TIFF row size (\(lineSize) bytes for \(width) pixels)")
            }
            // Row by row: only one decoded row is held besides the result.
            var line = [UInt8](repeating: 0, count: lineSize)
            try line.withUnsafeMutableBufferPointer { line in
                try pixels.withUnsafeMutableBufferPointer { dst in
                    for plane in 0..<planes {
                        for y in 0..<height {
                            guard cis_tiff_read_scanline(decoder, line.baseAddress!, UInt32(y), Int32(plane)) == 0 else {
                                throw failure("corrupt or truncated TIFF image data")
                            }
                            unpack.row(line.baseAddress!, into: dst.baseAddress! + y * width * 3, count: width, plane: plane)
                        }
                    }
                }
            }
        }
        let image = RGBImage(width: width, height: height, pixels: pixels)
        return Int(header.orientation) == 1 ? image : oriented(image, orientation: Int(header.orientation))
    }

    /// Pillow's modes and raw modes for the layouts supported here.
    enum Layout: Equatable {
        /// Bilevel ("1", "1;I"): set bits are white unless inverted.
        case bilevel(inverted: Bool)
        /// 2/4/8-bit grey ("L;2", "L;4I", "L", "LX", "LA", ...): `samples` per pixel, the first is grey.
        case grey(bits: Int, inverted: Bool, samples: Int)
        /// 16-bit grey ("I;16", "I;16B"), one sample, native byte order from libtiff.
        case grey16
        /// Palette ("P;1" ... "P", "PX", "PA"): `samples` per pixel, the first is the index.
        case palette(bits: Int, samples: Int)
        /// RGB with extra samples ("RGB", "RGBX", "RGBA", "RGB;16N", ...): 8 or 16 bits per sample.
        case rgb(bits: Int, samples: Int)

        init(_ h: cis_tiff_header, path: String) throws {
            let photometric = Int(h.photometric), bits = Int(h.bits_per_sample), samples = Int(h.samples_per_pixel)
            let extra = (0..<min(Int(h.extra_count), 8)).map { i in withUnsafeBytes(of: h.extra) { $0.load(fromByteOffset: i * MemoryLayout<Int32>.stride, as: Int32.self) } }.map(Int.init)
            let format = Int(h.sample_format)
            func refuse(_ why: String) -> ImageError {
                ImageError(path: path, reason: .unsupported,
                           detail: "unsupported TIFF (\(why); photometric \(photometric), \(samples) samples of \(bits) bits, extra samples \(extra), sample format \(format))")
            }
            // Pillow drops unspecified extra samples of planar images.
            var kept = samples
            var extras = extra
            if Int(h.planar_config) == 2, !extra.isEmpty, extra.max() == 0 {
                kept -= extra.count
                extras = []
            }
            switch photometric {
            case 0, 1:  // min-is-white, min-is-black
                let inverted = photometric == 0
                if kept == 1, extras.isEmpty {
                    switch (bits, format) {
                    case (1, 1): self = .bilevel(inverted: inverted)
                    case (2, 1), (4, 1), (8, 1): self = .grey(bits: bits, inverted: inverted, samples: 1)
                    case (8, 2) where !inverted: self = .grey(bits: 8, inverted: false, samples: 1)  // Pillow reads signed as "L"
                    case (16, 1):
                        guard !(inverted && h.big_endian != 0) else { throw refuse("big-endian min-is-white 16-bit grey has no Pillow mode") }
                        self = .grey16
                    default: throw refuse("no Pillow mode for this grey layout")
                    }
                } else if kept == 2, bits == 8, format == 1, !inverted, extras == [0] || extras == [2] {
                    self = .grey(bits: 8, inverted: false, samples: 2)
                } else if extras.contains(1) {
                    throw refuse("premultiplied (associated) alpha")
                } else {
                    throw refuse("no Pillow mode for this grey layout")
                }
            case 2:  // RGB
                guard format == 1 else { throw refuse("only unsigned integer samples are supported") }
                if extras.contains(1) { throw refuse("premultiplied (associated) alpha") }
                switch bits {
                case 8:
                    // Pillow: RGB, RGBA (four samples without ExtraSamples), RGBX, RGBXX, RGBXXX,
                    // RGBA, RGBAX, RGBAXX, and Corel Draw's 999.
                    let withExtras: [[Int]] = [[0], [0, 0], [0, 0, 0], [2], [2, 0], [2, 0, 0], [999]]
                    guard extras.isEmpty ? (kept == 3 || kept == 4) : (withExtras.contains(extras) && kept == 3 + extras.count) else {
                        throw refuse("no Pillow mode for this RGB layout")
                    }
                case 16:
                    guard (kept == 3 && extras.isEmpty) || (kept == 4 && (extras.isEmpty || extras == [0] || extras == [2])) else {
                        throw refuse("no Pillow mode for this 16-bit RGB layout")
                    }
                default: throw refuse("only 8- and 16-bit RGB is supported")
                }
                self = .rgb(bits: bits, samples: kept)
            case 3:  // palette
                guard format == 1 else { throw refuse("only unsigned palette indices are supported") }
                if kept == 1, extras.isEmpty, [1, 2, 4, 8].contains(bits) {
                    self = .palette(bits: bits, samples: 1)
                } else if kept == 2, bits == 8, extras == [0] || extras == [2] {
                    self = .palette(bits: 8, samples: 2)
                } else {
                    throw refuse("no Pillow mode for this palette layout")
                }
                guard h.has_colormap != 0 else {
                    throw ImageError(path: path, reason: .corrupt, detail: "TIFF palette image without a ColorMap")
                }
            case 5: throw refuse("CMYK is not supported")
            case 6: throw refuse("YCbCr (JPEG-compressed) TIFF is not supported")
            case 8, 9, 10: throw refuse("CIELab is not supported")
            default: throw refuse("unknown photometric interpretation")
            }
            if Int(h.planar_config) == 2, kept > 1, !(photometric == 2) {
                throw refuse("separate planes are supported for RGB only")
            }
        }

        /// Sample planes to read: the three colour planes of planar RGB, else one.
        func planes(_ h: cis_tiff_header) -> Int {
            if Int(h.planar_config) == 2, case .rgb = self { return 3 }
            return 1
        }

        /// Bits of one pixel in one plane's rows.
        func bitsPerPixel(planar: Bool) -> Int {
            switch self {
            case .bilevel: return 1
            case .grey(let bits, _, let samples): return bits * samples
            case .grey16: return 16
            case .palette(let bits, let samples): return bits * samples
            case .rgb(let bits, let samples): return bits * (planar ? 1 : samples)
            }
        }
    }

    /// Turns decoded rows (samples in native byte order) into RGB.
    struct Unpacker {
        let layout: Layout
        let palette: [UInt8]
        let sixteenBit: SixteenBitMode
        let planar: Bool

        init(layout: Layout, palette: [UInt8], sixteenBit: SixteenBitMode, planar: Bool) {
            self.layout = layout
            self.palette = palette
            self.sixteenBit = sixteenBit
            self.planar = planar
        }

        /// `count` pixels of plane `plane` from `src` into RGB pixels at `dst`.
        func row(_ src: UnsafePointer<UInt8>, into dst: UnsafeMutablePointer<UInt8>, count: Int, plane: Int) {
            switch layout {
            case .bilevel(let inverted):
                for x in 0..<count {
                    let set = (src[x >> 3] >> (7 - UInt8(x & 7))) & 1 == 1
                    let v: UInt8 = set != inverted ? 255 : 0
                    dst[3 * x] = v; dst[3 * x + 1] = v; dst[3 * x + 2] = v
                }
            case .grey(let bits, let inverted, let samples):
                let scale = bits == 2 ? 85 : bits == 4 ? 17 : 1
                let perByte = 8 / bits, mask = (1 << bits) - 1
                for x in 0..<count {
                    var v: Int
                    if bits == 8 {
                        v = Int(src[x * samples])
                    } else {
                        v = (Int(src[x / perByte]) >> (8 - bits * (x % perByte + 1)) & mask) * scale
                    }
                    if inverted { v = 255 - v }
                    dst[3 * x] = UInt8(v); dst[3 * x + 1] = UInt8(v); dst[3 * x + 2] = UInt8(v)
                }
            case .grey16:
                let raw = UnsafeRawPointer(src)
                for x in 0..<count {
                    let v = sixteenBit.eightBit(Int(raw.loadUnaligned(fromByteOffset: 2 * x, as: UInt16.self)))
                    dst[3 * x] = v; dst[3 * x + 1] = v; dst[3 * x + 2] = v
                }
            case .palette(let bits, let samples):
                palette.withUnsafeBufferPointer { palette in
                    let perByte = 8 / bits, mask = (1 << bits) - 1
                    for x in 0..<count {
                        let index = bits == 8 ? Int(src[x * samples]) : Int(src[x / perByte]) >> (8 - bits * (x % perByte + 1)) & mask
                        dst[3 * x] = palette[3 * index]; dst[3 * x + 1] = palette[3 * index + 1]; dst[3 * x + 2] = palette[3 * index + 2]
                    }
                }
            case .rgb(let bits, let samples):
                let raw = UnsafeRawPointer(src)
                if planar {
                    for x in 0..<count {
                        dst[3 * x + plane] = bits == 8 ? src[x] : UInt8(raw.loadUnaligned(fromByteOffset: 2 * x, as: UInt16.self) >> 8)
                    }
                } else if bits == 8 {
                    for x in 0..<count {
                        let p = src + x * samples
                        dst[3 * x] = p[0]; dst[3 * x + 1] = p[1]; dst[3 * x + 2] = p[2]
                    }
                } else {
                    for x in 0..<count {
                        for c in 0..<3 {
                            dst[3 * x + c] = UInt8(raw.loadUnaligned(fromByteOffset: 2 * (x * samples + c), as: UInt16.self) >> 8)
                        }
                    }
                }
            }
        }
    }

    /// Pillow's `ImageOps.exif_transpose` for TIFF Orientation values 2...8.
    static func oriented(_ image: RGBImage, orientation: Int) -> RGBImage {
        let w = image.width, h = image.height
        let swaps = orientation >= 5 && orientation <= 8
        let outW = swaps ? h : w, outH = swaps ? w : h
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<outH {
                    for x in 0..<outW {
                        // The source pixel shown at (x, y).
                        let (sx, sy): (Int, Int)
                        switch orientation {
                        case 2: (sx, sy) = (w - 1 - x, y)          // mirrored
                        case 3: (sx, sy) = (w - 1 - x, h - 1 - y)  // rotated 180
                        case 4: (sx, sy) = (x, h - 1 - y)          // flipped
                        case 5: (sx, sy) = (y, x)                  // transposed
                        case 6: (sx, sy) = (y, h - 1 - x)          // rotated 90 clockwise to view
                        case 7: (sx, sy) = (w - 1 - y, h - 1 - x)  // transversed
                        case 8: (sx, sy) = (w - 1 - y, x)          // rotated 90 counter-clockwise to view
                        default: (sx, sy) = (x, y)
                        }
                        let s = (sy * w + sx) * 3, d = (y * outW + x) * 3
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(width: outW, height: outH, pixels: out)
    }
}
