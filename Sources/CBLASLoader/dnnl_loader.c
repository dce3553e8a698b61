#include "dnnl_loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((target_clones("avx512f", "avx2", "default")))
void winclip_f32_to_bf16(const float *x, uint16_t *y, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
        uint32_t nan = (u >> 16) | 0x40u;  // quiet NaN, sign kept
        y[i] = (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
    }
}

#if __has_include(<oneapi/dnnl/dnnl.h>)
#include <oneapi/dnnl/dnnl.h>

int winclip_dnnl_built_with_headers(void) { return 1; }

// Every oneDNN function the shim calls, resolved by dlsym with the header's own types.
#define WINCLIP_DNNL_FUNCTIONS(X) \
    X(dnnl_engine_create) X(dnnl_stream_create) X(dnnl_stream_destroy) X(dnnl_stream_wait) \
    X(dnnl_memory_desc_init_by_strides) X(dnnl_memory_desc_init_by_tag) X(dnnl_memory_desc_equal) \
    X(dnnl_memory_desc_get_size) X(dnnl_matmul_desc_init) X(dnnl_primitive_desc_create) \
    X(dnnl_primitive_desc_destroy) X(dnnl_primitive_desc_query_md) X(dnnl_primitive_desc_query) \
    X(dnnl_primitive_create) X(dnnl_primitive_destroy) X(dnnl_primitive_execute) X(dnnl_memory_create) \
    X(dnnl_memory_destroy) X(dnnl_reorder_primitive_desc_create) X(dnnl_primitive_attr_create) \
    X(dnnl_primitive_attr_destroy) X(dnnl_primitive_attr_set_scratchpad_mode) X(dnnl_get_effective_cpu_isa) \
    X(dnnl_version)

static struct {
#define WINCLIP_DNNL_POINTER(name) __typeof__(&name) name;
    WINCLIP_DNNL_FUNCTIONS(WINCLIP_DNNL_POINTER)
    void (*omp_set_num_threads)(int);
} api;

static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static int opened;           // 1 after a successful open
static char open_error[512]; // the first failure, repeated to later callers
static dnnl_engine_t engine;
static dnnl_primitive_attr_t user_scratchpad;  // scratchpad passed per call: thread-safe execution
static char version_text[64];

#define FAIL(...) do { snprintf(error, error_len, __VA_ARGS__); return -1; } while (0)

