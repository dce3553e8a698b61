import Foundation

/// CONTEXT: a job's text embeddings and, few-shot, its reference embeddings, which a worker
/// keeps to score the job's image units.
public struct JobEmbeddings: Sendable, Equatable {
    public var job: UInt64
    public var text: TextVectors
    public var references: ReferenceVectors?

    public init(job: UInt64, text: TextVectors, references: ReferenceVectors?) {
        self.job = job
        self.text = text
        self.references = references
    }

    public func encode() -> WireMessage {
        var blobs = [text.normal, text.anomalous]
        if let references { blobs += [references.patchTokens] + references.windows }
        return WireMessage(.context, JobContext(job: job, referenceCount: references?.count ?? 0), blobs: blobs.map(FloatBlob.encode))
    }

    /// Decodes a CONTEXT for a model of embedding size E, patch grid G and vision width W:
    /// text `[E]` twice; few-shot, patch tokens `[K·G², W]` and per scale windows `[K·n_s, E]`.
    public init(decoding message: WireMessage, embedDim e: Int, gridSize g: Int, visionWidth w: Int) throws {
        guard message.type == .context else { throw PayloadError.body(message.type, "not a CONTEXT") }
        let header = try message.decode(JobContext.self)
        let blobs = BlobReader(message: message), k = header.referenceCount
        guard k >= 0 else { throw PayloadError.body(.context, "negative reference count \(k)") }
        job = header.job
        if k == 0 {
            try blobs.expectCount(2)
        } else {
            // The scale count is the job's (in its UNITs), so only "at least one" is checked here.
            guard message.blobs.count >= 4 else { throw PayloadError.blobCount(.context, expected: 4, actual: message.blobs.count) }
        }
        text = TextVectors(normal: try blobs.floats(0, "normal", count: e), anomalous: try blobs.floats(1, "anomalous", count: e))
        guard k > 0 else {
            references = nil
            return
        }
        let patches = try blobs.floats(2, "patch tokens", count: k * g * g * w)
        let windows = try (3..<message.blobs.count).map { i throws(PayloadError) in
            try blobs.floats(i, "windows of scale index \(i - 3)", multipleOf: k * e)
        }
        references = ReferenceVectors(count: k, patchTokens: patches, windows: windows)
    }
}
