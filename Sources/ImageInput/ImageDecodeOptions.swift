/// How 16-bit greyscale samples (PNG grey, TIFF grey) become 8-bit values.
public enum SixteenBitMode: String, Sendable, CaseIterable {
    /// Pillow's `convert("RGB")` of mode `I;16`: `min(v, 255)`. What anomalib sees, and so the
    /// default; most 16-bit photographs come out nearly white.
    case clip
    /// `v >> 8`, the high byte: the whole 0...65535 range maps onto 0...255. A departure from
    /// anomalib. The high byte (rather than `round(v / 257)`, at most one level away) is what
    /// Pillow already keeps for 16-bit RGB(A) and grey+alpha samples, so a 16-bit grey image
    /// gives the same pixels as its 16-bit RGB copy.
    case scale

    /// One 16-bit grey sample as 8 bits.
    @inline(__always)
    package func eightBit(_ sample: Int) -> UInt8 {
        switch self {
        case .clip: return UInt8(min(sample, 255))
        case .scale: return UInt8(truncatingIfNeeded: sample >> 8)
        }
    }
}

/// Resource limits for loading one image file, checked before the costly step each guards:
/// the file size with `stat` before the file is opened, the pixel count from the format's
/// header before any pixel data is decoded.
public struct ImageLimits: Sendable, Equatable {
    /// 256 MiB: far above any compressed photograph at the pixel limit (a 13,000 x 13,000 PNG or
    /// JPEG is 24-64 MB), and it bounds what a decoder holds besides the pixels. Uncompressed
    /// BMP and 8-bit RGB above about 9,200 x 9,200 exceed it: raise it for those. TIFF is read
    /// through the file descriptor, so its file size costs no memory.
    public static let defaultMaxFileBytes = 256 << 20
    /// Pillow's decompression-bomb error threshold (2 * `Image.MAX_IMAGE_PIXELS`), so every
    /// image anomalib opens opens here too. Loading plus CLIP preprocessing holds the RGB result
    /// (3 bytes per pixel), the file's bytes (not for TIFF) and a [3, height, 240] float
    /// intermediate: measured peak resident memory for 13,000 x 13,000 (169 Mpixels, 484 MiB of
    /// pixels) is 552 MiB for PNG, LZW TIFF (464 MiB file) and RGB/grey alike, 559 MiB for WebP,
    /// 576 MiB for JPEG (before this limit was sized: 2,485 MiB for the PNG). At the limit with a
    /// file at `defaultMaxFileBytes` that is at most about 830 MiB: within a 1 GiB worker.
    public static let defaultMaxPixels = 178_956_970

    /// Files larger than this many bytes are refused without being read.
    public var maxFileBytes: Int
    /// Images with more pixels than this (width x height from the header) are refused before decoding.
    public var maxPixels: Int

    public init(maxFileBytes: Int = ImageLimits.defaultMaxFileBytes, maxPixels: Int = ImageLimits.defaultMaxPixels) {
        self.maxFileBytes = maxFileBytes
        self.maxPixels = maxPixels
    }
}

/// Everything that shapes how a file is decoded: the limits, and the one deliberate departure
/// from Pillow (`sixteenBit`). The default is Pillow's behaviour with the default limits.
public struct ImageDecodeOptions: Sendable, Equatable {
    public var limits: ImageLimits
    public var sixteenBit: SixteenBitMode

    public init(limits: ImageLimits = ImageLimits(), sixteenBit: SixteenBitMode = .clip) {
        self.limits = limits
        self.sixteenBit = sixteenBit
    }

    public var maxPixels: Int { limits.maxPixels }
}
