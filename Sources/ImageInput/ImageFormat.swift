/// An image file's format as told by its first bytes (never by its extension), with Pillow's
/// signatures for the formats that are decoded.
enum ImageFormat: Equatable {
    case png, jpeg, bmp, tiff, webp
    /// A format Pillow reads but this loader does not (named in the error).
    case unsupported(String)
    /// The first bytes of a PNG signature, cut short.
    case truncatedPNGSignature
    case unknown

    static let supportedNames = "PNG, JPEG, BMP, TIFF and WebP"

    /// `head`: at least the file's first 16 bytes when it has that many.
    static func detect<Bytes: Collection>(_ head: Bytes) -> ImageFormat where Bytes.Element == UInt8 {
        let head = Array(head.prefix(16))
        func starts(with magic: [UInt8]) -> Bool { head.count >= magic.count && Array(head.prefix(magic.count)) == magic }
        if starts(with: PNGDecoder.signature) { return .png }
        if starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts(with: Array("BM".utf8)) { return .bmp }
        // Pillow's TIFF prefixes: classic TIFF in both byte orders and the "wrong magic" variants
        // it tolerates; BigTIFF (43) is read by libtiff as well.
        for magic: [UInt8] in [[0x49, 0x49, 0x2A, 0x00], [0x4D, 0x4D, 0x00, 0x2A], [0x49, 0x49, 0x2B, 0x00], [0x4D, 0x4D, 0x00, 0x2B]]
        where starts(with: magic) {
            return .tiff
        }
        if head.count >= 12, Array(head[0..<4]) == Array("RIFF".utf8), Array(head[8..<12]) == Array("WEBP".utf8) {
            return .webp
        }
        let others: [(String, [UInt8])] = [
            ("GIF", Array("GIF8".utf8)), ("ICO", [0x00, 0x00, 0x01, 0x00]), ("JPEG 2000", [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50]),
        ]
        for (name, magic) in others where starts(with: magic) { return .unsupported(name) }
        if !head.isEmpty, starts(with: Array(PNGDecoder.signature.prefix(min(head.count, 8)))) { return .truncatedPNGSignature }
        return .unknown
    }
}
