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
    let workspaces: TransformerWorkspacePool

    /// Runs every block over x [batch.rows, width] in place. With a backend of several threads
    /// the work between GEMMs is split by rows (or sequences) over as many threads, so the
    /// cores the GEMMs use do not wait on one thread.
    func forward(_ x: UnsafeMutablePointer<Float>, batch: SequenceBatch, gemm: MatMulBackend) {
        let rows = batch.rows
        guard rows > 0 else { return }
        let mlpWidth = blocks.first?.fc.outFeatures ?? 4 * width
        let threads = max(1, gemm.parallelism)
        let longest = batch.lengths.max() ?? 0
        let scoreCount = threads * (longest <= Self.shortSequence ? longest : longest * longest)
        workspaces.withWorkspace { workspace in
            let (normed, wide, attended, scores) = workspace.reserve(rows: rows, width: width, wideWidth: max(3 * width, mlpWidth), scores: scoreCount)
            let split = RowSplit(rows: rows, threads: threads)
            let activation: Kernels.Activation = quickGELU ? .quickGELU : .gelu
            for block in blocks {
                // x = x + attn(ln_1(x))
                split.run { r in Kernels.layerNorm(x + r.lowerBound * width, normed + r.lowerBound * width, rows: r.count, width: width, block.ln1) }
                gemm.linear(normed, rows: rows, weights: block.attnIn, into: wide)  // qkv [rows, 3 width]
                split.run { r in Kernels.biasActivation(wide + r.lowerBound * 3 * width, bias: block.attnIn.bias, rows: r.count, width: 3 * width, .none) }
                attention(qkv: wide, out: attended, batch: batch, scores: scores, threads: threads, gemm: gemm)
                gemm.linear(attended, rows: rows, weights: block.attnOut, into: normed)
                split.run { r in
                    Kernels.biasResidual(x + r.lowerBound * width, normed + r.lowerBound * width, bias: block.attnOut.bias, rows: r.count, width: width, gamma: block.ls1)
                }
                // x = x + mlp(ln_2(x))
                split.run { r in Kernels.layerNorm(x + r.lowerBound * width, normed + r.lowerBound * width, rows: r.count, width: width, block.ln2) }
                gemm.linear(normed, rows: rows, weights: block.fc, into: wide)  // [rows, mlp]
                split.run { r in Kernels.biasActivation(wide + r.lowerBound * mlpWidth, bias: block.fc.bias, rows: r.count, width: mlpWidth, activation) }
                gemm.linear(wide, rows: rows, weights: block.proj, into: normed)
                split.run { r in
                    Kernels.biasResidual(x + r.lowerBound * width, normed + r.lowerBound * width, bias: block.proj.bias, rows: r.count, width: width, gamma: block.ls2)
                }
            }
        }
    }

    /// Scaled dot-product attention per sequence and head; qkv rows hold [q | k | v] (biases
    /// added). scores: `threads` scratch blocks of the longest sequence's need.
    func attention(qkv: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, batch: SequenceBatch,
                   scores: UnsafeMutablePointer<Float>, threads: Int, gemm: MatMulBackend) {
        let headWidth = width / heads
        let stride = 3 * width
        let scale = 1 / Float(headWidth).squareRoot()
        let longest = batch.lengths.max() ?? 0
        if longest <= Self.shortSequence {
            // Short sequences (windows, most prompts): loops beat GEMM call overhead; the
            // sequences are split over the threads.
            RowSplit(rows: batch.count, threads: threads).runParts { sequences, thread in
                let scratch = scores + thread * longest
                for n in sequences where batch.lengths[n] > 0 {
                    let start = batch.starts[n]
                    Kernels.attentionShort(qkv: qkv + start * stride, out: out + start * width, outStride: width, length: batch.lengths[n],
                                           heads: heads, headWidth: headWidth, scale: scale, causal: causal, scores: scratch)
                }
            }
            return
        }
        for (start, length) in zip(batch.starts, batch.lengths) where length > 0 {
            for h in 0..<heads {
                let q = qkv + start * stride + h * headWidth
                let k = q + width
                let v = q + 2 * width
                let o = out + start * width + h * headWidth
                // scores [L, L] = scale * q_h k_h^T; out_h [L, hd] = P v_h (the GEMMs use every thread)
                gemm.gemm(transA: false, transB: true, m: length, n: length, k: headWidth, alpha: scale,
                          a: q, lda: stride, b: k, ldb: stride, beta: 0, c: scores, ldc: length)
                RowSplit(rows: length, threads: threads).run { r in
                    Kernels.softmaxRows(scores + r.lowerBound * length, rows: r.count, count: length, firstRow: r.lowerBound, causal: causal)
                }
                gemm.gemm(transA: false, transB: false, m: length, n: headWidth, k: length, alpha: 1,
                          a: scores, lda: length, b: v, ldb: stride, beta: 0, c: o, ldc: width)
            }
        }
    }

    /// Sequences up to this length take the loop kernel instead of two GEMMs per head.
    static let shortSequence = 24
}

/// Rows 0..<rows in `threads` contiguous parts, run at the same time (one part: on the caller).
struct RowSplit {
    let rows: Int
    let threads: Int

    /// Below this many rows a split costs more than it saves.
    static let minimumRowsPerThread = 8

    var parts: Int { max(1, min(threads, rows / Self.minimumRowsPerThread)) }

    func range(_ part: Int) -> Range<Int> {
        let n = parts
        return (rows * part / n)..<(rows * (part + 1) / n)
    }

    func run(_ body: (Range<Int>) -> Void) {
        runParts { r, _ in body(r) }
    }

    /// `body(rows, part)`: part in 0..<threads, for per-thread scratch.
    func runParts(_ body: (Range<Int>, Int) -> Void) {
        let n = parts
        if n == 1 { body(0..<rows, 0); return }
        withoutActuallyEscaping(body) { escapable in
            // Safe to share across the parts: concurrentPerform returns only after every part has
            // run, so `body` does not outlive this call, and the parts touch disjoint rows (or
            // their own scratch), never the same memory.
            nonisolated(unsafe) let shared = escapable
            DispatchQueue.concurrentPerform(iterations: n) { part in shared(range(part), part) }
        }
    }
}
