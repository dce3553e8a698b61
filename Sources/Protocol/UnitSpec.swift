import Foundation
import Options

/// What a unit computes, with the data it computes on. Pixels are one image's preprocessed
/// tensor `[3, S, S]` as little-endian float32 bytes, forwarded as the client sent them.
/// A new kind is one case here, its `kind`, and its arm in `UnitSpec.encode` / `init(decoding:)`.
public enum UnitWork: Sendable, Equatable {
    /// The job's text embeddings (from `options.className` and `options.prompts`).
    case text
    /// The job's reference embeddings from its K reference images.
    case references(pixels: [Data])
    /// One image's full pass (image score; few-shot patch scores when `fewShot`).
    case fullPass(image: Int, pixels: Data, fewShot: Bool)
    /// A batch of one scale's windows of one image.
    case windows(image: Int, scale: Int, windows: Range<Int>, pixels: Data, fewShot: Bool)

    public var kind: UnitKind {
        switch self {
        case .text: return .text
        case .references: return .references
        case .fullPass: return .full
        case .windows: return .windows
        }
    }

    /// The image an image unit scores (nil for setup units).
    public var image: Int? {
        switch self {
        case .text, .references: return nil
        case .fullPass(let image, _, _), .windows(let image, _, _, _, _): return image
        }
    }

    /// An image unit's pixels (nil for setup units).
    public var imagePixels: Data? {
        switch self {
        case .text, .references: return nil
        case .fullPass(_, let pixels, _), .windows(_, _, _, let pixels, _): return pixels
        }
    }
}

/// UNIT: one piece of work of a job.
public struct UnitSpec: Sendable, Equatable {
    public var job: UInt64
    public var unit: Int
    public var options: JobOptions
    public var work: UnitWork

    public init(job: UInt64, unit: Int, options: JobOptions, work: UnitWork) {
        self.job = job
        self.unit = unit
        self.options = options
        self.work = work
    }

    public var kind: UnitKind { work.kind }
    public var image: Int? { work.image }

    public func encode() -> WireMessage {
        var body = UnitBody(job: job, unit: unit, kind: kind, options: options, fewShot: false)
        let blobs: [Data]
        switch work {
        case .text:
            blobs = []
        case .references(let pixels):
            blobs = pixels
        case .fullPass(let image, let pixels, let fewShot):
            body.image = image
            body.fewShot = fewShot
            blobs = [pixels]
        case .windows(let image, let scale, let windows, let pixels, let fewShot):
            body.image = image
            body.scaleIndex = scale
            body.windowStart = windows.lowerBound
            body.windowCount = windows.count
            body.fewShot = fewShot
            blobs = [pixels]
        }
        return WireMessage(.unit, body, blobs: blobs)
    }

    /// Decodes a UNIT for a model of `imageSize`: every pixel blob must be `[3, S, S]` float32.
    public init(decoding message: WireMessage, imageSize: Int) throws {
        guard message.type == .unit else { throw PayloadError.body(message.type, "not a UNIT") }
        let body = try message.decode(UnitBody.self)
        let blobs = BlobReader(message: message), pixelFloats = 3 * imageSize * imageSize
        job = body.job
        unit = body.unit
        options = body.options
        switch body.kind {
        case .text:
            try blobs.expectCount(0)
            work = .text
        case .references:
            guard !message.blobs.isEmpty else { throw PayloadError.body(.unit, "references unit without images") }
            work = .references(pixels: try message.blobs.indices.map { i throws(PayloadError) in
                try blobs.bytes(i, "reference \(i) pixels", floats: pixelFloats)
            })
        case .full:
            try blobs.expectCount(1)
            guard let image = body.image else { throw PayloadError.body(.unit, "full unit without an image index") }
            work = .fullPass(image: image, pixels: try blobs.bytes(0, "pixels", floats: pixelFloats), fewShot: body.fewShot)
        case .windows:
            try blobs.expectCount(1)
            guard let image = body.image, let scale = body.scaleIndex, let start = body.windowStart, let count = body.windowCount,
                  scale >= 0, start >= 0, count > 0 else {
                throw PayloadError.body(.unit, "windows unit without an image, a scale and a window range")
            }
            work = .windows(image: image, scale: scale, windows: start..<(start + count),
                            pixels: try blobs.bytes(0, "pixels", floats: pixelFloats), fewShot: body.fewShot)
        }
    }

    /// Which unit a UNIT is, when its body reads even if its blobs do not (so that the
    /// worker's error answer reaches the unit).
    public static func address(of message: WireMessage) -> (job: UInt64, unit: Int)? {
        guard let body = try? message.decode(UnitAddress.self) else { return nil }
        return (body.job, body.unit)
    }
}

/// The UNIT body on the wire (docs/protocol.md): the fields of every kind, those a kind does
/// not use absent.
private struct UnitBody: Codable {
    var job: UInt64
    var unit: Int
    var kind: UnitKind
    var options: JobOptions
    var image: Int?
    var scaleIndex: Int?
    var windowStart: Int?
    var windowCount: Int?
    var fewShot: Bool
}

private struct UnitAddress: Codable {
    var job: UInt64
    var unit: Int
}
