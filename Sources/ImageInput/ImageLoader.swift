import Foundation

/// A file that cannot be turned into an `RGBImage`: missing, not a regular file, unreadable,
/// empty, over the file-size limit, truncated or corrupt, of an unknown or unsupported format,
/// or over the decompression-bomb pixel limit.
public struct ImageError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Reason: Sendable, Equatable {
        case unreadable, empty, unknownFormat, unsupported, tooLarge, corrupt
        /// A directory, FIFO, socket or device: refused from `stat`, never opened.
        case notRegularFile
        /// Larger than `ImageLimits.maxFileBytes`: refused from `stat`, never read.
        case fileTooLarge
    }
    public let path: String
    public let reason: Reason
    public let detail: String

    public init(path: String, reason: Reason, detail: String) {
        self.path = path
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "cannot load image \(path): \(detail)" }
}

/// Loads PNG, JPEG, BMP, TIFF and WebP files as Pillow's `Image.open(path).convert("RGB")`
/// would, choosing the decoder by the file's magic bytes (not its extension). Each decoder's
/// documentation lists what it supports and where it departs from Pillow. Before anything is
/// decoded the file must be a regular file within `ImageLimits.maxFileBytes` (checked with
/// `stat`, so FIFOs, sockets and devices are never opened) and the header's width x height
/// within `ImageLimits.maxPixels`.
public enum ImageLoader {
    /// The default pixel limit (`ImageLimits.defaultMaxPixels`, Pillow's decompression-bomb error threshold).
    public static let defaultMaxPixels = ImageLimits.defaultMaxPixels

    public static func load(path: String, options: ImageDecodeOptions = ImageDecodeOptions()) throws -> RGBImage {
        let file = try RegularFile(path: path, maxBytes: options.limits.maxFileBytes)
        // TIFF is decoded straight from the file (libtiff reads the strips it needs); every other
        // format from the file's bytes in memory.
        if ImageFormat.detect(try file.read(at: 0, count: 16)) == .tiff {
            return try TIFFDecoder.decode(fileDescriptor: file.descriptor, size: file.size, path: path, options: options)
        }
        return try decode(file.readAll(), path: path, options: options)
    }

    public static func load(path: String, maxPixels: Int) throws -> RGBImage {
        try load(path: path, options: ImageDecodeOptions(limits: ImageLimits(maxPixels: maxPixels)))
    }

    /// Decodes in-memory file contents; `path` only names the source in errors.
    public static func decode(_ data: Data, path: String = "<memory>", options: ImageDecodeOptions = ImageDecodeOptions()) throws -> RGBImage {
        guard !data.isEmpty else { throw ImageError(path: path, reason: .empty, detail: "the file is empty (0 bytes)") }
        switch ImageFormat.detect(data.prefix(16)) {
        case .png: return try PNGDecoder.decode(data, path: path, options: options)
        case .jpeg: return try JPEGDecoder.decode(data, path: path, options: options)
        case .bmp: return try BMPDecoder.decode(data, path: path, options: options)
        case .tiff: return try TIFFDecoder.decode(data, path: path, options: options)
        case .webp: return try WebPDecoder.decode(data, path: path, options: options)
        case .unsupported(let name):
            throw ImageError(path: path, reason: .unsupported,
                             detail: "\(name) images are not supported (only \(ImageFormat.supportedNames))")
        case .truncatedPNGSignature:
            throw ImageError(path: path, reason: .corrupt, detail: "truncated PNG signature (\(data.count) bytes)")
        case .unknown:
            let hex = data.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw ImageError(path: path, reason: .unknownFormat,
                             detail: "unknown image format (first bytes \(hex)); only \(ImageFormat.supportedNames) are supported")
        }
    }

    public static func decode(_ data: Data, path: String = "<memory>", maxPixels: Int) throws -> RGBImage {
        try decode(data, path: path, options: ImageDecodeOptions(limits: ImageLimits(maxPixels: maxPixels)))
    }

    /// The whole file, after `stat` has shown a regular file of at most `maxBytes` bytes (see
    /// `RegularFile`).
    public static func readFile(path: String, maxBytes: Int) throws -> Data {
        try RegularFile(path: path, maxBytes: maxBytes).readAll()
    }

    /// Refuses zero-sized images and, like Pillow's decompression-bomb check, images of more
    /// than `maxPixels` pixels, before any pixel data is decoded.
    package static func checkSize(width: Int, height: Int, maxPixels: Int, path: String, format: String) throws {
        guard width > 0, height > 0 else {
            throw ImageError(path: path, reason: .corrupt, detail: "\(format) has an empty size \(width)x\(height)")
        }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        // Three bytes per pixel must be addressable too, whatever limit the caller chose.
        guard !overflow, pixels <= maxPixels, pixels <= Int.max / 4 else {
            throw ImageError(path: path, reason: .tooLarge,
                             detail: "\(format) of \(width)x\(height) pixels exceeds the limit of \(maxPixels) pixels (possible decompression bomb)")
        }
    }
}
