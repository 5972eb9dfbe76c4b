#include "ckernels.h"
#include <math.h>
#include <string.h>

#include "dispatch.h"

static inline float mk_bits_to_float(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }

// exp(x) = 2^n * exp(r), r = x - n ln2 in [-ln2/2, ln2/2]; branch-free so the loop vectorises.
static inline float mk_expf(float x) {
    x = fminf(fmaxf(x, -87.0f), 88.5f);
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    int32_t e = (int32_t)n + 127;
    return y * mk_bits_to_float((uint32_t)e << 23);
}

MK_MULTIVERSION
void mk_exp_f32(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = mk_expf(x[i]);
}

MK_MULTIVERSION
void mk_gelu_f32(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float z = fabsf(v) * 0.70710678118654752f;
        float t = 1.0f / (1.0f + 0.5f * z);
        // erfc(z) for z >= 0 (Numerical Recipes' Chebyshev fit, fractional error < 1.2e-7).
        float poly = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f +
                     t * (-0.18628806f + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f +
                     t * (-0.82215223f + t * 0.17087277f))))))));
        float erfc = t * mk_expf(-z * z + poly);
        // 1 + erf(v/sqrt2): 2 - erfc for v >= 0, erfc(|z|) for v < 0 (no cancellation for v < 0).
        float onePlusErf = v >= 0.0f ? 2.0f - erfc : erfc;
        x[i] = 0.5f * v * onePlusErf;
    }
}

MK_MULTIVERSION
void mk_silu_mul_f32(float *gate, const float *up, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        gate[i] = g / (1.0f + mk_expf(-g)) * up[i];
    }
}

MK_MULTIVERSION
void mk_softmax_f32(float *x, size_t n, float scale) {
    if (n == 0) return;
    float m = x[0];
    for (size_t i = 1; i < n; i++) m = fmaxf(m, x[i]);
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float e = mk_expf((x[i] - m) * scale);
        x[i] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
    for (size_t i = 0; i < n; i++) x[i] *= inv;
}

MK_MULTIVERSION
void mk_bf16_to_f32(const uint16_t *src, float *dst, size_t n) {
    uint32_t *d = (uint32_t *)dst;
    for (size_t i = 0; i < n; i++) d[i] = (uint32_t)src[i] << 16;
}


MK_MULTIVERSION
void mk_f16_to_f32(const uint16_t *src, float *dst, size_t n) {
    // Through _Float16 so the loop vectorises to hardware conversions where the ISA has them.
    for (size_t i = 0; i < n; i++) {
        _Float16 h;
        memcpy(&h, src + i, 2);
        dst[i] = (float)h;
    }
}

MK_MULTIVERSION
uint64_t mk_read_sum(const uint64_t *p, size_t n) {
    // Eight independent lanes (an integer sum vectorises without reassociation concerns).
    uint64_t acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += p[i + j];
    for (; i < n; i++) acc[0] += p[i];
    uint64_t s = 0;
    for (int j = 0; j < 8; j++) s += acc[j];
    return s;
}

MK_MULTIVERSION
void mk_f32_to_f16(const float *src, uint16_t *dst, size_t n) {
    // Saturate rather than overflow to infinity, which would turn a softmax into NaNs.
    for (size_t i = 0; i < n; i++) {
        _Float16 h = (_Float16)fminf(fmaxf(src[i], -65504.0f), 65504.0f);
        memcpy(dst + i, &h, 2);
    }
}

MK_MULTIVERSION
void mk_attend_f16(const float *q, size_t n, size_t qstride, const uint16_t *k, const uint16_t *v, size_t kvstride,
                   size_t m, size_t d, size_t offset, int causal, float scale, float *out, size_t ostride, float *scores) {
#pragma clang fp reassociate(on)
    const _Float16 *kh = (const _Float16 *)k, *vh = (const _Float16 *)v;
    for (size_t i = 0; i < n; i++) {
        const float *qi = q + i * qstride;
        size_t visible = causal ? offset + i + 1 : m;
        for (size_t j = 0; j < visible; j++) {
            const _Float16 *kj = kh + j * kvstride;
            float dot = 0.0f;
            for (size_t c = 0; c < d; c++) dot += qi[c] * (float)kj[c];
            scores[j] = dot;
        }
        mk_softmax_f32(scores, visible, scale);
        float *o = out + i * ostride;
        for (size_t c = 0; c < d; c++) o[c] = 0.0f;
        for (size_t j = 0; j < visible; j++) {
            const _Float16 *vj = vh + j * kvstride;
            float p = scores[j];
            for (size_t c = 0; c < d; c++) o[c] += p * (float)vj[c];
        }
    }
}
