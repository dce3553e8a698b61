// Branch-free exp and erf for the element-wise kernels (static inline: every kernel file
// compiles them into its own per-CPU clones).
#ifndef WINCLIP_KERNEL_MATH_H
#define WINCLIP_KERNEL_MATH_H

#include <stdint.h>
#include <string.h>

// exp(x): Cody-Waite reduction and Cephes' degree-6 polynomial; n = round(x / ln 2) from the
// 1.5 * 2^23 trick, and 2^n built in the exponent bits, so the loop has no branch or libm call.
static inline float exp_approx(float x) {
    x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
    const float magic = 12582912.0f;
    float shifted = x * 1.44269504088896341f + magic;
    float n = shifted - magic;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * (r * r) + r + 1.0f;
    int32_t bits;
    memcpy(&bits, &shifted, 4);
    bits = ((bits - 0x4B400000) + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return y * scale;
}

static inline float erf_approx(float x) {
    float a = x < 0 ? -x : x;
    float t = 1.0f / (a * 0.3275911f + 1.0f);
    float poly = 1.061405429f;
    poly = poly * t + -1.453152027f;
    poly = poly * t + 1.421413741f;
    poly = poly * t + -0.284496736f;
    poly = poly * t + 0.254829592f;
    float r = 1.0f - poly * t * exp_approx(-(a * a));
    return x < 0 ? -r : r;
}

#endif
