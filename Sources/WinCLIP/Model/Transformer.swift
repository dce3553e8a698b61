import Foundation

/// A batch of token sequences of any lengths, packed row after row: sequence i occupies rows
/// `starts[i] ..< starts[i] + lengths[i]` of a [rows, width] matrix. Window passes use many
/// equal short sequences; text uses one sequence per prompt, cut at its end token.
public struct SequenceBatch: Sendable, Equatable {
    public let starts: [Int]
    public let lengths: [Int]
    public var rows: Int { (starts.last ?? 0) + (lengths.last ?? 0) }
    public var count: Int { lengths.count }

    public init(lengths: [Int]) {
        var starts: [Int] = []
        starts.reserveCapacity(lengths.count)
        var s = 0
        for l in lengths { starts.append(s); s += l }
        self.starts = starts
        self.lengths = lengths
    }

    public static func uniform(count: Int, length: Int) -> SequenceBatch {
        SequenceBatch(lengths: Array(repeating: length, count: count))
    }
}

/// open_clip's `Transformer`: pre-LN residual blocks of multi-head self-attention and an MLP.
struct TransformerStack {
    let blocks: [ResidualBlockWeights]
    let width: Int
    let heads: Int
    let quickGELU: Bool
    let causal: Bool

    /// Runs every block over x [batch.rows, width] in place.
    func forward(_ x: UnsafeMutablePointer<Float>, batch: SequenceBatch, gemm: MatMulBackend) {
        let rows = batch.rows
        guard rows > 0 else { return }
        let mlpWidth = blocks.first?.fc.outFeatures ?? 4 * width
        let normed = UnsafeMutablePointer<Float>.allocate(capacity: rows * width)
        let wide = UnsafeMutablePointer<Float>.allocate(capacity: rows * max(3 * width, mlpWidth))
        let attended = UnsafeMutablePointer<Float>.allocate(capacity: rows * width)
        defer { normed.deallocate(); wide.deallocate(); attended.deallocate() }
        for block in blocks {
            // x = x + attn(ln_1(x))
            Kernels.layerNorm(x, normed, rows: rows, width: width, block.ln1)
            linear(normed, rows: rows, block.attnIn, into: wide, gemm: gemm)  // qkv [rows, 3 width]
            attention(qkv: wide, out: attended, batch: batch, gemm: gemm)
            linear(attended, rows: rows, block.attnOut, into: normed, gemm: gemm)
            Kernels.addResidual(x, normed, rows: rows, width: width, gamma: block.ls1)
            // x = x + mlp(ln_2(x))
            Kernels.layerNorm(x, normed, rows: rows, width: width, block.ln2)
            linear(normed, rows: rows, block.fc, into: wide, gemm: gemm)  // [rows, mlp]
            if quickGELU { VectorMath.quickGELU(wide, count: rows * mlpWidth) } else { VectorMath.gelu(wide, count: rows * mlpWidth) }
            linear(wide, rows: rows, block.proj, into: normed, gemm: gemm)
            Kernels.addResidual(x, normed, rows: rows, width: width, gamma: block.ls2)
        }
    }

    /// y [rows, out] = x [rows, in] W^T + b.
    func linear(_ x: UnsafePointer<Float>, rows: Int, _ w: LinearWeights, into y: UnsafeMutablePointer<Float>, gemm: MatMulBackend) {
        w.weight.withUnsafeBufferPointer { wp in
            gemm.gemm(transA: false, transB: true, m: rows, n: w.outFeatures, k: w.inFeatures, alpha: 1,
                      a: x, lda: w.inFeatures, b: wp.baseAddress!, ldb: w.inFeatures, beta: 0, c: y, ldc: w.outFeatures)
        }
        w.bias.withUnsafeBufferPointer { Kernels.addBias(y, rows: rows, width: w.outFeatures, $0.baseAddress!) }
    }

    /// Scaled dot-product attention per sequence and head; qkv rows hold [q | k | v].
    func attention(qkv: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, batch: SequenceBatch, gemm: MatMulBackend) {
        let headWidth = width / heads
        let stride = 3 * width
        let scale = 1 / Float(headWidth).squareRoot()
        let longest = batch.lengths.max() ?? 0
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: longest * longest)
        defer { scores.deallocate() }
        for (start, length) in zip(batch.starts, batch.lengths) where length > 0 {
            for h in 0..<heads {
                let q = qkv + start * stride + h * headWidth
                let k = q + width
                let v = q + 2 * width
                let o = out + start * width + h * headWidth
                if length > 24 {
                    // scores [L, L] = scale * q_h k_h^T; out_h [L, hd] = P v_h
                    gemm.gemm(transA: false, transB: true, m: length, n: length, k: headWidth, alpha: scale,
                              a: q, lda: stride, b: k, ldb: stride, beta: 0, c: scores, ldc: length)
                    for i in 0..<length {
                        Kernels.softmaxRow(scores + i * length, count: length, valid: causal ? i + 1 : length)
                    }
                    gemm.gemm(transA: false, transB: false, m: length, n: headWidth, k: length, alpha: 1,
                              a: scores, lda: length, b: v, ldb: stride, beta: 0, c: o, ldc: width)
                } else {
                    // Short sequences (windows): plain loops beat GEMM call overhead.
                    for i in 0..<length {
                        let qi = q + i * stride
                        let valid = causal ? i + 1 : length
                        let s = scores + i * length
                        for j in 0..<valid {
                            let kj = k + j * stride
                            var dot: Float = 0
                            for d in 0..<headWidth { dot += qi[d] * kj[d] }
                            s[j] = dot * scale
                        }
                        Kernels.softmaxRow(s, count: length, valid: valid)
                        let oi = o + i * width
                        for d in 0..<headWidth { oi[d] = 0 }
                        for j in 0..<valid {
                            let p = s[j]
                            let vj = v + j * stride
                            for d in 0..<headWidth { oi[d] += p * vj[d] }
                        }
                    }
                }
            }
        }
    }
}
