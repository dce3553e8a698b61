import Foundation

/// What an IMAGE carries: one image's preprocessed pixels `[3, S, S]` (float32 bytes), or the
/// news that the client could not read it (it writes that image's error row itself).
public enum ImageContent: Sendable, Equatable {
    case pixels(Data)
    case skipped
}

/// IMAGE: a reference image or an image to score.
public struct ImageUpload: Sendable, Equatable {
    public var job: UInt64
    public var index: Int
    public var reference: Bool
    public var content: ImageContent

    public init(job: UInt64, index: Int, reference: Bool, content: ImageContent) {
        self.job = job
        self.index = index
        self.reference = reference
        self.content = content
    }

    public func encode() -> WireMessage {
        switch content {
        case .pixels(let pixels):
            return WireMessage(.image, ImageItem(job: job, index: index, reference: reference), blobs: [pixels])
        case .skipped:
            return WireMessage(.image, ImageItem(job: job, index: index, reference: reference, skipped: true))
        }
    }

    /// Decodes an IMAGE for a job whose images are `imageSize` square.
    public init(decoding message: WireMessage, imageSize: Int) throws {
        guard message.type == .image else { throw PayloadError.body(message.type, "not an IMAGE") }
        let item = try message.decode(ImageItem.self)
        let blobs = BlobReader(message: message)
        job = item.job
        index = item.index
        reference = item.reference
        if item.skipped {
            try blobs.expectCount(0)
            content = .skipped
        } else {
            try blobs.expectCount(1)
            content = .pixels(try blobs.bytes(0, "pixels", floats: 3 * imageSize * imageSize))
        }
    }
}

/// One image's answer to the client.
public enum ImageVerdict: Sendable, Equatable {
    /// The score; the anomaly map `[S, S]` when the job wants maps and the image has one.
    case scored(score: Float, map: [Float]?)
    case failed(String)
}

/// IMAGE_RESULT: one image's score and map, or the error that stopped it.
public struct ImageAnswer: Sendable, Equatable {
    public var job: UInt64
    public var index: Int
    public var verdict: ImageVerdict

    public init(job: UInt64, index: Int, verdict: ImageVerdict) {
        self.job = job
        self.index = index
        self.verdict = verdict
    }

    public func encode() -> WireMessage {
        switch verdict {
        case .scored(let score, let map):
            let blobs = [[score]] + (map.map { [$0] } ?? [])
            return WireMessage(.imageResult, ImageOutcome(job: job, index: index), blobs: blobs.map(FloatBlob.encode))
        case .failed(let error):
            return WireMessage(.imageResult, ImageOutcome(job: job, index: index, error: error))
        }
    }

    /// Decodes an IMAGE_RESULT of a job whose images are `imageSize` square.
    public init(decoding message: WireMessage, imageSize: Int) throws {
        guard message.type == .imageResult else { throw PayloadError.body(message.type, "not an IMAGE_RESULT") }
        let outcome = try message.decode(ImageOutcome.self)
        let blobs = BlobReader(message: message)
        job = outcome.job
        index = outcome.index
        if let error = outcome.error {
            try blobs.expectCount(0)
            verdict = .failed(error)
            return
        }
        guard message.blobs.count == 1 || message.blobs.count == 2 else {
            throw PayloadError.blobCount(.imageResult, expected: 2, actual: message.blobs.count)
        }
        let score = try blobs.floats(0, "score", count: 1)[0]
        verdict = .scored(score: score, map: message.blobs.count == 2 ? try blobs.floats(1, "map", count: imageSize * imageSize) : nil)
    }
}
