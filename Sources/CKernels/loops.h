#ifndef MIMO_CKERNELS_LOOPS_H
#define MIMO_CKERNELS_LOOPS_H

// The loops the compiler vectorises by itself: element-wise functions, conversions, attention over
// an f16 cache, (de)quantization and the prefill GEMM's activation preparation. Each instruction
// set's file includes this header under its own target (`#pragma clang attribute`), so every
// function here is compiled once per instruction set, and mk_fill_loops puts that file's copies in
// the table. The f16 conversions go through _Float16, which becomes F16C instructions where the
// target has them (without F16C every conversion of the f16 KV cache would be a library call).
#include "kernels.h"
#include "layout.h"
#include <math.h>
#include <string.h>

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

static void mk_loop_exp_f32(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = mk_expf(x[i]);
}

static void mk_loop_gelu_f32(float *x, size_t n) {
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

static void mk_loop_silu_mul_f32(float *gate, const float *up, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        gate[i] = g / (1.0f + mk_expf(-g)) * up[i];
    }
}

static void mk_loop_softmax_f32(float *x, size_t n, float scale) {
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

static void mk_loop_bf16_to_f32(const uint16_t *src, float *dst, size_t n) {
    uint32_t *d = (uint32_t *)dst;
    for (size_t i = 0; i < n; i++) d[i] = (uint32_t)src[i] << 16;
}

static void mk_loop_f16_to_f32(const uint16_t *src, float *dst, size_t n) {
    // Through _Float16 so the loop vectorises to hardware conversions where the ISA has them.
    for (size_t i = 0; i < n; i++) {
        _Float16 h;
        memcpy(&h, src + i, 2);
        dst[i] = (float)h;
    }
}

static uint64_t mk_loop_read_sum(const uint64_t *p, size_t n) {
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

static void mk_loop_f32_to_f16(const float *src, uint16_t *dst, size_t n) {
    // Saturate rather than overflow to infinity, which would turn a softmax into NaNs.
    for (size_t i = 0; i < n; i++) {
        _Float16 h = (_Float16)fminf(fmaxf(src[i], -65504.0f), 65504.0f);
        memcpy(dst + i, &h, 2);
    }
}

static void mk_loop_attend_f16(const float *q, size_t n, size_t qstride, const uint16_t *k, const uint16_t *v, size_t kvstride,
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
        mk_loop_softmax_f32(scores, visible, scale);
        float *o = out + i * ostride;
        for (size_t c = 0; c < d; c++) o[c] = 0.0f;
        for (size_t j = 0; j < visible; j++) {
            const _Float16 *vj = vh + j * kvstride;
            float p = scores[j];
            for (size_t c = 0; c < d; c++) o[c] += p * (float)vj[c];
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Weight quantization (the stored layout of layout.h).

// Round to nearest even; scales are positive and finite, so no NaN/inf handling is needed
// beyond saturating to the largest half.
static inline uint16_t mk_f2h(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    float a = fabsf(f);
    if (a >= 65504.0f) return (uint16_t)(sign | 0x7bff);
    if (a < 6.103515625e-05f) {
        // Subnormal half: value = m · 2^-24.
        uint32_t m = (uint32_t)lrintf(a * 16777216.0f);
        return (uint16_t)(sign | m);
    }
    uint32_t u;
    memcpy(&u, &a, 4);
    uint32_t exp = ((u >> 23) & 0xff) - 112;
    uint32_t man = u & 0x7fffff;
    uint32_t h = (exp << 10) | (man >> 13);
    uint32_t rest = man & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

static inline float mk_scale_of(const float *x, float qmax) {
    float amax = 0.0f;
    for (int j = 0; j < MK_QBLOCK; j++) amax = fmaxf(amax, fabsf(x[j]));
    return amax / qmax;
}

// The stored scale of a block of 32 and its reciprocal for quantizing against it (the stored,
// rounded scale, so dequantization reproduces the levels exactly).
static inline float mk_block_inverse(const float *x, float qmax, uint16_t *hd) {
    *hd = mk_f2h(mk_scale_of(x, qmax));
    float d = mk_half_to_float(*hd);
    return d > 0 ? 1.0f / d : 0.0f;
}

// rintf (ties to even, like lrintf) vectorises; lrintf is a library call.
static inline int mk_level(float v, float inv, float qmax) { return (int)fminf(fmaxf(rintf(v * inv), -qmax), qmax); }

static void mk_loop_quantize_q8_0(const float *src, size_t n, uint8_t *dst) {
    size_t nb = n / MK_QBLOCK;
    int8_t *qs = (int8_t *)mk_qrow_values(dst, nb);
    for (size_t b = 0; b < nb; b++) {
        const float *x = src + b * MK_QBLOCK;
        uint16_t hd;
        float inv = mk_block_inverse(x, 127.0f, &hd);
        memcpy((uint8_t *)mk_qrow_scale_at(dst, b), &hd, 2);
        for (int j = 0; j < MK_QBLOCK; j++) qs[b * MK_QBLOCK + j] = (int8_t)mk_level(x[j], inv, 127.0f);
    }
}

static void mk_loop_quantize_q4_0(const float *src, size_t n, uint8_t *dst) {
    size_t nb = n / MK_QBLOCK;
    for (size_t b = 0; b < nb; b++) {
        const float *x = src + b * MK_QBLOCK;
        // Symmetric: the block's largest magnitude maps to ±7 (-8 is never produced).
        uint16_t hd;
        float inv = mk_block_inverse(x, 7.0f, &hd);
        memcpy((uint8_t *)mk_qrow_scale_at(dst, b), &hd, 2);
        float scale;
        int mode;
        uint8_t *v = (uint8_t *)mk_qblock(1, dst, nb, b, &scale, &mode);
        if (mode == MK_VALS_NIB16) {
            for (int j = 0; j < 16; j++)
                v[j] = (uint8_t)((mk_level(x[j], inv, 7.0f) + 8) | ((mk_level(x[j + 16], inv, 7.0f) + 8) << 4));
        } else if (mode == MK_VALS_NIB_LO) {
            for (int j = 0; j < MK_QBLOCK; j++) v[j] = (uint8_t)(mk_level(x[j], inv, 7.0f) + 8);
        } else {   // the high nibbles of the pair whose low ones the previous block wrote
            for (int j = 0; j < MK_QBLOCK; j++) v[j] |= (uint8_t)((mk_level(x[j], inv, 7.0f) + 8) << 4);
        }
    }
}

static void mk_loop_dequantize(int q4, const uint8_t *src, size_t n, float *dst) {
    size_t nb = n / MK_QBLOCK;
    for (size_t b = 0; b < nb; b++) {
        float d;
        int mode;
        const uint8_t *v = mk_qblock(q4, src, nb, b, &d, &mode);
        float *out = dst + b * MK_QBLOCK;
        switch (mode) {
        case MK_VALS_I8:
            for (int j = 0; j < MK_QBLOCK; j++) out[j] = d * (float)(int8_t)v[j];
            break;
        case MK_VALS_NIB16:
            for (int j = 0; j < 16; j++) {
                out[j] = d * (float)((int)(v[j] & 0x0f) - 8);
                out[j + 16] = d * (float)((int)(v[j] >> 4) - 8);
            }
            break;
        case MK_VALS_NIB_LO:
            for (int j = 0; j < MK_QBLOCK; j++) out[j] = d * (float)((int)(v[j] & 0x0f) - 8);
            break;
        default:
            for (int j = 0; j < MK_QBLOCK; j++) out[j] = d * (float)((int)(v[j] >> 4) - 8);
        }
    }
}

static void mk_loop_dequantize_q8_0(const uint8_t *src, size_t n, float *dst) { mk_loop_dequantize(0, src, n, dst); }
static void mk_loop_dequantize_q4_0(const uint8_t *src, size_t n, float *dst) { mk_loop_dequantize(1, src, n, dst); }

// ---------------------------------------------------------------------------------------------
// Activation quantization for the decode products (ckernels.h).

// Activation blocks as integer levels: qx = round(x / dx) with dx = max|x| / qmax (so |qx| ≤ qmax
// by construction), and sx = Σ qx per block (exact in f32: |sum| < 2^21).
#define MK_QUANTIZE_BLOCKS(T, QMAX)                                                                    \
    for (size_t b = 0; b < k / MK_QBLOCK; b++) {                                                       \
        const float *xb = x + b * MK_QBLOCK;                                                           \
        float amax = 0.0f;                                                                             \
        for (int j = 0; j < MK_QBLOCK; j++) amax = fmaxf(amax, fabsf(xb[j]));                          \
        float d = amax / (QMAX), inv = d > 0 ? 1.0f / d : 0.0f;                                        \
        int32_t sum = 0;                                                                               \
        for (int j = 0; j < MK_QBLOCK; j++) {                                                          \
            T q = (T)rintf(xb[j] * inv);                                                               \
            qx[b * MK_QBLOCK + j] = q;                                                                 \
            sum += q;                                                                                  \
        }                                                                                              \
        dx[b] = d;                                                                                     \
        sx[b] = (float)sum;                                                                            \
    }

static void mk_loop_quantize_activations(const float *x, size_t k, int16_t *qx, float *dx, float *sx) {
    MK_QUANTIZE_BLOCKS(int16_t, 32767.0f)
}

static void mk_loop_quantize_activations_i8(const float *x, size_t k, int8_t *qx, float *dx, float *sx) {
    MK_QUANTIZE_BLOCKS(int8_t, 127.0f)
}

// ---------------------------------------------------------------------------------------------
// One activation row into the prefill GEMM's prepared buffer (gemm.h).
static void mk_loop_prepare_q_row(const float *x, size_t k, int32_t offset, int8_t *q, float *d, int32_t *c) {
    for (size_t b = 0; b < k / MK_QBLOCK; b++) {
        const float *xb = x + b * MK_QBLOCK;
        float amax = 0.0f;
        for (int j = 0; j < MK_QBLOCK; j++) amax = fmaxf(amax, fabsf(xb[j]));
        float db = amax / 127.0f, inv = db > 0 ? 1.0f / db : 0.0f;
        int32_t sum = 0;
        for (int j = 0; j < MK_QBLOCK; j++) {
            // x·(127/amax) can round a hair above 127; the clamp keeps the level a valid int8.
            int v = (int)fminf(fmaxf(rintf(xb[j] * inv), -127.0f), 127.0f);
            q[b * MK_QBLOCK + j] = (int8_t)v;
            sum += v;
        }
        d[b] = db;
        c[b] = -offset * sum;
    }
}

static void mk_loop_prepare_x16_row(const float *x, size_t k, int16_t *q, float *d) {
    for (size_t b = 0; b < k / MK_QBLOCK; b++) {
        const float *xb = x + b * MK_QBLOCK;
        float amax = 0.0f;
        for (int j = 0; j < MK_QBLOCK; j++) amax = fmaxf(amax, fabsf(xb[j]));
        float db = amax / 32767.0f, inv = db > 0 ? 1.0f / db : 0.0f;
        for (int j = 0; j < MK_QBLOCK; j++) q[b * MK_QBLOCK + j] = (int16_t)fminf(fmaxf(rintf(xb[j] * inv), -32767.0f), 32767.0f);
        d[b] = db;
    }
}

static void mk_loop_prepare_bf16_row(const float *x, size_t k, uint16_t *o) {
    for (size_t j = 0; j < k; j++) {
        uint32_t u;
        memcpy(&u, &x[j], 4);
        // NaN stays a (quiet) NaN instead of rounding into infinity.
        o[j] = (u & 0x7fffffffu) > 0x7f800000u ? (uint16_t)((u >> 16) | 0x40) : (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
    }
}

// ---------------------------------------------------------------------------------------------
// bf16 decode products for m ≤ 8 rows of x: 16 independent accumulators per row, so the inner
// loop is one vector FMA per row, and the weight chunk is widened once for all rows.
#define MK_SMALL_ROWS 8
#define MK_SMALL_LANES 16

static void mk_loop_gemm_bf16_rows(const float *x, size_t m, size_t k, const uint16_t *w, size_t r0, size_t r1,
                              float *y, size_t ldy) {
    if (m > MK_SMALL_ROWS) m = MK_SMALL_ROWS;
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *wr = w + r * k;
        float acc[MK_SMALL_ROWS][MK_SMALL_LANES];
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < MK_SMALL_LANES; j++) acc[i][j] = 0.0f;
        size_t c = 0;
        for (; c + MK_SMALL_LANES <= k; c += MK_SMALL_LANES) {
            float wv[MK_SMALL_LANES];
            for (size_t j = 0; j < MK_SMALL_LANES; j++) wv[j] = mk_bf16_to_float(wr[c + j]);
            for (size_t i = 0; i < m; i++) {
                const float *xi = x + i * k + c;
                for (size_t j = 0; j < MK_SMALL_LANES; j++) acc[i][j] += xi[j] * wv[j];
            }
        }
        for (size_t i = 0; i < m; i++) {
            float s = 0.0f;
            for (size_t j = 0; j < MK_SMALL_LANES; j++) s += acc[i][j];
            for (size_t t = c; t < k; t++) s += x[i * k + t] * mk_bf16_to_float(wr[t]);
            y[i * ldy + r] = s;
        }
    }
}

// This file's copies of the loops, in the table.
static inline void mk_fill_loops(mk_kernels *t) {
    t->exp_f32 = mk_loop_exp_f32;
    t->gelu_f32 = mk_loop_gelu_f32;
    t->silu_mul_f32 = mk_loop_silu_mul_f32;
    t->softmax_f32 = mk_loop_softmax_f32;
    t->bf16_to_f32 = mk_loop_bf16_to_f32;
    t->f16_to_f32 = mk_loop_f16_to_f32;
    t->f32_to_f16 = mk_loop_f32_to_f16;
    t->read_sum = mk_loop_read_sum;
    t->attend_f16 = mk_loop_attend_f16;
    t->quantize_q8_0 = mk_loop_quantize_q8_0;
    t->quantize_q4_0 = mk_loop_quantize_q4_0;
    t->dequantize_q8_0 = mk_loop_dequantize_q8_0;
    t->dequantize_q4_0 = mk_loop_dequantize_q4_0;
    t->quantize_activations = mk_loop_quantize_activations;
    t->quantize_activations_i8 = mk_loop_quantize_activations_i8;
    t->prepare_q_row = mk_loop_prepare_q_row;
    t->prepare_x16_row = mk_loop_prepare_x16_row;
    t->prepare_bf16_row = mk_loop_prepare_bf16_row;
}

#endif
