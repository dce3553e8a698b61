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
        let activation: Kernels.Activation = quickGELU ? .quickGELU : .gelu
        for block in blocks {
            // x = x + attn(ln_1(x))
            Kernels.layerNorm(x, normed, rows: rows, width: width, block.ln1)
            gemm.linear(normed, rows: rows, weights: block.attnIn, into: wide)  // qkv [rows, 3 width]
            Kernels.biasActivation(wide, bias: block.attnIn.bias, rows: rows, width: 3 * width, .none)
            attention(qkv: wide, out: attended, batch: batch, gemm: gemm)
            gemm.linear(attended, rows: rows, weights: block.attnOut, into: normed)
            Kernels.biasResidual(x, normed, bias: block.attnOut.bias, rows: rows, width: width, gamma: block.ls1)
            // x = x + mlp(ln_2(x))
            Kernels.layerNorm(x, normed, rows: rows, width: width, block.ln2)
            gemm.linear(normed, rows: rows, weights: block.fc, into: wide)  // [rows, mlp]
            Kernels.biasActivation(wide, bias: block.fc.bias, rows: rows, width: mlpWidth, activation)
            gemm.linear(wide, rows: rows, weights: block.proj, into: normed)
            Kernels.biasResidual(x, normed, bias: block.proj.bias, rows: rows, width: width, gamma: block.ls2)
        }
    }

    /// Scaled dot-product attention per sequence and head; qkv rows hold [q | k | v] (biases added).
    func attention(qkv: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, batch: SequenceBatch, gemm: MatMulBackend) {
        let headWidth = width / heads
        let stride = 3 * width
        let scale = 1 / Float(headWidth).squareRoot()
        let longest = batch.lengths.max() ?? 0
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: longest * longest)
        defer { scores.deallocate() }
        for (start, length) in zip(batch.starts, batch.lengths) where length > 0 {
            if length <= Self.shortSequence {
                // Short sequences (windows, most prompts): plain loops beat GEMM call overhead.
                Kernels.attentionShort(qkv: qkv + start * stride, out: out + start * width, outStride: width, length: length,
                                       heads: heads, headWidth: headWidth, scale: scale, causal: causal, scores: scores)
                continue
            }
            for h in 0..<heads {
                let q = qkv + start * stride + h * headWidth
                let k = q + width
                let v = q + 2 * width
                let o = out + start * width + h * headWidth
                // scores [L, L] = scale * q_h k_h^T; out_h [L, hd] = P v_h
                gemm.gemm(transA: false, transB: true, m: length, n: length, k: headWidth, alpha: scale,
                          a: q, lda: stride, b: k, ldb: stride, beta: 0, c: scores, ldc: length)
                Kernels.softmaxRows(scores, rows: length, count: length, causal: causal)
                gemm.gemm(transA: false, transB: false, m: length, n: headWidth, k: length, alpha: 1,
                          a: scores, lda: length, b: v, ldb: stride, beta: 0, c: o, ldc: width)
            }
        }
    }

    /// Sequences up to this length take the loop kernel instead of two GEMMs per head.
    static let shortSequence = 24
}
