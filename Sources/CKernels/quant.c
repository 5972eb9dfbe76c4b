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

MK_MULTIVERSION
void mk_quantize_q8_0(const float *src, size_t n, uint8_t *dst) {
    for (size_t b = 0; b < n / MK_QBLOCK; b++) {
        const float *x = src + b * MK_QBLOCK;
        uint8_t *out = dst + b * MK_Q8_BLOCK_BYTES;
        uint16_t hd = mk_f2h(mk_scale_of(x, 127.0f));
        float d = mk_half_to_float(hd);   // quantize against the scale that will be stored
        float inv = d > 0 ? 1.0f / d : 0.0f;
        memcpy(out, &hd, 2);
        for (int j = 0; j < MK_QBLOCK; j++) {
            // rintf (ties to even, like lrintf) vectorises; lrintf is a library call.
            float q = fminf(fmaxf(rintf(x[j] * inv), -127.0f), 127.0f);
            out[2 + j] = (uint8_t)(int8_t)q;
        }
    }
}

MK_MULTIVERSION
void mk_quantize_q4_0(const float *src, size_t n, uint8_t *dst) {
    for (size_t b = 0; b < n / MK_QBLOCK; b++) {
        const float *x = src + b * MK_QBLOCK;
        uint8_t *out = dst + b * MK_Q4_BLOCK_BYTES;
        // Symmetric: the block's largest magnitude maps to ±7 (-8 is never produced).
        uint16_t hd = mk_f2h(mk_scale_of(x, 7.0f));
        float d = mk_half_to_float(hd);
        float inv = d > 0 ? 1.0f / d : 0.0f;
        memcpy(out, &hd, 2);
        for (int j = 0; j < MK_QBLOCK / 2; j++) {
            int lo = (int)fminf(fmaxf(rintf(x[j] * inv), -7.0f), 7.0f);
            int hi = (int)fminf(fmaxf(rintf(x[j + 16] * inv), -7.0f), 7.0f);
            out[2 + j] = (uint8_t)((lo + 8) | ((hi + 8) << 4));
        }
    }
}

MK_MULTIVERSION
void mk_dequantize_q8_0(const uint8_t *src, size_t n, float *dst) {
    for (size_t b = 0; b < n / MK_QBLOCK; b++) {
        const uint8_t *in = src + b * MK_Q8_BLOCK_BYTES;
        float d = mk_block_scale(in);
        const int8_t *q = (const int8_t *)(in + 2);
        for (int j = 0; j < MK_QBLOCK; j++) dst[b * MK_QBLOCK + j] = d * (float)q[j];
    }
}

MK_MULTIVERSION
void mk_dequantize_q4_0(const uint8_t *src, size_t n, float *dst) {
    for (size_t b = 0; b < n / MK_QBLOCK; b++) {
        const uint8_t *in = src + b * MK_Q4_BLOCK_BYTES;
        float d = mk_block_scale(in);
        for (int j = 0; j < MK_QBLOCK / 2; j++) {
            dst[b * MK_QBLOCK + j] = d * (float)((int)(in[2 + j] & 0x0f) - 8);
            dst[b * MK_QBLOCK + j + 16] = d * (float)((int)(in[2 + j] >> 4) - 8);
        }
    }
}
