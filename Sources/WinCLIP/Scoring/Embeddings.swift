/// The pair of class text embeddings: means of the un-normalised prompt embeddings [E] each.
public struct TextEmbeddings: Sendable, Equatable, Codable {
    public var normal: [Float]
    public var anomalous: [Float]
    public init(normal: [Float], anomalous: [Float]) {
        self.normal = normal
        self.anomalous = anomalous
    }
}

/// What few-shot scoring compares against, from K normal reference images: every patch token
/// [K * G^2, W] and every window embedding of each scale [K * n_s, E], stored L2-normalised.
public struct ReferenceEmbeddings: Sendable, Equatable, Codable {
    public var count: Int
    public var patchTokens: [Float]
    public var windows: [[Float]]
    public init(count: Int, patchTokens: [Float], windows: [[Float]]) {
        self.count = count
        self.patchTokens = patchTokens
        self.windows = windows
    }
}

/// The per-window scores of one image: what workers send and the coordinator aggregates.
public struct ImageWindowScores: Sendable, Equatable, Codable {
    /// softmax(cos / T)[anomalous] of the full-image embedding.
    public var imageScore: Float
    /// Zero-shot class scores per scale, one per window.
    public var zeroShot: [[Float]]
    /// Few-shot visual association of every patch token [G^2] (nil when zero-shot).
    public var fewShotPatches: [Float]?
    /// Few-shot visual association per scale, one per window (nil when zero-shot).
    public var fewShot: [[Float]]?

    public init(imageScore: Float, zeroShot: [[Float]], fewShotPatches: [Float]?, fewShot: [[Float]]?) {
        self.imageScore = imageScore
        self.zeroShot = zeroShot
        self.fewShotPatches = fewShotPatches
        self.fewShot = fewShot
    }
}

/// An image's anomaly score and map, as anomalib's `WinClipModel` returns them.
public struct AnomalyResult: Sendable, Equatable {
    public var score: Float
    /// [S, S] row-major at the model's input size; nil when the job asked for no map.
    public var map: [Float]?
    public var size: Int
    public init(score: Float, map: [Float]?, size: Int) {
        self.score = score
        self.map = map
        self.size = size
    }
}
