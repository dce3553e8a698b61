// Run-time loader for oneDNN's matmul (Debian's libdnnl2), bf16 or f32.
//
// oneDNN is opened with dlopen, not linked: it pulls in libgomp and libOpenCL, and only the
// bf16 path needs it, so fp32 programs and machines without the package are unaffected.
// The shim is compiled against oneDNN's headers when libdnnl-dev is installed; without them
// it still builds and winclip_dnnl_open reports that this build has no oneDNN support.
#ifndef WINCLIP_DNNL_LOADER_H
#define WINCLIP_DNNL_LOADER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this build saw oneDNN's headers (libdnnl-dev), else 0.
int winclip_dnnl_built_with_headers(void);

/// Opens the first loadable library of `paths` (NULL-terminated) and creates the CPU engine.
/// Returns 0 on success, else writes a message into `error` and returns -1. Later calls return
/// the first result.
int winclip_dnnl_open(const char *const *paths, char *error, size_t error_len);

/// "major.minor.patch (hash)" of the opened library, or "".
const char *winclip_dnnl_version(void);
/// The ISA oneDNN's kernels use on this CPU (e.g. "avx512_core_bf16"), or a number.
const char *winclip_dnnl_isa(void);
/// 1 when that ISA has bf16 instructions (AVX512_BF16 or AMX), else 0.
int winclip_dnnl_isa_has_bf16(void);

/// A linear layer's weight W [n, k] (row-major fp32, as torch's nn.Linear) converted once to
/// the blocked layout oneDNN's matmul prefers (in bf16 or f32), with the matmul primitives made
/// for it.
typedef struct winclip_dnnl_weights winclip_dnnl_weights;

/// Converts `w` (to bf16 when `bf16` is 1, else kept f32); NULL with a message in `error` on
/// failure. `implementation` (may be NULL) receives oneDNN's name of the matmul kernel it will
/// run (e.g. "brg:avx512_core_bf16").
winclip_dnnl_weights *winclip_dnnl_pack_weights(const float *w, int64_t n, int64_t k, int bf16, char *implementation,
                                                size_t implementation_len, char *error, size_t error_len);
void winclip_dnnl_free_weights(winclip_dnnl_weights *w);

/// y [m, n] = x [m, k] * W^T with fp32 accumulation and output; for a bf16 weight x is rounded
/// to bf16 (to nearest even) per call. `weight` is the fp32 W [n, k] the object was made
/// from: read only if oneDNN wants another layout for this m. `threads` OpenMP threads (0:
/// oneDNN's default). Returns 0, or -1 with a message in `error`. Safe to call from several
/// threads at once.
int winclip_dnnl_linear(winclip_dnnl_weights *w, const float *weight, const float *x, int64_t m, float *y, int threads,
                        char *error, size_t error_len);

/// Rounds n floats to bf16, round to nearest even (NaN stays NaN), as the matmul's input.
void winclip_f32_to_bf16(const float *x, uint16_t *y, size_t n);

#ifdef __cplusplus
}
#endif
#endif
