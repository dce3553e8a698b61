#include "blas_loader.h"

#include <cpuid.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>

// CBLAS enums, as cblas.h defines them.
enum { CblasRowMajor = 101 };
enum { CblasNoTrans = 111, CblasTrans = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int,
                         float, float *, int);
typedef char *(*string_fn)(void);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);

static void *handle;
static sgemm_fn p_sgemm;
static string_fn p_corename;
static string_fn p_config;
static set_threads_fn p_set_threads;
static get_threads_fn p_get_threads;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void winclip_cpu_probe(winclip_cpu_features *f) {
    memset(f, 0, sizeof *f);
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    f->sse3 = (c >> 0) & 1;
    f->ssse3 = (c >> 9) & 1;
    f->fma = (c >> 12) & 1;
    f->sse4_2 = (c >> 20) & 1;
    int osxsave = (c >> 27) & 1;
    int avx = (c >> 28) & 1;
    unsigned long long xcr0 = 0;
    if (osxsave) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = ((unsigned long long)hi << 32) | lo;
    }
    int ymm_os = (xcr0 & 0x6) == 0x6;
    int zmm_os = (xcr0 & 0xe6) == 0xe6;
    int tile_os = (xcr0 & 0x60000) == 0x60000;
    f->avx = avx && ymm_os;
    if (__get_cpuid_max(0, 0) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        f->avx2 = ((b >> 5) & 1) && f->avx;
        f->avx512f = ((b >> 16) & 1) && zmm_os;
        f->avx512dq = ((b >> 17) & 1) && zmm_os;
        f->avx512bw = ((b >> 30) & 1) && zmm_os;
        f->avx512vl = ((b >> 31) & 1) && zmm_os;
        f->amx_bf16 = ((d >> 22) & 1) && tile_os;
        f->amx_tile = ((d >> 24) & 1) && tile_os;
        __cpuid_count(7, 1, a, b, c, d);
        f->avx512_bf16 = ((a >> 5) & 1) && zmm_os;
    }
    if (!f->avx) f->fma = 0;
}

int winclip_blas_open(const char *const *paths, char *error, size_t error_len) {
    pthread_mutex_lock(&lock);
    if (handle) { pthread_mutex_unlock(&lock); return 0; }
    const char *last = "no library path given";
    void *h = NULL;
    for (const char *const *p = paths; *p; ++p) {
        h = dlopen(*p, RTLD_NOW | RTLD_LOCAL);
        if (h) break;
        last = dlerror();
    }
    if (!h) {
        snprintf(error, error_len, "cannot open OpenBLAS (install libopenblas-dev): %s", last);
        pthread_mutex_unlock(&lock);
        return -1;
    }
    sgemm_fn g = (sgemm_fn)dlsym(h, "cblas_sgemm");
    if (!g) {
        snprintf(error, error_len, "the BLAS library has no cblas_sgemm");
        dlclose(h);
        pthread_mutex_unlock(&lock);
        return -1;
    }
    p_sgemm = g;
    p_corename = (string_fn)dlsym(h, "openblas_get_corename");
    p_config = (string_fn)dlsym(h, "openblas_get_config");
    p_set_threads = (set_threads_fn)dlsym(h, "openblas_set_num_threads");
    p_get_threads = (get_threads_fn)dlsym(h, "openblas_get_num_threads");
    handle = h;
    pthread_mutex_unlock(&lock);
    return 0;
}

const char *winclip_blas_corename(void) { return p_corename ? p_corename() : ""; }
const char *winclip_blas_config(void) { return p_config ? p_config() : ""; }
void winclip_blas_set_threads(int n) { if (p_set_threads) p_set_threads(n); }
int winclip_blas_get_threads(void) { return p_get_threads ? p_get_threads() : 1; }

void winclip_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc) {
    p_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
            alpha, a, lda, b, ldb, beta, c, ldc);
}
