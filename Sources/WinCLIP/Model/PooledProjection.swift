/// The end of both towers: LayerNorm of the pooled rows, then the projection.
/// x: [rows, W]; returns [rows.count, E] = LN(x[rows]) @ projection [W, E].
func normalizeAndProject(_ x: [Float], rows: [Int], width w: Int, norm: LayerNormWeights,
                         projection: [Float], embedDim e: Int, gemm: MatMulBackend) -> [Float] {
    var pooled = [Float](repeating: 0, count: rows.count * w)
    x.withUnsafeBufferPointer { xp in
        pooled.withUnsafeMutableBufferPointer { pp in
            for (i, r) in rows.enumerated() {
                Kernels.layerNorm(xp.baseAddress! + r * w, pp.baseAddress! + i * w, rows: 1, width: w, norm)
            }
        }
    }
    var out = [Float](repeating: 0, count: rows.count * e)
    pooled.withUnsafeBufferPointer { pp in
        projection.withUnsafeBufferPointer { proj in
            out.withUnsafeMutableBufferPointer { op in
                gemm.gemm(transA: false, transB: false, m: rows.count, n: e, k: w, alpha: 1,
                          a: pp.baseAddress!, lda: w, b: proj.baseAddress!, ldb: e, beta: 0, c: op.baseAddress!, ldc: e)
            }
        }
    }
    return out
}
