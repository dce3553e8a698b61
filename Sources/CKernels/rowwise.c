#include "winclip_kernels.h"
#include "kernel_math.h"

#include <math.h>

// Sums and maxima keep LANES partial results, so the loops vectorise without -ffast-math
// (which would let the compiler reassociate everything else too).
#define LANES 16

__attribute__((target_clones("avx512f", "avx2", "default")))
void winclip_bias_residual(float *x, const float *y, const float *bias, const float *gamma, size_t rows, size_t width) {
    for (size_t r = 0; r < rows; r++) {
        float *xr = x + r * width;
        const float *yr = y + r * width;
        if (gamma) {
            for (size_t i = 0; i < width; i++) xr[i] += gamma[i] * (yr[i] + bias[i]);
        } else {
            for (size_t i = 0; i < width; i++) xr[i] += yr[i] + bias[i];
        }
    }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void winclip_layer_norm(const float *x, float *y, size_t rows, size_t width, const float *gamma, const float *beta, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * width;
        float *yr = y + r * width;
        double acc[LANES] = {0};
        size_t i = 0;
        for (; i + LANES <= width; i += LANES)
            for (int l = 0; l < LANES; l++) acc[l] += (double)xr[i + l];
        double sum = 0;
        for (int l = 0; l < LANES; l++) sum += acc[l];
        for (; i < width; i++) sum += (double)xr[i];
        double mean = sum / (double)width;

        double sq[LANES] = {0};
        i = 0;
        for (; i + LANES <= width; i += LANES)
            for (int l = 0; l < LANES; l++) { double d = (double)xr[i + l] - mean; sq[l] += d * d; }
        double var = 0;
        for (int l = 0; l < LANES; l++) var += sq[l];
        for (; i < width; i++) { double d = (double)xr[i] - mean; var += d * d; }

        float rstd = (float)(1.0 / sqrt(var / (double)width + (double)eps));
        float m = (float)mean;
        for (i = 0; i < width; i++) yr[i] = (xr[i] - m) * rstd * gamma[i] + beta[i];
    }
}

static inline void softmax_prefix(float *s, size_t count, size_t valid) {
    float mx[LANES];
    for (int l = 0; l < LANES; l++) mx[l] = -INFINITY;
    size_t j = 0;
    for (; j + LANES <= valid; j += LANES)
        for (int l = 0; l < LANES; l++) mx[l] = s[j + l] > mx[l] ? s[j + l] : mx[l];
    float top = -INFINITY;
    for (int l = 0; l < LANES; l++) top = mx[l] > top ? mx[l] : top;
    for (; j < valid; j++) top = s[j] > top ? s[j] : top;

    float acc[LANES] = {0};
    j = 0;
    for (; j + LANES <= valid; j += LANES)
        for (int l = 0; l < LANES; l++) { float e = exp_approx(s[j + l] - top); s[j + l] = e; acc[l] += e; }
    float sum = 0;
    for (int l = 0; l < LANES; l++) sum += acc[l];
    for (; j < valid; j++) { float e = exp_approx(s[j] - top); s[j] = e; sum += e; }

    float inv = 1.0f / sum;
    for (j = 0; j < valid; j++) s[j] *= inv;
    for (; j < count; j++) s[j] = 0;
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void winclip_softmax_rows(float *s, size_t rows, size_t count, size_t first_row, int causal) {
    for (size_t r = 0; r < rows; r++) {
        size_t row = first_row + r;
        size_t valid = causal && row + 1 < count ? row + 1 : count;
        softmax_prefix(s + r * count, count, valid);
    }
}

static inline float dot(const float *a, const float *b, size_t n) {
    float acc[LANES] = {0};
    size_t d = 0;
    for (; d + LANES <= n; d += LANES)
        for (int l = 0; l < LANES; l++) acc[l] += a[d + l] * b[d + l];
    float sum = 0;
    for (int l = 0; l < LANES; l++) sum += acc[l];
    for (; d < n; d++) sum += a[d] * b[d];
    return sum;
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void winclip_attention_short(const float *qkv, float *out, size_t out_stride, size_t length, size_t heads,
                             size_t head_width, float scale, int causal, float *scores) {
    size_t width = heads * head_width, stride = 3 * width;
    for (size_t h = 0; h < heads; h++) {
        const float *q = qkv + h * head_width, *k = q + width, *v = q + 2 * width;
        for (size_t i = 0; i < length; i++) {
            size_t valid = causal ? i + 1 : length;
            const float *qi = q + i * stride;
            for (size_t j = 0; j < valid; j++) scores[j] = dot(qi, k + j * stride, head_width) * scale;
            softmax_prefix(scores, valid, valid);
            float *oi = out + i * out_stride + h * head_width;
            for (size_t d = 0; d < head_width; d++) oi[d] = 0;
            for (size_t j = 0; j < valid; j++) {
                float p = scores[j];
                const float *vj = v + j * stride;
                for (size_t d = 0; d < head_width; d++) oi[d] += p * vj[d];
            }
        }
    }
}
