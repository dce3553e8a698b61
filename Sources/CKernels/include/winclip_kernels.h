// Element-wise kernels that Swift does not vectorise well, compiled per CPU (target_clones
// picks the AVX-512, AVX2 or baseline build at load time).
#ifndef WINCLIP_KERNELS_H
#define WINCLIP_KERNELS_H
#include <stddef.h>

/// Exact GELU in place, 0.5 x (1 + erf(x / sqrt 2)), with PyTorch's vectorised erf
/// (Abramowitz & Stegun 7.1.26, absolute error < 1.5e-7) and a Cephes exp.
void winclip_gelu(float *x, size_t n);
/// QuickGELU in place, x * sigmoid(1.702 x).
void winclip_quick_gelu(float *x, size_t n);

#endif
