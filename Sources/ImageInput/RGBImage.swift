/// An 8-bit RGB image in row-major HWC order: pixel (x, y) channel c is
/// `pixels[(y * width + x) * 3 + c]`. This is what Pillow's `Image.convert("RGB")` holds.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "RGBImage: \(pixels.count) bytes for \(width)x\(height) pixels")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}
