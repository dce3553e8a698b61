#include "winclip_kernels.h"

// Multiply-adds of the activations may fuse (FMA where the clone has it): the polynomials get
// shorter and no less accurate. The other kernels keep -ffp-contract=off, so that fused
// epilogues round exactly as the separate passes did.
#pragma clang fp contract(fast)
#include "kernel_math.h"

static inline float gelu(float v) { return 0.5f * v * (1.0f + erf_approx(v * 0.70710678118654752f)); }
static inline float quick_gelu(float v) { return v / (1.0f + exp_approx(-1.702f * v)); }

// One loop per (bias, activation) case, so each vectorises without branches in the body.
__attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
void winclip_bias_activation(float *y, const float *bias, size_t rows, size_t width, winclip_activation act) {
    for (size_t r = 0; r < rows; r++) {
        float *yr = y + r * width;
        if (bias) {
            switch (act) {
            case winclip_activation_none: for (size_t i = 0; i < width; i++) yr[i] = yr[i] + bias[i]; break;
            case winclip_activation_gelu: for (size_t i = 0; i < width; i++) yr[i] = gelu(yr[i] + bias[i]); break;
            case winclip_activation_quick_gelu: for (size_t i = 0; i < width; i++) yr[i] = quick_gelu(yr[i] + bias[i]); break;
            }
        } else {
            switch (act) {
            case winclip_activation_none: break;
            case winclip_activation_gelu: for (size_t i = 0; i < width; i++) yr[i] = gelu(yr[i]); break;
            case winclip_activation_quick_gelu: for (size_t i = 0; i < width; i++) yr[i] = quick_gelu(yr[i]); break;
            }
        }
    }
}
