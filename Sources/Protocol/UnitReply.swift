import Foundation

/// A job's text embeddings: one `[E]` vector per prompt group.
public struct TextVectors: Sendable, Equatable {
    public var normal: [Float]
    public var anomalous: [Float]
    public init(normal: [Float], anomalous: [Float]) {
        self.normal = normal
        self.anomalous = anomalous
    }
    /// Bit for bit: two workers' answers agree only when identical.
    public static func == (a: TextVectors, b: TextVectors) -> Bool {
        FloatBlob.identical(a.normal, b.normal) && FloatBlob.identical(a.anomalous, b.anomalous)
    }
}

/// A job's reference embeddings: patch tokens `[K·G², W]` and, per scale, window embeddings
/// `[K·n_s, E]`.
public struct ReferenceVectors: Sendable, Equatable {
    public var count: Int
    public var patchTokens: [Float]
    public var windows: [[Float]]
    public init(count: Int, patchTokens: [Float], windows: [[Float]]) {
        self.count = count
        self.patchTokens = patchTokens
        self.windows = windows
    }
    public static func == (a: ReferenceVectors, b: ReferenceVectors) -> Bool {
        a.count == b.count && FloatBlob.identical(a.patchTokens, b.patchTokens)
            && a.windows.count == b.windows.count && zip(a.windows, b.windows).allSatisfy { FloatBlob.identical($0, $1) }
    }
}

/// What the receiver of a RESULT knows of its sizes, besides the unit it answers: from the
/// job's model and request. nil: not known (a coordinator without its model's config checks
/// consistency only).
public struct ReplyShape: Sendable, Equatable {
    /// Embedding size E.
    public var embedDim: Int?
    /// Vision width W.
    public var visionWidth: Int?
    /// Patch grid G.
    public var gridSize: Int?
    /// Windows n_s of each scale.
    public var windowsPerScale: [Int]?
    /// Reference images K of the job.
    public var referenceCount: Int
    public init(embedDim: Int? = nil, visionWidth: Int? = nil, gridSize: Int? = nil, windowsPerScale: [Int]? = nil, referenceCount: Int = 0) {
        self.embedDim = embedDim
        self.visionWidth = visionWidth
        self.gridSize = gridSize
        self.windowsPerScale = windowsPerScale
        self.referenceCount = referenceCount
    }
}

/// RESULT: a unit's answer, one case per unit kind, or the error that stopped it. Scores
/// travel in blobs as raw float32, so any value, NaN included, reaches the coordinator, which
/// decides what to do with it.
public enum UnitReply: Sendable, Equatable {
    case text(TextVectors)
    case references(ReferenceVectors)
    /// The image score; few-shot, the patch scores `[G²]`.
    case fullPass(imageScore: Float, fewShotPatches: [Float]?)
    /// One score per window of the unit; few-shot, a second score per window.
    case windows(zeroShot: [Float], fewShot: [Float]?)
    case failed(String)

    public func encode(job: UInt64, unit: Int, seconds: Double = 0) -> WireMessage {
        var body = UnitResult(job: job, unit: unit, seconds: seconds)
        var blobs: [[Float]] = []
        switch self {
        case .text(let t): blobs = [t.normal, t.anomalous]
        case .references(let r): blobs = [r.patchTokens] + r.windows
        case .fullPass(let score, let patches): blobs = [[score]] + (patches.map { [$0] } ?? [])
        case .windows(let zero, let few): blobs = [zero] + (few.map { [$0] } ?? [])
        case .failed(let error): body.error = error
        }
        return WireMessage(.result, body, blobs: blobs.map(FloatBlob.encode))
    }

    /// Decodes the RESULT that answers `spec`: the blobs its kind calls for, of the sizes
    /// `spec` and `shape` give; `.failed` when the body carries an error.
    public init(decoding message: WireMessage, answering spec: UnitSpec, shape: ReplyShape) throws {
        guard message.type == .result else { throw PayloadError.body(message.type, "not a RESULT") }
        let body = try message.decode(UnitResult.self)
        guard body.job == spec.job, body.unit == spec.unit else {
            throw PayloadError.body(.result, "answers unit \(body.unit) of job \(body.job), not unit \(spec.unit) of job \(spec.job)")
        }
        if let error = body.error {
            self = .failed(error)
            return
        }
        let blobs = BlobReader(message: message)
        switch spec.work {
        case .text:
            try blobs.expectCount(2)
            let normal = try blobs.floats(0, "normal", count: shape.embedDim)
            self = .text(TextVectors(normal: normal, anomalous: try blobs.floats(1, "anomalous", count: normal.count)))
        case .references:
            let scales = spec.options.scales.count, k = shape.referenceCount
            try blobs.expectCount(1 + scales)
            var patchFloats: Int?
            if let g = shape.gridSize, let w = shape.visionWidth { patchFloats = k * g * g * w }
            let patches = try blobs.floats(0, "patch tokens", count: patchFloats)
            let windows = try (0..<scales).map { s throws(PayloadError) in
                var expected: Int?
                if let e = shape.embedDim, let perScale = shape.windowsPerScale, s < perScale.count { expected = k * perScale[s] * e }
                return try blobs.floats(1 + s, "windows of scale \(spec.options.scales[s])", count: expected)
            }
            self = .references(ReferenceVectors(count: k, patchTokens: patches, windows: windows))
        case .fullPass(_, _, let fewShot):
            try blobs.expectCount(fewShot ? 2 : 1)
            let score = try blobs.floats(0, "image score", count: 1)[0]
            let cells = shape.gridSize.map { $0 * $0 }
            self = .fullPass(imageScore: score, fewShotPatches: fewShot ? try blobs.floats(1, "few-shot patch scores", count: cells) : nil)
        case .windows(_, _, let windows, _, let fewShot):
            try blobs.expectCount(fewShot ? 2 : 1)
            self = .windows(zeroShot: try blobs.floats(0, "zero-shot window scores", count: windows.count),
                            fewShot: fewShot ? try blobs.floats(1, "few-shot window scores", count: windows.count) : nil)
        }
    }

    /// Bit for bit, so that setup answers of two workers agree only when identical.
    public static func == (a: UnitReply, b: UnitReply) -> Bool {
        switch (a, b) {
        case (.text(let x), .text(let y)): return x == y
        case (.references(let x), .references(let y)): return x == y
        case (.fullPass(let s, let p), .fullPass(let t, let q)):
            return s.bitPattern == t.bitPattern && FloatBlob.identical(p, q)
        case (.windows(let z, let f), .windows(let y, let g)):
            return FloatBlob.identical(z, y) && FloatBlob.identical(f, g)
        case (.failed(let x), .failed(let y)): return x == y
        default: return false
        }
    }
}
