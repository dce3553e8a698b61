import Foundation

/// anomalib's `utils.py` scores on embeddings: cosine similarity, class scores, visual association.
enum Similarity {
    /// x / max(||x||, 1e-12), as torch.nn.functional.normalize.
    static func normalized(_ x: ArraySlice<Float>) -> [Float] {
        var sq: Float = 0
        for v in x { sq += v * v }
        let n = max(sq.squareRoot(), 1e-12)
        return x.map { $0 / n }
    }

    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var s: Float = 0
        for i in 0..<n { s += a[i] * b[i] }
        return s
    }

    /// Rows of [n, d] normalised (one row per embedding).
    static func normalizedRows(_ x: [Float], width d: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for r in 0..<(x.count / d) {
            let row = normalized(x[(r * d)..<((r + 1) * d)])
            for i in 0..<d { out[r * d + i] = row[i] }
        }
        return out
    }

    /// softmax(cos(e, text) / T)[anomalous] for each row of embeddings [n, d]; text = [normal | anomalous].
    static func anomalousClassScores(_ embeddings: [Float], width d: Int, text: TextEmbeddings, temperature: Float) -> [Float] {
        let e = normalizedRows(embeddings, width: d)
        let normal = normalized(text.normal[...]), anomalous = normalized(text.anomalous[...])
        let n = embeddings.count / d
        var scores = [Float](repeating: 0, count: n)
        e.withUnsafeBufferPointer { ep in
            for r in 0..<n {
                let row = ep.baseAddress! + r * d
                let l0 = normal.withUnsafeBufferPointer { dot(row, $0.baseAddress!, d) } / temperature
                let l1 = anomalous.withUnsafeBufferPointer { dot(row, $0.baseAddress!, d) } / temperature
                // two-class softmax, as torch computes it: exp(x - max) / sum
                let m = max(l0, l1)
                let e0 = expf(l0 - m), e1 = expf(l1 - m)
                scores[r] = e1 / (e0 + e1)
            }
        }
        return scores
    }

    /// min over references of (1 - cos(e, ref)) / 2 for each row of embeddings [n, d];
    /// references [m, d] already normalised.
    static func visualAssociation(_ embeddings: [Float], width d: Int, normalizedReferences refs: [Float], gemm: MatMulBackend) -> [Float] {
        let e = normalizedRows(embeddings, width: d)
        let n = embeddings.count / d, m = refs.count / d
        var sims = [Float](repeating: 0, count: n * m)
        e.withUnsafeBufferPointer { ep in
            refs.withUnsafeBufferPointer { rp in
                sims.withUnsafeMutableBufferPointer { sp in
                    gemm.gemm(transA: false, transB: true, m: n, n: m, k: d, alpha: 1, a: ep.baseAddress!, lda: d,
                              b: rp.baseAddress!, ldb: d, beta: 0, c: sp.baseAddress!, ldc: m)
                }
            }
        }
        var out = [Float](repeating: 0, count: n)
        for r in 0..<n {
            var best = Float.infinity
            for j in 0..<m { best = min(best, 1 - sims[r * m + j]) }
            out[r] = best / 2
        }
        return out
    }
}
