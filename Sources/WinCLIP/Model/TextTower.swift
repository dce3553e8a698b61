import Foundation

/// open_clip's `TextTransformer` with argmax (end-token) pooling.
public struct TextTower: Sendable {
    public let config: ModelConfig.Text
    public let embedDim: Int
    let weights: TextWeights
    let quickGELU: Bool
    let workspaces = TransformerWorkspacePool()

    public struct InputError: Error, CustomStringConvertible { public let description: String }

    /// open_clip's `encode_text` (not normalised): [N, E] for N rows of token ids.
    ///
    /// The mask is causal and pooling takes the token at the first maximum id (the end token),
    /// so every token after it cannot change the result: each prompt is computed only up to
    /// its end token, which is exact and saves most of the work on short prompts.
    /// Always fp32 (`gemm.exact`): see `MatMulBackend.exact`.
    public func encode(tokenIDs: [[Int]], gemm requested: MatMulBackend) throws -> [Float] {
        let gemm = requested.exact
        let w = config.width, e = embedDim
        var lengths: [Int] = []
        for (n, ids) in tokenIDs.enumerated() {
            guard !ids.isEmpty, ids.count <= config.contextLength else {
                throw InputError(description: "prompt \(n) has \(ids.count) tokens; 1...\(config.contextLength) are allowed")
            }
            if let bad = ids.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
                throw InputError(description: "prompt \(n) has token id \(bad) outside the vocabulary of \(config.vocabSize)")
            }
            let maxID = ids.max()!
            lengths.append(ids.firstIndex(of: maxID)! + 1)
        }
        let batch = SequenceBatch(lengths: lengths)
        var x = [Float](repeating: 0, count: batch.rows * w)
        x.withUnsafeMutableBufferPointer { xp in
            weights.tokenEmbedding.withUnsafeBufferPointer { tok in
                weights.positionalEmbedding.withUnsafeBufferPointer { pos in
                    for (n, ids) in tokenIDs.enumerated() {
                        for i in 0..<lengths[n] {
                            let dst = xp.baseAddress! + (batch.starts[n] + i) * w
                            let t = tok.baseAddress! + ids[i] * w, p = pos.baseAddress! + i * w
                            for c in 0..<w { dst[c] = t[c] + p[c] }
                        }
                    }
                }
            }
            TransformerStack(blocks: weights.blocks, width: w, heads: config.heads, quickGELU: quickGELU, causal: true, workspaces: workspaces)
                .forward(xp.baseAddress!, batch: batch, gemm: gemm)
        }
        // ln_final on each end token, then the projection.
        let ends = (0..<tokenIDs.count).map { batch.starts[$0] + lengths[$0] - 1 }
        return normalizeAndProject(x, rows: ends, width: w, norm: weights.lnFinal,
                                   projection: weights.projection, embedDim: e, gemm: gemm)
    }
}
