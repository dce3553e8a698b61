import ImageInput

/// An 8-bit RGB colour.
public struct RGBColor: Sendable, Equatable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }
    public static let white = RGBColor(255, 255, 255)
    public static let black = RGBColor(0, 0, 0)
    public static let red = RGBColor(255, 0, 0)
}

/// Pillow's `Image.alpha_composite` of a colour with alpha `a` over an opaque pixel, channel by
/// channel in its fixed-point arithmetic (libImaging/AlphaComposite.c, 7 precision bits): with an
/// opaque destination the coefficients are a * 128 and (255 - a) * 128.
@inline(__always)
func pillowComposite(_ source: UInt8, over destination: UInt8, alpha: UInt8) -> UInt8 {
    if alpha == 0 { return destination }
    let a = UInt32(alpha)
    let t = UInt32(source) * a * 128 + UInt32(destination) * (255 - a) * 128 + (0x80 << 7)
    return UInt8((((t >> 8) + t) >> 8) >> 7)
}

extension RGBImage {
    /// A `width` x `height` image of one colour.
    init(width: Int, height: Int, color: RGBColor) {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            pixels[3 * i] = color.r
            pixels[3 * i + 1] = color.g
            pixels[3 * i + 2] = color.b
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    func color(x: Int, y: Int) -> RGBColor {
        let i = 3 * (y * width + x)
        return RGBColor(pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// Fills the rectangle (clipped to the image) with `color`, or composites it with `alpha`
    /// (255 = opaque) as Pillow does.
    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: RGBColor, alpha: UInt8 = 255) {
        let x0 = Swift.max(x, 0), x1 = Swift.min(x + w, width)
        let y0 = Swift.max(y, 0), y1 = Swift.min(y + h, height)
        guard x0 < x1, y0 < y1 else { return }
        let w = width
        pixels.withUnsafeMutableBufferPointer { p in
            for yy in y0..<y1 {
                for xx in x0..<x1 {
                    let i = 3 * (yy * w + xx)
                    if alpha == 255 {
                        p[i] = color.r; p[i + 1] = color.g; p[i + 2] = color.b
                    } else {
                        p[i] = pillowComposite(color.r, over: p[i], alpha: alpha)
                        p[i + 1] = pillowComposite(color.g, over: p[i + 1], alpha: alpha)
                        p[i + 2] = pillowComposite(color.b, over: p[i + 2], alpha: alpha)
                    }
                }
            }
        }
    }

    /// Copies `image` with its top-left corner at (x, y) (clipped).
    mutating func paste(_ image: RGBImage, x: Int, y: Int) {
        for row in 0..<image.height where y + row >= 0 && y + row < height {
            let x0 = Swift.max(0, -x), x1 = Swift.min(image.width, width - x)
            guard x0 < x1 else { continue }
            let src = 3 * (row * image.width + x0)
            let dst = 3 * ((y + row) * width + x + x0)
            pixels.replaceSubrange(dst..<dst + 3 * (x1 - x0), with: image.pixels[src..<src + 3 * (x1 - x0)])
        }
    }

    /// A caption in the style of anomalib's `add_text_to_image`: text on a black box of alpha
    /// 128 with `padding` pixels around it.
    mutating func caption(_ text: String, x: Int, y: Int, scale: Int, color: RGBColor = .white) {
        let (w, h) = BitmapFont.size(of: text, scale: scale)
        let padding = 2 * scale
        fill(x: x - padding, y: y - padding, width: w + 2 * padding, height: h + 2 * padding, color: .black, alpha: 128)
        BitmapFont.draw(text, on: &self, x: x, y: y, scale: scale, color: color)
    }

    /// Resized to `outWidth` x `outHeight` with antialiased bicubic resampling (Pillow's filter,
    /// in float32), rounded to the nearest byte.
    func resized(width outWidth: Int, height outHeight: Int) -> RGBImage {
        if outWidth == width && outHeight == height { return self }
        let n = width * height
        var planar = [Float](repeating: 0, count: 3 * n)
        for i in 0..<n {
            for c in 0..<3 { planar[c * n + i] = Float(pixels[3 * i + c]) }
        }
        let out = BicubicResize.resize(planar, channels: 3, height: height, width: width, outHeight: outHeight, outWidth: outWidth)
        let m = outWidth * outHeight
        var bytes = [UInt8](repeating: 0, count: 3 * m)
        for i in 0..<m {
            for c in 0..<3 { bytes[3 * i + c] = UInt8(Swift.min(Swift.max(out[c * m + i].rounded(), 0), 255)) }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: bytes)
    }
}

/// Mask helpers for the pictures.
enum MaskDrawing {
    /// Nearest-neighbour resize of a row-major mask (pixel centres, as Pillow's NEAREST).
    static func resizeNearest(_ mask: [Bool], width: Int, height: Int, outWidth: Int, outHeight: Int) -> [Bool] {
        precondition(mask.count == width * height)
        var out = [Bool](repeating: false, count: outWidth * outHeight)
        for y in 0..<outHeight {
            let sy = Swift.min(Int((Double(y) + 0.5) * Double(height) / Double(outHeight)), height - 1)
            for x in 0..<outWidth {
                let sx = Swift.min(Int((Double(x) + 0.5) * Double(width) / Double(outWidth)), width - 1)
                out[y * outWidth + x] = mask[sy * width + sx]
            }
        }
        return out
    }

    /// The pixels Pillow's `ImageFilter.FIND_EDGES` lights on a 0/255 mask (anomalib's contour
    /// mode): the kernel 8·centre − neighbours, clipped to [0, 255], is 255 on a mask pixel with
    /// any 8-neighbour outside the mask and 0 elsewhere; the outermost rows and columns are copied
    /// unfiltered, so mask pixels on the image border are edges too.
    static func edges(_ mask: [Bool], width: Int, height: Int) -> [Bool] {
        precondition(mask.count == width * height)
        var out = [Bool](repeating: false, count: mask.count)
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] {
                if x == 0 || y == 0 || x == width - 1 || y == height - 1 {
                    out[y * width + x] = true
                    continue
                }
                var outside = false
                for dy in -1...1 where !outside {
                    for dx in -1...1 where !mask[(y + dy) * width + x + dx] { outside = true }
                }
                out[y * width + x] = outside
            }
        }
        return out
    }
}