int winclip_dnnl_open(const char *const *paths, char *error, size_t error_len) {
    pthread_mutex_lock(&open_lock);
    if (opened || open_error[0]) {
        int rc = opened ? 0 : -1;
        if (!opened) snprintf(error, error_len, "%s", open_error);
        pthread_mutex_unlock(&open_lock);
        return rc;
    }
    const char *last = "no library path given";
    void *h = NULL;
    for (const char *const *p = paths; *p; ++p) {
        h = dlopen(*p, RTLD_NOW | RTLD_LOCAL);
        if (h) break;
        last = dlerror();
    }
    if (!h) {
        snprintf(open_error, sizeof open_error, "cannot open oneDNN (install libdnnl2, Debian's libdnnl-dev): %s", last);
    } else {
#define WINCLIP_DNNL_RESOLVE(name) \
        if (!open_error[0] && !(api.name = (__typeof__(&name))dlsym(h, #name))) \
            snprintf(open_error, sizeof open_error, "the oneDNN library has no %s (version 2.x is needed)", #name);
        WINCLIP_DNNL_FUNCTIONS(WINCLIP_DNNL_RESOLVE)
        api.omp_set_num_threads = (void (*)(int))dlsym(h, "omp_set_num_threads");
        if (!open_error[0] && api.dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
            snprintf(open_error, sizeof open_error, "oneDNN could not create its CPU engine");
        if (!open_error[0] && (api.dnnl_primitive_attr_create(&user_scratchpad) != dnnl_success ||
                               api.dnnl_primitive_attr_set_scratchpad_mode(user_scratchpad, dnnl_scratchpad_mode_user) != dnnl_success))
            snprintf(open_error, sizeof open_error, "oneDNN could not create primitive attributes");
        if (!open_error[0]) {
            const dnnl_version_t *v = api.dnnl_version();
            snprintf(version_text, sizeof version_text, "%d.%d.%d (%.8s)", v->major, v->minor, v->patch, v->hash ? v->hash : "");
            opened = 1;
        }
    }
    int rc = opened ? 0 : -1;
    if (!opened) snprintf(error, error_len, "%s", open_error);
    pthread_mutex_unlock(&open_lock);
    return rc;
}

const char *winclip_dnnl_version(void) { return version_text; }

const char *winclip_dnnl_isa(void) {
    if (!opened) return "";
    switch (api.dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    default: {
        static char text[32];
        snprintf(text, sizeof text, "isa 0x%x", (unsigned)api.dnnl_get_effective_cpu_isa());
        return text;
    }
    }
}

int winclip_dnnl_isa_has_bf16(void) {
    if (!opened) return 0;
    unsigned isa = (unsigned)api.dnnl_get_effective_cpu_isa();
    return (isa & (unsigned)dnnl_cpu_isa_avx512_core_bf16) == (unsigned)dnnl_cpu_isa_avx512_core_bf16;
}

// One weight in bf16: the blocked layouts the matmul primitives asked for (one in practice:
// for oneDNN 2.6's brgemm matmul the layout depends on n, k and the ISA, not on m) and the
// primitives, one per row count m (the shapes a model uses are few).
#define LAYOUTS 4
#define PRIMITIVE_SLOTS 32
struct winclip_dnnl_weights {
    int64_t n, k;
    dnnl_data_type_t type;  // of the weight and the activations: f32 or bf16 (output is f32)
    pthread_mutex_t lock;
    int layout_count;
    struct { dnnl_memory_desc_t md; void *data; } layouts[LAYOUTS];
    int count;
    struct { int64_t m; dnnl_primitive_t primitive; size_t scratchpad; int layout; } slots[PRIMITIVE_SLOTS];
};

// The matmul descriptor for y [m, n] f32 = x [m, k] * W [k, n], x and W of `type`, W in
// `layout` (NULL: the layout oneDNN prefers).
static dnnl_status_t matmul_pd(dnnl_primitive_desc_t *pd, int64_t m, int64_t n, int64_t k, dnnl_data_type_t type,
                               const dnnl_memory_desc_t *layout) {
    dnnl_memory_desc_t src, weights, dst;
    dnnl_dims_t src_dims = {m, k}, src_strides = {k, 1}, w_dims = {k, n}, dst_dims = {m, n}, dst_strides = {n, 1};
    dnnl_status_t s;
    if ((s = api.dnnl_memory_desc_init_by_strides(&src, 2, src_dims, type, src_strides)) != dnnl_success) return s;
    if ((s = api.dnnl_memory_desc_init_by_strides(&dst, 2, dst_dims, dnnl_f32, dst_strides)) != dnnl_success) return s;
    if (layout) {
        weights = *layout;
    } else if ((s = api.dnnl_memory_desc_init_by_tag(&weights, 2, w_dims, type, dnnl_format_tag_any)) != dnnl_success) {
        return s;
    }
    dnnl_matmul_desc_t desc;
    if ((s = api.dnnl_matmul_desc_init(&desc, &src, &weights, NULL, &dst)) != dnnl_success) return s;
    return api.dnnl_primitive_desc_create(pd, &desc, user_scratchpad, engine, NULL);
}

static int execute(dnnl_primitive_t primitive, int count, const dnnl_exec_arg_t *args) {
    dnnl_stream_t stream;
    if (api.dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) return -1;
    dnnl_status_t s = api.dnnl_primitive_execute(primitive, stream, count, args);
    if (s == dnnl_success) s = api.dnnl_stream_wait(stream);
    api.dnnl_stream_destroy(stream);
    return s == dnnl_success ? 0 : -1;
}

// Converts the fp32 weight w [n, k] (row-major, i.e. W^T [k, n] with strides (1, k)) into
// `layout` (f32 or bf16); returns the index of the stored layout or -1. Called with w->lock held.
static int add_layout(winclip_dnnl_weights *w, const float *weight, const dnnl_memory_desc_t *layout) {
    for (int i = 0; i < w->layout_count; i++)
        if (api.dnnl_memory_desc_equal(&w->layouts[i].md, layout)) return i;
    if (w->layout_count == LAYOUTS) return -1;
    void *data = aligned_alloc(64, (api.dnnl_memory_desc_get_size(layout) + 63) / 64 * 64);
    dnnl_memory_desc_t plain;
    dnnl_dims_t dims = {w->k, w->n}, strides = {1, w->k};
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t reorder = NULL;
    dnnl_memory_t from = NULL, to = NULL;
    int ok = data != NULL &&
             api.dnnl_memory_desc_init_by_strides(&plain, 2, dims, dnnl_f32, strides) == dnnl_success &&
             api.dnnl_reorder_primitive_desc_create(&rpd, &plain, engine, layout, engine, NULL) == dnnl_success &&
             api.dnnl_primitive_create(&reorder, rpd) == dnnl_success &&
             api.dnnl_memory_create(&from, &plain, engine, (void *)weight) == dnnl_success &&
             api.dnnl_memory_create(&to, layout, engine, data) == dnnl_success;
    if (ok) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
        ok = execute(reorder, 2, args) == 0;
    }
    if (from) api.dnnl_memory_destroy(from);
    if (to) api.dnnl_memory_destroy(to);
    if (reorder) api.dnnl_primitive_destroy(reorder);
    if (rpd) api.dnnl_primitive_desc_destroy(rpd);
    if (!ok) { free(data); return -1; }
    w->layouts[w->layout_count].md = *layout;
    w->layouts[w->layout_count].data = data;
    return w->layout_count++;
}

winclip_dnnl_weights *winclip_dnnl_pack_weights(const float *weight, int64_t n, int64_t k, int bf16, char *implementation,
                                                size_t implementation_len, char *error, size_t error_len) {
    if (!opened) { snprintf(error, error_len, "oneDNN is not open"); return NULL; }
    dnnl_data_type_t type = bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_primitive_desc_t pd;
    if (matmul_pd(&pd, 256, n, k, type, NULL) != dnnl_success) {
        snprintf(error, error_len, "oneDNN has no %s matmul for a %lldx%lld weight", bf16 ? "bf16" : "f32", (long long)n, (long long)k);
        return NULL;
    }
    if (implementation) {
        const char *impl = "";
        api.dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
        snprintf(implementation, implementation_len, "%s", impl);
    }
    winclip_dnnl_weights *out = calloc(1, sizeof *out);
    out->n = n;
    out->k = k;
    out->type = type;
    pthread_mutex_init(&out->lock, NULL);
    int added = add_layout(out, weight, api.dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0));
    api.dnnl_primitive_desc_destroy(pd);
    if (added < 0) {
        snprintf(error, error_len, "oneDNN could not convert a %lldx%lld weight to its layout", (long long)n, (long long)k);
        winclip_dnnl_free_weights(out);
        return NULL;
    }
    return out;
}

void winclip_dnnl_free_weights(winclip_dnnl_weights *w) {
    if (!w) return;
    for (int i = 0; i < w->count; i++) api.dnnl_primitive_destroy(w->slots[i].primitive);
    for (int i = 0; i < w->layout_count; i++) free(w->layouts[i].data);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

typedef struct {
    dnnl_primitive_t primitive;
    size_t scratchpad;
    int layout;
    int temporary;  // made for this call only (the slots are full): the caller destroys it
} matmul_choice;

// The primitive for m rows: with a stored layout if oneDNN takes it, else with the layout it
// prefers for m (converted now from the fp32 weight and stored). Made once per m.
static int primitive_for(winclip_dnnl_weights *w, const float *weight, int64_t m, matmul_choice *out) {
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->count; i++) {
        if (w->slots[i].m == m) {
            out->primitive = w->slots[i].primitive;
            out->scratchpad = w->slots[i].scratchpad;
            out->layout = w->slots[i].layout;
            pthread_mutex_unlock(&w->lock);
            return 0;
        }
    }
    dnnl_primitive_desc_t pd = NULL;
    int layout = -1;
    for (int i = 0; i < w->layout_count && layout < 0; i++)
        if (matmul_pd(&pd, m, w->n, w->k, w->type, &w->layouts[i].md) == dnnl_success) layout = i;
    if (layout < 0 && matmul_pd(&pd, m, w->n, w->k, w->type, NULL) == dnnl_success) {
        layout = add_layout(w, weight, api.dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0));
        if (layout < 0) { api.dnnl_primitive_desc_destroy(pd); pd = NULL; }
    }
    if (pd) {
        out->scratchpad = api.dnnl_memory_desc_get_size(api.dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0));
        if (api.dnnl_primitive_create(&out->primitive, pd) != dnnl_success) out->primitive = NULL;
        api.dnnl_primitive_desc_destroy(pd);
    }
    if (out->primitive) {
        out->layout = layout;
        if (w->count < PRIMITIVE_SLOTS) {
            w->slots[w->count].m = m;
            w->slots[w->count].primitive = out->primitive;
            w->slots[w->count].scratchpad = out->scratchpad;
            w->slots[w->count].layout = layout;
            w->count++;
        } else {
            out->temporary = 1;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return out->primitive ? 0 : -1;
}

int winclip_dnnl_linear(winclip_dnnl_weights *w, const float *weight, const float *x, int64_t m, float *y, int threads,
                        char *error, size_t error_len) {
    if (m <= 0) return 0;
    if (threads > 0 && api.omp_set_num_threads) api.omp_set_num_threads(threads);  // this thread's OpenMP setting
    matmul_choice choice;
    int bf16 = w->type == dnnl_bf16;
    if (primitive_for(w, weight, m, &choice) != 0)
        FAIL("oneDNN has no %s matmul for %lldx%lldx%lld", bf16 ? "bf16" : "f32", (long long)m, (long long)w->n, (long long)w->k);
    // Layouts are only appended, so the entry stays valid without the lock.
    const dnnl_memory_desc_t *layout = &w->layouts[choice.layout].md;
    void *layout_data = w->layouts[choice.layout].data;
    // bf16: the activations rounded per call; f32: read in place.
    uint16_t *converted = bf16 ? aligned_alloc(64, ((size_t)m * (size_t)w->k * 2 + 63) / 64 * 64) : NULL;
    void *src = bf16 ? (void *)converted : (void *)x;
    void *scratch = choice.scratchpad ? aligned_alloc(64, (choice.scratchpad + 63) / 64 * 64) : NULL;
    if (converted) winclip_f32_to_bf16(x, converted, (size_t)m * (size_t)w->k);

    dnnl_memory_desc_t src_md, dst_md;
    dnnl_dims_t src_dims = {m, w->k}, src_strides = {w->k, 1}, dst_dims = {m, w->n}, dst_strides = {w->n, 1};
    dnnl_memory_t src_mem = NULL, w_mem = NULL, dst_mem = NULL, scratch_mem = NULL;
    int ok = (!bf16 || converted != NULL) && (scratch != NULL || !choice.scratchpad) &&
             api.dnnl_memory_desc_init_by_strides(&src_md, 2, src_dims, w->type, src_strides) == dnnl_success &&
             api.dnnl_memory_desc_init_by_strides(&dst_md, 2, dst_dims, dnnl_f32, dst_strides) == dnnl_success &&
             api.dnnl_memory_create(&src_mem, &src_md, engine, src) == dnnl_success &&
             api.dnnl_memory_create(&w_mem, layout, engine, layout_data) == dnnl_success &&
             api.dnnl_memory_create(&dst_mem, &dst_md, engine, y) == dnnl_success;
    int nargs = 3;
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, w_mem}, {DNNL_ARG_DST, dst_mem}, {0, NULL}};
    if (ok && scratch) {
        dnnl_memory_desc_t scratch_md;
        dnnl_dims_t sdims = {(int64_t)choice.scratchpad};
        ok = api.dnnl_memory_desc_init_by_tag(&scratch_md, 1, sdims, dnnl_u8, dnnl_a) == dnnl_success &&
             api.dnnl_memory_create(&scratch_mem, &scratch_md, engine, scratch) == dnnl_success;
        args[3].arg = DNNL_ARG_SCRATCHPAD;
        args[3].memory = scratch_mem;
        nargs = 4;
    }
    if (ok) ok = execute(choice.primitive, nargs, args) == 0;
    if (src_mem) api.dnnl_memory_destroy(src_mem);
    if (w_mem) api.dnnl_memory_destroy(w_mem);
    if (dst_mem) api.dnnl_memory_destroy(dst_mem);
    if (scratch_mem) api.dnnl_memory_destroy(scratch_mem);
    if (choice.temporary) api.dnnl_primitive_destroy(choice.primitive);
    free(converted);
    free(scratch);
    if (!ok) FAIL("oneDNN matmul %lldx%lldx%lld failed", (long long)m, (long long)w->n, (long long)w->k);
    return 0;
}

#else  // built without oneDNN's headers

int winclip_dnnl_built_with_headers(void) { return 0; }
int winclip_dnnl_open(const char *const *paths, char *error, size_t error_len) {
    (void)paths;
    snprintf(error, error_len, "this build has no oneDNN support (install libdnnl-dev and rebuild)");
    return -1;
}
const char *winclip_dnnl_version(void) { return ""; }
const char *winclip_dnnl_isa(void) { return ""; }
int winclip_dnnl_isa_has_bf16(void) { return 0; }
winclip_dnnl_weights *winclip_dnnl_pack_weights(const float *w, int64_t n, int64_t k, int bf16, char *implementation,
                                                size_t implementation_len, char *error, size_t error_len) {
    (void)w; (void)n; (void)k; (void)bf16; (void)implementation; (void)implementation_len;
    snprintf(error, error_len, "this build has no oneDNN support");
    return NULL;
}
void winclip_dnnl_free_weights(winclip_dnnl_weights *w) { (void)w; }
int winclip_dnnl_linear(winclip_dnnl_weights *w, const float *weight, const float *x, int64_t m, float *y, int threads,
                        char *error, size_t error_len) {
    (void)w; (void)weight; (void)x; (void)m; (void)y; (void)threads;
    snprintf(error, error_len, "this build has no oneDNN support");
    return -1;
}
#endif
