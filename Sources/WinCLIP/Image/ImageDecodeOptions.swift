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
    func eightBit(_ sample: Int) -> UInt8 {
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
    /// 256 MiB: larger than any plausible compressed photograph or uncompressed 8-bit RGB image
    /// at the pixel limit (9,000 x 9,000 x 3 bytes), small enough that holding one file is cheap.
    public static let defaultMaxFileBytes = 256 << 20
    /// Pillow's decompression-bomb error threshold (2 * `Image.MAX_IMAGE_PIXELS`), so every
    /// image anomalib can open opens here too. Measured peak resident memory of loading and
    /// CLIP-preprocessing an image at this limit is about 3.2 bytes per pixel plus the file
    /// (about 560 MiB for a 13,000 x 13,000 PNG or JPEG; see `CLIPPreprocess`), which fits a
    /// 1 GiB worker budget with the file-size limit's room to spare.
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
