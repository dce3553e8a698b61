import Options
/// Builds the window sequences of one scale from the tokens before `ln_pre` and runs them
/// through the rest of the image tower (ln_pre, transformer, ln_post, class token, proj).
public struct WindowEncoder: Sendable {
    public let vision: VisionTower
    public let masks: WindowMasks
    public let attention: WindowAttention

    public init(vision: VisionTower, masks: WindowMasks, attention: WindowAttention) {
        self.vision = vision
        self.masks = masks
        self.attention = attention
    }

    /// tokens: [B, T, W] before ln_pre, for B images encoded together. Returns the window
    /// embeddings [B, n windows, E] (window-major within each image).
    public func encode(tokens: [Float], images b: Int, gemm: MatMulBackend) -> [Float] {
        encode(tokens: tokens, images: b, windows: 0..<masks.count, gemm: gemm)
    }

    /// The embeddings of a range of windows [B, windows.count, E]. With `.cross` the
    /// windows attend to each other, so only the full range reproduces anomalib.
    public func encode(tokens: [Float], images b: Int, windows: Range<Int>, gemm: MatMulBackend) -> [Float] {
        let w = vision.config.width, t = vision.config.tokens, e = vision.embedDim
        let length = masks.sequenceLength
        let n = windows.count
        precondition(tokens.count == b * t * w, "tokens must be [\(b), \(t), \(w)]")
        // Token row (in image `image`'s [T, W] block) at position p of window m: 0 = class.
        func source(_ m: Int, _ p: Int) -> Int { p == 0 ? 0 : masks.windows[m][p - 1] + 1 }
        var packed = [Float](repeating: 0, count: b * n * length * w)
        let batch: SequenceBatch
        tokens.withUnsafeBufferPointer { src in
            packed.withUnsafeMutableBufferPointer { dst in
                func copy(row: Int, image: Int, token: Int) {
                    (dst.baseAddress! + row * w).update(from: src.baseAddress! + (image * t + token) * w, count: w)
                }
                switch attention {
                case .window:
                    // sequence (image, window): [class, patches...]
                    for image in 0..<b {
                        for (i, m) in windows.enumerated() {
                            for p in 0..<length { copy(row: ((image * n + i) * length) + p, image: image, token: source(m, p)) }
                        }
                    }
                case .cross:
                    // sequence p: the p-th token of every (window, image), window-major as
                    // anomalib's torch.cat over masks of [B, L, D] blocks.
                    for p in 0..<length {
                        for (i, m) in windows.enumerated() {
                            for image in 0..<b { copy(row: (p * n + i) * b + image, image: image, token: source(m, p)) }
                        }
                    }
                }
            }
        }
        switch attention {
        case .window: batch = .uniform(count: b * n, length: length)
        case .cross: batch = .uniform(count: length, length: n * b)
        }
        if attention == .window {
            let (embeddings, _) = vision.encodeSequences(packed, batch: batch, gemm: gemm)
            return embeddings  // already [B, n, E]
        }
        // Class tokens are the first sequence's rows: (window i, image) at row i * B + image.
        let x = vision.transformSequences(packed, batch: batch, gemm: gemm)
        let all = vision.pool(x, rows: Array(0..<(n * b)), gemm: gemm)
        var out = [Float](repeating: 0, count: b * n * e)
        for i in 0..<n {
            for image in 0..<b {
                let src = (i * b + image) * e
                for c in 0..<e { out[(image * n + i) * e + c] = all[src + c] }
            }
        }
        return out
    }
}
