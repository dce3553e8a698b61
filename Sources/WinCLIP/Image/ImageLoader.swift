import Foundation

/// A file that cannot be turned into an `RGBImage`: unreadable, empty, truncated or corrupt,
/// of an unknown or unsupported format, or over the decompression-bomb pixel limit.
public struct ImageError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Reason: Sendable, Equatable {
        case unreadable, empty, unknownFormat, unsupported, tooLarge, corrupt
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

/// Loads PNG and JPEG files as Pillow's `Image.open(path).convert("RGB")` would, choosing the
/// decoder by the file's magic bytes (not its extension).
public enum ImageLoader {
    /// Pillow's decompression-bomb error threshold: 2 * `Image.MAX_IMAGE_PIXELS`.
    public static let defaultMaxPixels = 178_956_970

    public static func load(path: String, maxPixels: Int = 178_956_970) throws -> RGBImage {
        let data: Data
        do {
            // Read, not memory-mapped: a file truncated while mapped would fault (SIGBUS).
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ImageError(path: path, reason: .unreadable, detail: "cannot read the file (\(error.localizedDescription))")
        }
        return try decode(data, path: path, maxPixels: maxPixels)
    }

    /// Decodes in-memory file contents; `path` only names the source in errors.
    public static func decode(_ data: Data, path: String = "<memory>", maxPixels: Int = 178_956_970) throws -> RGBImage {
        guard !data.isEmpty else { throw ImageError(path: path, reason: .empty, detail: "the file is empty (0 bytes)") }
        let head = [UInt8](data.prefix(16))
        func starts(with magic: [UInt8]) -> Bool { head.count >= magic.count && Array(head.prefix(magic.count)) == magic }
        if starts(with: PNGDecoder.signature) {
            return try PNGDecoder.decode(data, path: path, maxPixels: maxPixels)
        }
        if starts(with: [0xFF, 0xD8, 0xFF]) {
            return try JPEGDecoder.decode(data, path: path, maxPixels: maxPixels)
        }
        let known: [(String, [UInt8])] = [
            ("GIF", Array("GIF8".utf8)), ("BMP", Array("BM".utf8)), ("TIFF", [0x49, 0x49, 0x2A, 0x00]),
            ("TIFF", [0x4D, 0x4D, 0x00, 0x2A]), ("ICO", [0x00, 0x00, 0x01, 0x00]), ("JPEG 2000", [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50]),
        ]
        for (name, magic) in known where starts(with: magic) {
            throw ImageError(path: path, reason: .unsupported, detail: "\(name) images are not supported (only PNG and JPEG)")
        }
        if head.count >= 12, Array(head[0..<4]) == Array("RIFF".utf8), Array(head[8..<12]) == Array("WEBP".utf8) {
            throw ImageError(path: path, reason: .unsupported, detail: "WebP images are not supported (only PNG and JPEG)")
        }
        if starts(with: Array(PNGDecoder.signature.prefix(min(head.count, 8)))) {
            throw ImageError(path: path, reason: .corrupt, detail: "truncated PNG signature (\(data.count) bytes)")
        }
        let hex = head.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
        throw ImageError(path: path, reason: .unknownFormat, detail: "unknown image format (first bytes \(hex)); only PNG and JPEG are supported")
    }

    /// Refuses zero-sized images and, like Pillow's decompression-bomb check, images of more
    /// than `maxPixels` pixels, before any pixel data is decoded.
    static func checkSize(width: Int, height: Int, maxPixels: Int, path: String, format: String) throws {
        guard width > 0, height > 0 else {
            throw ImageError(path: path, reason: .corrupt, detail: "\(format) has an empty size \(width)x\(height)")
        }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixels <= maxPixels else {
            throw ImageError(path: path, reason: .tooLarge,
                             detail: "\(format) of \(width)x\(height) pixels exceeds the limit of \(maxPixels) pixels (possible decompression bomb)")
        }
    }
}
