import Options

/// The full passes (the `full` unit) of several images run as one batch, so that the linear
/// layers multiply all their token rows in one larger GEMM (226 rows per image at full size:
/// alone, too few to keep the cores at the GEMM ceiling).
///
/// Every image's result is bit-identical to its pass alone: the batch only joins rows where
/// each output row depends on its own input row alone (the linear layers, LayerNorm,
/// activations), and the products whose shape would change with the batch are run per image
/// with the shapes of the single pass (the patch embedding, the pooled projection, the
/// few-shot association). That the linear layers' GEMM gives each row the same bits whatever
/// the row count is a property of the backend (`MatMulBackend.batchInvariantRows`); on a
/// backend without it the images run one at a time, so the scores never depend on the batch.
extension WinCLIPScorer {
    /// Runs the full pass of each preprocessed image [3, S, S] and returns one `.full` result
    /// per image, in order: what `run(.full, pixels:)` returns for that image alone. An image
    /// of the wrong size is refused (naming it) before any work; no images, no results.
    public func runFullPasses(pixels images: [[Float]], context: ScoringContext, gemm: MatMulBackend) throws -> [UnitScores] {
        let v = model.config.vision, e = model.config.embedDim, w = v.width, t = v.tokens
        let imageLength = 3 * v.imageSize * v.imageSize
        if let bad = images.firstIndex(where: { $0.count != imageLength }) {
            throw ScoringError("pixels of image \(bad) of the batch must be [3, \(v.imageSize), \(v.imageSize)], got \(images[bad].count) values")
        }
        guard !images.isEmpty else { return [] }
        if images.count > 1 && !gemm.batchInvariantRows {
            return try images.flatMap { try runFullPasses(pixels: [$0], context: context, gemm: gemm) }
        }
        let b = images.count
        // Token rows of every image, [B, T, W]; each image's patch embedding is its own GEMM.
        var tokens: [Float] = []
        tokens.reserveCapacity(b * t * w)
        for pixels in images { tokens += model.vision.embedTokens(pixels: pixels, count: 1, gemm: gemm) }
        let batch = SequenceBatch.uniform(count: b, length: t)
        var x = model.vision.transformSequences(tokens, batch: batch, gemm: gemm)
        // The class token of each image through ln_post and the projection, one row at a time:
        // a product of 1 row, as in the single pass.
        var imageScores: [Float] = []
        imageScores.reserveCapacity(b)
        for start in batch.starts {
            let embedding = model.vision.pool(x, rows: [start], gemm: gemm)
            imageScores.append(Similarity.anomalousClassScores(embedding, width: e, text: context.text, temperature: Self.temperature)[0])
        }
        guard let references = context.references else {
            return imageScores.map { .full(imageScore: $0, fewShotPatches: nil) }
        }
        x.withUnsafeMutableBufferPointer { xp in
            Kernels.layerNorm(xp.baseAddress!, xp.baseAddress!, rows: batch.rows, width: w, model.vision.weights.lnPost)
        }
        return imageScores.enumerated().map { image, score in
            let patches = Array(x[((image * t + 1) * w)..<((image + 1) * t * w)])
            return .full(imageScore: score,
                         fewShotPatches: Similarity.visualAssociation(patches, width: w, normalizedReferences: references.patchTokens, gemm: gemm))
        }
    }
}
