#include "ckernels.h"
#include <math.h>
#include <string.h>

#include "dispatch.h"
#include "half.h"


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

MK_MULTIVERSION
void mk_quantize_q8_0(const float *src, size_t n, uint8_t *dst) {
    size_t nb = n / MK_QBLOCK;
    for (size_t b = 0; b < nb; b++) {
        const float *x = src + b * MK_QBLOCK;
        uint16_t hd;
        float inv = mk_block_inverse(x, 127.0f, &hd);
        memcpy(dst + 2 * b, &hd, 2);
        int8_t *q = (int8_t *)(dst + 2 * nb + b * MK_QBLOCK);
        for (int j = 0; j < MK_QBLOCK; j++) q[j] = (int8_t)mk_level(x[j], inv, 127.0f);
    }
}

MK_MULTIVERSION
void mk_quantize_q4_0(const float *src, size_t n, uint8_t *dst) {
    size_t nb = n / MK_QBLOCK;
    uint8_t *qs = dst + 2 * nb;
    for (size_t b = 0; b < nb; b++) {
        const float *x = src + b * MK_QBLOCK;
        // Symmetric: the block's largest magnitude maps to ±7 (-8 is never produced).
        uint16_t hd;
        float inv = mk_block_inverse(x, 7.0f, &hd);
        memcpy(dst + 2 * b, &hd, 2);
        if (b + 1 == nb && nb % 2 == 1) {
            for (int j = 0; j < 16; j++)
                qs[b * 16 + j] = (uint8_t)((mk_level(x[j], inv, 7.0f) + 8) | ((mk_level(x[j + 16], inv, 7.0f) + 8) << 4));
        } else if (b % 2 == 0) {
            for (int j = 0; j < MK_QBLOCK; j++) qs[b * 16 + j] = (uint8_t)(mk_level(x[j], inv, 7.0f) + 8);
        } else {
            for (int j = 0; j < MK_QBLOCK; j++) qs[(b - 1) * 16 + j] |= (uint8_t)((mk_level(x[j], inv, 7.0f) + 8) << 4);
        }
    }
}

MK_MULTIVERSION
void mk_dequantize_q8_0(const uint8_t *src, size_t n, float *dst) {
    size_t nb = n / MK_QBLOCK;
    for (size_t b = 0; b < nb; b++) {
        float d = mk_load_half(src + 2 * b);
        const int8_t *q = (const int8_t *)(src + 2 * nb + b * MK_QBLOCK);
        for (int j = 0; j < MK_QBLOCK; j++) dst[b * MK_QBLOCK + j] = d * (float)q[j];
    }
}

MK_MULTIVERSION
void mk_dequantize_q4_0(const uint8_t *src, size_t n, float *dst) {
    size_t nb = n / MK_QBLOCK;
    const uint8_t *qs = src + 2 * nb;
    for (size_t b = 0; b < nb; b++) {
        float d = mk_load_half(src + 2 * b);
        float *out = dst + b * MK_QBLOCK;
        if (b + 1 == nb && nb % 2 == 1) {
            for (int j = 0; j < 16; j++) {
                out[j] = d * (float)((int)(qs[b * 16 + j] & 0x0f) - 8);
                out[j + 16] = d * (float)((int)(qs[b * 16 + j] >> 4) - 8);
            }
        } else {
            const uint8_t *pair = qs + (b & ~(size_t)1) * 16;
            for (int j = 0; j < MK_QBLOCK; j++)
                out[j] = d * (float)((int)((b & 1) ? pair[j] >> 4 : pair[j] & 0x0f) - 8);
        }
    }
}
