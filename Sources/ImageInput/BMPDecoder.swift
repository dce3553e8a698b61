import Foundation

/// Windows bitmap decoding (no library), producing exactly the pixels of Pillow's
/// `Image.open(p).convert("RGB")` (its `BmpImagePlugin`), for the files Pillow opens:
/// - headers: OS/2 1.x core (12 bytes, 16-bit sizes, 3-byte palette entries) and Windows
///   v3/v4/v5 and OS/2 2.x (40, 52, 56, 64, 108, 124 bytes); rows bottom-up, or top-down when
///   the height's high byte is 0xFF (Pillow's test for a negative height);
/// - 1/4/8-bit palette images, uncompressed or RLE4/RLE8 (Pillow's RLE decoder, including its
///   way of running past row ends, of skipping with deltas, and of refusing an image whose RLE
///   data ends before every pixel is set); a palette whose first entries are exactly the grey
///   ramp (or black and white for two colours) makes Pillow read the file as mode `L` (or `1`),
///   which is reproduced even where it differs from a palette lookup;
/// - 16-bit 5-5-5 (uncompressed or bit fields) and 5-6-5 (bit fields), each field scaled by
///   `v * 255 / max` rounded down; 24-bit; 32-bit, where the fourth byte (alpha or padding) is
///   dropped, as `convert("RGB")` drops alpha without compositing; the 32-bit bit-field layouts
///   Pillow knows;
/// - palette indices past the end of the palette give black (but in RLE images with a grey or
///   black-and-white palette, Pillow's mode `L`/`1` shows the index, or white for any non-zero one).
/// Other depths, compressions (embedded JPEG/PNG, Huffman) and bit-field layouts are refused as
/// unsupported, as Pillow refuses them; truncated data is refused as corrupt (Pillow's "image
/// file is truncated"). Every read is bounds-checked: malformed input gives an `ImageError`.
public enum BMPDecoder {
    public static func decode(_ data: Data, path: String = "<memory>", options: ImageDecodeOptions = ImageDecodeOptions()) throws -> RGBImage {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> RGBImage in
            try decode(bytes: raw, path: path, maxPixels: options.maxPixels)
        }
    }

    /// Pillow's raw modes: how the bytes of one pixel (or one index) are laid out.
    private enum Layout: Equatable {
        case palette(bits: Int)  // P;1, P;4, P: an index into the palette
        case bilevel             // "1": one bit per pixel, 0 or 255
        case grey                // "L": one byte per pixel
        case rgb555, rgb565      // BGR;15, BGR;16: little-endian 16-bit words
        /// 24 or 32 bits per pixel: the byte offsets of red, green and blue.
        case bytes(size: Int, red: Int, green: Int, blue: Int)

        var bitsPerPixel: Int {
            switch self {
            case .palette(let bits): return bits
            case .bilevel: return 1
            case .grey: return 8
            case .rgb555, .rgb565: return 16
            case .bytes(let size, _, _, _): return 8 * size
            }
        }
    }

    private enum Compression: Int { case raw = 0, rle8 = 1, rle4 = 2, bitfields = 3 }

    private static func decode(bytes: UnsafeRawBufferPointer, path: String, maxPixels: Int) throws -> RGBImage {
        func corrupt(_ detail: String) -> ImageError { ImageError(path: path, reason: .corrupt, detail: detail) }
        func unsupported(_ detail: String) -> ImageError { ImageError(path: path, reason: .unsupported, detail: detail) }
        let count = bytes.count
        func u16(_ at: Int) throws -> Int {
            guard at >= 0, at + 2 <= count else { throw corrupt("BMP header is truncated (\(count) bytes)") }
            return Int(bytes[at]) | Int(bytes[at + 1]) << 8
        }
        func u32(_ at: Int) throws -> Int {
            guard at >= 0, at + 4 <= count else { throw corrupt("BMP header is truncated (\(count) bytes)") }
            return Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
        }

        // File header (14 bytes), then the bitmap header whose first field is its size.
        guard count >= 2, bytes[0] == 0x42, bytes[1] == 0x4D else { throw corrupt("not a BMP file") }
        var offset = try u32(10)
        let headerSize = try u32(14)
        guard [12, 40, 52, 56, 64, 108, 124].contains(headerSize) else {
            throw unsupported("unsupported BMP header type (\(headerSize) bytes)")
        }
        guard 14 + headerSize <= count else { throw corrupt("BMP header is truncated (\(count) bytes)") }
        var position = 14 + headerSize  // where Pillow's file pointer is after the header
        let width: Int, height: Int, bits: Int, paletteEntry: Int
        var colors: Int
        var compressionValue = 0
        var topDown = false
        var masks: (red: Int, green: Int, blue: Int, alpha: Int) = (0, 0, 0, 0)
        if headerSize == 12 {
            width = try u16(18)
            height = try u16(20)
            bits = try u16(24)
            colors = 0
            paletteEntry = 3
        } else {
            topDown = bytes[18 + 7] == 0xFF
            width = try u32(18)
            height = topDown ? (1 << 32) - (try u32(22)) : try u32(22)
            bits = try u16(28)
            compressionValue = try u32(30)
            colors = try u32(46)
            paletteEntry = 4
            if compressionValue == Compression.bitfields.rawValue {
                // Masks follow the 40-byte header in the file, or are part of the longer headers
                // (both at offset 54); only headers of 56 bytes or more carry an alpha mask.
                masks = (try u32(54), try u32(58), try u32(62), headerSize >= 56 ? try u32(66) : 0)
                if headerSize == 40 { position += 12 }
            }
        }
        try ImageLoader.checkSize(width: width, height: height, maxPixels: maxPixels, path: path, format: "BMP")
        if colors == 0, bits <= 8 { colors = 1 << bits }
        if offset == 14 + headerSize, bits <= 8 { offset += paletteEntry * colors }

        guard [1, 4, 8, 16, 24, 32].contains(bits) else { throw unsupported("unsupported BMP pixel depth (\(bits) bits)") }
        guard let compression = Compression(rawValue: compressionValue) else {
            let names = [4: "JPEG", 5: "PNG", 6: "alpha bit fields"]
            throw unsupported("unsupported BMP compression (\(names[compressionValue].map { "\($0), " } ?? "")\(compressionValue))")
        }

        var layout: Layout
        switch bits {
        case 1, 4, 8: layout = .palette(bits: bits)
        case 16: layout = .rgb555
        case 24: layout = .bytes(size: 3, red: 2, green: 1, blue: 0)
        default: layout = .bytes(size: 4, red: 2, green: 1, blue: 0)
        }
        if compression == .bitfields {
            let m = masks
            switch bits {
            case 32:
                // Pillow's supported 32-bit masks (red, green, blue, alpha); all zero means BGRA.
                let known: [[Int]] = [
                    [0xFF0000, 0xFF00, 0xFF, 0], [0xFF00_0000, 0xFF0000, 0xFF00, 0], [0xFF00_0000, 0xFF00, 0xFF, 0],
                    [0xFF00_0000, 0xFF0000, 0xFF00, 0xFF], [0xFF, 0xFF00, 0xFF0000, 0xFF00_0000],
                    [0xFF0000, 0xFF00, 0xFF, 0xFF00_0000], [0xFF00_0000, 0xFF00, 0xFF, 0xFF0000],
                ]
                if [m.red, m.green, m.blue, m.alpha] == [0, 0, 0, 0] {
                    layout = .bytes(size: 4, red: 2, green: 1, blue: 0)
                } else if known.contains([m.red, m.green, m.blue, m.alpha]) {
                    func byte(_ mask: Int) -> Int { mask.trailingZeroBitCount / 8 }
                    layout = .bytes(size: 4, red: byte(m.red), green: byte(m.green), blue: byte(m.blue))
                } else {
                    throw unsupported("unsupported BMP bit-field layout for 32 bits (masks \(hex(m.red)), \(hex(m.green)), \(hex(m.blue)), \(hex(m.alpha)))")
                }
            case 24 where [m.red, m.green, m.blue] == [0xFF0000, 0xFF00, 0xFF]:
                layout = .bytes(size: 3, red: 2, green: 1, blue: 0)
            case 16 where [m.red, m.green, m.blue] == [0xF800, 0x7E0, 0x1F]:
                layout = .rgb565
            case 16 where [m.red, m.green, m.blue] == [0x7C00, 0x3E0, 0x1F]:
                layout = .rgb555
            default:
                throw unsupported("unsupported BMP bit-field layout for \(bits) bits (masks \(hex(m.red)), \(hex(m.green)), \(hex(m.blue)))")
            }
        }

        // The palette of 1/4/8-bit images, read right after the header; a grey one is dropped.
        var palette = [UInt8](repeating: 0, count: 256 * 3)  // RGB; entries past the file's stay black
        if bits <= 8 {
            guard colors > 0, colors <= 256 else { throw unsupported("unsupported BMP palette size (\(colors) colours)") }
            guard position + paletteEntry * colors <= count else { throw corrupt("BMP palette is truncated (\(count) bytes)") }
            var greyscale = true
            for index in 0..<colors {
                let value = colors == 2 ? index * 255 : index
                let entry = position + index * paletteEntry
                let (b, g, r) = (bytes[entry], bytes[entry + 1], bytes[entry + 2])
                if Int(b) != value || Int(g) != value || Int(r) != value { greyscale = false }
                palette[3 * index] = r; palette[3 * index + 1] = g; palette[3 * index + 2] = b
            }
            position += paletteEntry * colors
            if greyscale { layout = colors <= 2 ? .bilevel : .grey }
        }
        if offset == 0 { offset = position }

        switch compression {
        case .rle8, .rle4:
            guard bits <= 8 else { throw unsupported("unsupported BMP: RLE compression of \(bits)-bit pixels") }
            let indices = try rleIndices(bytes: bytes, from: offset, width: width, height: height, rle4: compression == .rle4, path: path)
            var pixels = [UInt8](repeating: 0, count: width * height * 3)
            indices.withUnsafeBufferPointer { src in
                pixels.withUnsafeMutableBufferPointer { dst in
                    for row in 0..<height {
                        let y = topDown ? row : height - 1 - row
                        let from = src.baseAddress! + row * width, to = dst.baseAddress! + y * width * 3
                        for x in 0..<width {
                            let v = Int(from[x])
                            if layout == .grey || layout == .bilevel {
                                // Pillow hands the indices over as mode "L" data: a grey palette
                                // shows the index itself, a black-and-white one any non-zero as white.
                                let g = layout == .grey ? UInt8(v) : v == 0 ? 0 : 255
                                to[3 * x] = g; to[3 * x + 1] = g; to[3 * x + 2] = g
                            } else {
                                to[3 * x] = palette[3 * v]; to[3 * x + 1] = palette[3 * v + 1]; to[3 * x + 2] = palette[3 * v + 2]
                            }
                        }
                    }
                }
            }
            return RGBImage(width: width, height: height, pixels: pixels)
        case .raw, .bitfields:
            // Rows are padded to four bytes for the file's depth; Pillow unpacks each with the
            // raw mode's own depth and refuses a raw mode wider than the row.
            let rowBytes = (width * layout.bitsPerPixel + 7) / 8
            let stride = ((width * bits + 31) >> 3) & ~3
            guard stride >= rowBytes else { throw unsupported("unsupported BMP: rows of \(stride) bytes for \(width) pixels") }
            let (span, overflow) = stride.multipliedReportingOverflow(by: height - 1)
            guard !overflow, offset <= count, span + rowBytes <= count - offset else {
                throw corrupt("BMP image data is truncated (\(count) bytes; \(width)x\(height) pixels of \(bits) bits from offset \(offset))")
            }
            var pixels = [UInt8](repeating: 0, count: width * height * 3)
            pixels.withUnsafeMutableBufferPointer { dst in
                palette.withUnsafeBufferPointer { palette in
                    for row in 0..<height {
                        let y = topDown ? row : height - 1 - row
                        unpackRow(bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset + row * stride,
                                  into: dst.baseAddress! + y * width * 3, width: width, layout: layout, palette: palette.baseAddress!)
                    }
                }
            }
            return RGBImage(width: width, height: height, pixels: pixels)
        }
    }

    private static func hex(_ v: Int) -> String { "0x" + String(v, radix: 16) }

    /// One uncompressed row to RGB.
    private static func unpackRow(_ src: UnsafePointer<UInt8>, into dst: UnsafeMutablePointer<UInt8>, width: Int,
                                  layout: Layout, palette: UnsafePointer<UInt8>) {
        switch layout {
        case .palette(let bits):
            let perByte = 8 / bits, mask = (1 << bits) - 1
            for x in 0..<width {
                let shift = 8 - bits * (x % perByte + 1)
                let index = (Int(src[x / perByte]) >> shift) & mask
                dst[3 * x] = palette[3 * index]; dst[3 * x + 1] = palette[3 * index + 1]; dst[3 * x + 2] = palette[3 * index + 2]
            }
        case .bilevel:
            for x in 0..<width {
                let v: UInt8 = (src[x >> 3] >> (7 - UInt8(x & 7))) & 1 == 0 ? 0 : 255
                dst[3 * x] = v; dst[3 * x + 1] = v; dst[3 * x + 2] = v
            }
        case .grey:
            for x in 0..<width {
                let v = src[x]
                dst[3 * x] = v; dst[3 * x + 1] = v; dst[3 * x + 2] = v
            }
        case .rgb555, .rgb565:
            let greenBits = layout == .rgb565 ? 6 : 5
            let greenMax = (1 << greenBits) - 1
            for x in 0..<width {
                let word = Int(src[2 * x]) | Int(src[2 * x + 1]) << 8
                dst[3 * x] = UInt8((word >> (5 + greenBits) & 31) * 255 / 31)
                dst[3 * x + 1] = UInt8((word >> 5 & greenMax) * 255 / greenMax)
                dst[3 * x + 2] = UInt8((word & 31) * 255 / 31)
            }
        case .bytes(let size, let red, let green, let blue):
            for x in 0..<width {
                let p = src + x * size
                dst[3 * x] = p[red]; dst[3 * x + 1] = p[green]; dst[3 * x + 2] = p[blue]
            }
        }
    }

    /// Pillow's `BmpRleDecoder`, step for step: the palette indices of the rows in file order.
    /// Encoded runs stop at the row's end; absolute runs and deltas may run on into later rows;
    /// word alignment after an absolute run is counted from the start of the file.
    private static func rleIndices(bytes: UnsafeRawBufferPointer, from start: Int, width: Int, height: Int,
                                   rle4: Bool, path: String) throws -> [UInt8] {
        let total = width * height
        var data = [UInt8](repeating: 0, count: total)
        var length = 0  // indices produced so far
        var x = 0
        var at = start
        let end = bytes.count
        func byte() -> Int? {
            guard at < end else { return nil }
            defer { at += 1 }
            return Int(bytes[at])
        }
        decoding: while length < total {
            guard let run = byte(), let value = byte() else { break }
            if run > 0 {  // encoded run: `run` pixels of one index (RLE4: two alternating)
                var n = run
                if x + n > width { n = max(0, width - x) }
                n = min(n, total - length)  // never more than the image (cannot happen while x tracks the row)
                for i in 0..<n {
                    data[length + i] = UInt8(rle4 ? (i % 2 == 0 ? value >> 4 : value & 0x0F) : value)
                }
                length += n
                x += n
                continue
            }
            switch value {
            case 0:  // end of line: pad the row with index 0
                let padded = (length + width - 1) / width * width
                length = padded  // zeros already
                x = 0
            case 1:  // end of bitmap
                break decoding
            case 2:  // delta: right, then up (Pillow skips right + up * width pixels)
                guard let right = byte(), let up = byte() else { break decoding }
                length += min(total - length, right + up * width)
                x = length % width
            default:  // absolute run of `value` indices
                let wanted = min(total - length, value)
                let byteCount = rle4 ? (wanted + 1) / 2 : wanted
                let available = min(byteCount, max(0, end - at))
                if rle4 {
                    for i in 0..<available {
                        let b = Int(bytes[at + i])
                        data[length] = UInt8(b >> 4)
                        length += 1
                        if i * 2 + 1 < wanted {
                            data[length] = UInt8(b & 0x0F)
                            length += 1
                        }
                    }
                } else {
                    for i in 0..<available { data[length + i] = bytes[at + i] }
                    length += available
                }
                at += available
                if available < byteCount || length == total { break decoding }
                x += value
                if at % 2 != 0 { at += 1 }
            }
        }
        guard length == total else {
            throw ImageError(path: path, reason: .corrupt,
                             detail: "BMP \(rle4 ? "RLE4" : "RLE8") data ends after \(length) of \(total) pixels (truncated or corrupt)")
        }
        return data
    }
}
