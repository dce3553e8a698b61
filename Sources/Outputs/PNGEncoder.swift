import CPNGWrite
import Foundation
import ImageInput

public struct PNGEncodeError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// 8-bit PNG files through libpng (the C target CPNGWrite keeps libpng's longjmp out of Swift).
public enum PNGEncoder {
    public static func encode(_ image: RGBImage) throws -> Data {
        try encode(pixels: image.pixels, width: image.width, height: image.height, channels: 3)
    }

    /// A greyscale image, one byte per pixel, row-major.
    public static func encodeGrey(_ pixels: [UInt8], width: Int, height: Int) throws -> Data {
        try encode(pixels: pixels, width: width, height: height, channels: 1)
    }

    /// Writes the image to `url`, creating missing parent folders.
    public static func write(_ image: RGBImage, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try encode(image).write(to: url, options: .atomic)
    }

    static func encode(pixels: [UInt8], width: Int, height: Int, channels: Int) throws -> Data {
        precondition(pixels.count == width * height * channels, "\(pixels.count) bytes for \(width)x\(height)x\(channels)")
        guard width > 0, height > 0, width <= Int(UInt32.max), height <= Int(UInt32.max) else {
            throw PNGEncodeError("cannot encode a \(width)x\(height) image as PNG")
        }
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        let messageSize = 256
        var message = [CChar](repeating: 0, count: messageSize)
        let status = pixels.withUnsafeBufferPointer { buffer in
            cpw_png_encode(buffer.baseAddress, UInt32(width), UInt32(height), Int32(channels),
                           &out, &size, &message, messageSize)
        }
        guard status == 0, let out else {
            throw PNGEncodeError("PNG encoding failed: \(String(cString: message))")
        }
        defer { cpw_free(out) }
        return Data(bytes: out, count: size)
    }
}

/// Baseline JPEG through libjpeg (the report's embedded thumbnails: a few KB each).
public enum JPEGEncoder {
    public static func encode(_ image: RGBImage, quality: Int) throws -> Data {
        guard image.width > 0, image.height > 0, image.pixels.count == image.width * image.height * 3,
              image.width <= Int(UInt32.max), image.height <= Int(UInt32.max) else {
            throw PNGEncodeError("cannot encode a \(image.width)x\(image.height) image as JPEG")
        }
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        let messageSize = 256
        var message = [CChar](repeating: 0, count: messageSize)
        let status = image.pixels.withUnsafeBufferPointer { buffer in
            cpw_jpeg_encode(buffer.baseAddress, UInt32(image.width), UInt32(image.height), Int32(quality),
                            &out, &size, &message, messageSize)
        }
        guard status == 0, let out else {
            throw PNGEncodeError("JPEG encoding failed: \(String(cString: message))")
        }
        defer { cpw_free(out) }
        return Data(bytes: out, count: size)
    }
}
