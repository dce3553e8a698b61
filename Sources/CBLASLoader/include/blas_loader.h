// Run-time loader for OpenBLAS's CBLAS interface.
//
// Debian's OpenBLAS 0.3.21 is a DYNAMIC_ARCH build that picks its kernels in a library
// constructor, from the CPU it detects, unless OPENBLAS_CORETYPE names one. On CPUs newer
// than the build (Sapphire Rapids with AMX) it falls back to "Prescott" kernels, about 5x
// slower. Opening the library with dlopen after deciding the core is the only way to choose
// kernels from inside the process.
#ifndef WINCLIP_BLAS_LOADER_H
#define WINCLIP_BLAS_LOADER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// CPU features that decide which OpenBLAS core can run here.
typedef struct {
    int sse3, ssse3, sse4_2, avx, avx2, fma, avx512f, avx512bw, avx512vl, avx512dq, avx512_bf16, amx_tile, amx_bf16;
} winclip_cpu_features;

void winclip_cpu_probe(winclip_cpu_features *out);

/// Opens the first loadable library of `paths` (NULL-terminated). Returns 0 on success, else
/// writes a message into `error` (at most `error_len` bytes) and returns -1. Once loaded, later
/// calls return 0 without reloading.
int winclip_blas_open(const char *const *paths, char *error, size_t error_len);

/// The core name the loaded library runs ("SkylakeX", "Haswell", "Prescott"...), or "" if none.
const char *winclip_blas_corename(void);
/// The configuration string OpenBLAS reports (version, build flags), or "".
const char *winclip_blas_config(void);
void winclip_blas_set_threads(int n);
int winclip_blas_get_threads(void);

/// Row-major single-precision GEMM: C = alpha * op(A) op(B) + beta * C.
void winclip_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
                   const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

#ifdef __cplusplus
}
#endif
#endif
