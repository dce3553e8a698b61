import Foundation

/// open_clip's `VisionTransformer` (ViT with class-token pooling).
///
/// Shapes: B images, S = image size, P = patch, G = S / P, T = G^2 + 1 tokens, W = width, E = embed.
public struct VisionTower: Sendable {
    public let config: ModelConfig.Vision
    public let embedDim: Int
    let weights: VisionWeights
    let quickGELU: Bool
    let workspaces = TransformerWorkspacePool()

    var stack: TransformerStack {
        TransformerStack(blocks: weights.blocks, width: config.width, heads: config.heads, quickGELU: quickGELU, causal: false, workspaces: workspaces)
    }

    /// The result of an image pass.
    public struct Output: Sendable {
        /// [B, E]: class token after ln_post, projected (open_clip's `encode_image`).
        public var embeddings: [Float]
        /// [B, G^2, W]: patch tokens after ln_post, not projected (`output_tokens=True`).
        public var patchTokens: [Float]
    }

    /// Token sequences as they enter `patch_dropout`/`ln_pre`: [B, T, W] = [class | patches] + positional.
    /// pixels: [B, 3, S, S] normalised.
    public func embedTokens(pixels: [Float], count batch: Int, gemm: MatMulBackend) -> [Float] {
        let s = config.imageSize, p = config.patchSize, g = config.gridSize, w = config.width
        let t = config.tokens
        precondition(pixels.count == batch * 3 * s * s, "pixels must be [\(batch), 3, \(s), \(s)]")
        let patchLength = 3 * p * p
        // im2col: patches [B G^2, 3 P^2] in conv1.weight's (channel, y, x) order.
        var patches = [Float](repeating: 0, count: batch * g * g * patchLength)
        pixels.withUnsafeBufferPointer { px in
            patches.withUnsafeMutableBufferPointer { out in
                for b in 0..<batch {
                    for gy in 0..<g {
                        for gx in 0..<g {
                            let row = out.baseAddress! + ((b * g + gy) * g + gx) * patchLength
                            for c in 0..<3 {
                                for y in 0..<p {
                                    let src = px.baseAddress! + ((b * 3 + c) * s + gy * p + y) * s + gx * p
                                    let dst = row + (c * p + y) * p
                                    for x in 0..<p { dst[x] = src[x] }
                                }
                            }
                        }
                    }
                }
            }
        }
        var tokens = [Float](repeating: 0, count: batch * t * w)
        tokens.withUnsafeMutableBufferPointer { tk in
            patches.withUnsafeBufferPointer { pt in
                weights.patchEmbedding.withUnsafeBufferPointer { conv in
                    for b in 0..<batch {
                        // patch embeddings land in rows 1..<T of image b
                        gemm.gemm(transA: false, transB: true, m: g * g, n: w, k: patchLength, alpha: 1,
                                  a: pt.baseAddress! + b * g * g * patchLength, lda: patchLength,
                                  b: conv.baseAddress!, ldb: patchLength, beta: 0,
                                  c: tk.baseAddress! + (b * t + 1) * w, ldc: w)
                    }
                }
            }
            for b in 0..<batch {
                let img = tk.baseAddress! + b * t * w
                for i in 0..<w { img[i] = weights.classEmbedding[i] }
                for r in 0..<(t * w) { img[r] += weights.positionalEmbedding[r] }
            }
        }
        return tokens
    }

    /// ln_pre and the transformer over packed token sequences [batch.rows, W] (taken from
    /// `embedTokens`, any lengths). Returns the transformer's output [rows, W].
    /// `tokens` is consumed: a caller that passes its last use (the window encoder's packed
    /// sequences) hands over the buffer instead of having it copied.
    public func transformSequences(_ tokens: consuming [Float], batch: SequenceBatch, gemm: MatMulBackend) -> [Float] {
        let w = config.width
        precondition(tokens.count == batch.rows * w, "tokens must be [\(batch.rows), \(w)]")
        var x = tokens
        x.withUnsafeMutableBufferPointer { xp in
            let base = xp.baseAddress!
            Kernels.layerNorm(base, base, rows: batch.rows, width: w, weights.lnPre)
            stack.forward(base, batch: batch, gemm: gemm)
        }
        return x
    }

    /// ln_post and the projection of the given rows of a transformer output: [rows.count, E].
    public func pool(_ x: [Float], rows: [Int], gemm: MatMulBackend) -> [Float] {
        normalizeAndProject(x, rows: rows, width: config.width, norm: weights.lnPost,
                            projection: weights.projection, embedDim: embedDim, gemm: gemm)
    }

    /// Packed token sequences from ln_pre onward: the projected first token of every sequence
    /// [n, E] and, when asked, all tokens after ln_post [rows, W].
    public func encodeSequences(_ tokens: consuming [Float], batch: SequenceBatch, keepTokens: Bool = false, gemm: MatMulBackend) -> (embeddings: [Float], tokens: [Float]?) {
        var x = transformSequences(tokens, batch: batch, gemm: gemm)
        let embeddings = pool(x, rows: batch.starts, gemm: gemm)
        guard keepTokens else { return (embeddings, nil) }
        x.withUnsafeMutableBufferPointer { xp in
            Kernels.layerNorm(xp.baseAddress!, xp.baseAddress!, rows: batch.rows, width: config.width, weights.lnPost)
        }
        return (embeddings, x)
    }

    /// open_clip's `encode_image` with `output_tokens=True`. pixels: [B, 3, S, S].
    public func encode(pixels: [Float], count batch: Int, gemm: MatMulBackend) -> Output {
        let t = config.tokens, w = config.width
        let tokens = embedTokens(pixels: pixels, count: batch, gemm: gemm)
        let (embeddings, all) = encodeSequences(tokens, batch: .uniform(count: batch, length: t), keepTokens: true, gemm: gemm)
        var patchTokens = [Float](repeating: 0, count: batch * (t - 1) * w)
        all!.withUnsafeBufferPointer { src in
            patchTokens.withUnsafeMutableBufferPointer { dst in
                for b in 0..<batch {
                    (dst.baseAddress! + b * (t - 1) * w).update(from: src.baseAddress! + (b * t + 1) * w, count: (t - 1) * w)
                }
            }
        }
        return Output(embeddings: embeddings, patchTokens: patchTokens)
    }
}
