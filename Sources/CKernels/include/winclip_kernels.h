// The transformer's work outside the GEMMs (activations, bias and residual epilogues,
// LayerNorm, softmax, short-sequence attention), compiled per CPU: target_clones picks the
// AVX-512, AVX2 or baseline build at load time. One implementation of each kernel: Swift
// calls these and has no copies of its own.
#ifndef WINCLIP_KERNELS_H
#define WINCLIP_KERNELS_H
#include <stddef.h>

/// The activation applied after a bias: none, exact GELU (torch.nn.GELU), or open_clip's
/// QuickGELU, x * sigmoid(1.702 x).
typedef enum {
    winclip_activation_none = 0,
    winclip_activation_gelu = 1,
    winclip_activation_quick_gelu = 2,
} winclip_activation;

/// y[r, c] = act(y[r, c] + bias[c]) in place, one pass; bias may be NULL (no bias).
/// GELU uses PyTorch's vectorised erf (Abramowitz & Stegun 7.1.26, absolute error < 1.5e-7)
/// and a Cephes exp.
void winclip_bias_activation(float *y, const float *bias, size_t rows, size_t width, winclip_activation act);

/// x[r, c] += gamma[c] * (y[r, c] + bias[c]) (gamma NULL: x += y + bias), one pass; the same
/// roundings as adding the bias to y first.
void winclip_bias_residual(float *x, const float *y, const float *bias, const float *gamma, size_t rows, size_t width);

/// y[r, :] = (x[r, :] - mean) / sqrt(var + eps) * gamma + beta (torch.nn.LayerNorm), mean and
/// variance accumulated in double; x == y allowed.
void winclip_layer_norm(const float *x, float *y, size_t rows, size_t width, const float *gamma, const float *beta, float eps);

/// Softmax of each row of s [rows, count] in place. Causal: the rows are rows first_row... of
/// a causal attention, and row i keeps entries 0...i, the rest becoming 0.
void winclip_softmax_rows(float *s, size_t rows, size_t count, size_t first_row, int causal);

/// Scaled dot-product attention of one short sequence (every head), with plain loops instead
/// of GEMM calls. qkv: [length, 3 width] rows of [q | k | v]; out: [length, width] with rows
/// `out_stride` apart; scores: scratch of at least length floats.
void winclip_attention_short(const float *qkv, float *out, size_t out_stride, size_t length, size_t heads,
                             size_t head_width, float scale, int causal, float *scores);

#endif
