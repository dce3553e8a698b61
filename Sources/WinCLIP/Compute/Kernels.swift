import CKernels
import Foundation

/// The transformer's work outside the GEMMs, as Swift calls of the C kernels (Sources/CKernels,
/// compiled per CPU with target_clones; Swift's SIMD types compile to baseline SSE here).
enum Kernels {
    enum Activation {
        case none, gelu, quickGELU

        var c: winclip_activation {
            switch self {
            case .none: winclip_activation_none
            case .gelu: winclip_activation_gelu
            case .quickGELU: winclip_activation_quick_gelu
            }
        }
    }

    /// y[r, :] = LayerNorm(x[r, :]) * weight + bias, eps 1e-5 as torch.nn.LayerNorm; in place allowed.
    static func layerNorm(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, width: Int, _ w: LayerNormWeights, eps: Float = 1e-5) {
        w.weight.withUnsafeBufferPointer { gamma in
            w.bias.withUnsafeBufferPointer { beta in
                winclip_layer_norm(x, y, rows, width, gamma.baseAddress!, beta.baseAddress!, eps)
            }
        }
    }

    /// y[r, :] = act(y[r, :] + bias) in place, one pass (exact GELU as torch.nn.GELU, or
    /// open_clip's QuickGELU x sigmoid(1.702 x)).
    static func biasActivation(_ y: UnsafeMutablePointer<Float>, bias: [Float]?, rows: Int, width: Int, _ activation: Activation) {
        if let bias {
            bias.withUnsafeBufferPointer { winclip_bias_activation(y, $0.baseAddress!, rows, width, activation.c) }
        } else {
            winclip_bias_activation(y, nil, rows, width, activation.c)
        }
    }

    /// x += y + bias (or x += gamma * (y + bias) per column, for LayerScale), one pass.
    static func biasResidual(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, bias: [Float], rows: Int, width: Int, gamma: [Float]?) {
        bias.withUnsafeBufferPointer { b in
            if let gamma {
                gamma.withUnsafeBufferPointer { winclip_bias_residual(x, y, b.baseAddress!, $0.baseAddress!, rows, width) }
            } else {
                winclip_bias_residual(x, y, b.baseAddress!, nil, rows, width)
            }
        }
    }

    /// Softmax of each row of s [rows, count] in place. Causal: they are rows firstRow... of a
    /// causal attention, and row i keeps entries 0...i.
    static func softmaxRows(_ s: UnsafeMutablePointer<Float>, rows: Int, count: Int, firstRow: Int = 0, causal: Bool) {
        winclip_softmax_rows(s, rows, count, firstRow, causal ? 1 : 0)
    }

    /// Scaled dot-product attention of one short sequence, every head, with loops instead of
    /// GEMM calls. qkv: [length, 3 heads headWidth] rows of [q | k | v]; out rows `outStride`
    /// apart; scores: scratch of at least `length` floats.
    static func attentionShort(qkv: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, outStride: Int, length: Int, heads: Int,
                               headWidth: Int, scale: Float, causal: Bool, scores: UnsafeMutablePointer<Float>) {
        winclip_attention_short(qkv, out, outStride, length, heads, headWidth, scale, causal ? 1 : 0, scores)
    }
}
