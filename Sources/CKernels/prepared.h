#ifndef MIMO_CKERNELS_PREPARED_H
#define MIMO_CKERNELS_PREPARED_H

// The prepared-activation buffers of the prefill GEMM (gemm.h's mk_gemm_prepare), as every
// instruction set's GEMM reads them.
#include "layout.h"
#include <stddef.h>
#include <stdint.h>

static inline size_t mk_align64(size_t n) { return (n + 63) & ~(size_t)63; }

// q8_0 / q4_0: int8 levels [m][k], then f32 scales [m][nb], then int32 corrections [m][nb] =
// −offset · Σ levels of the block (offset 128 for q8, 8 for q4).
typedef struct {
    int8_t *q;
    float *d;
    int32_t *c;
} mk_qact;

static inline mk_qact mk_qact_view(const void *act, size_t m, size_t k) {
    size_t nb = k / MK_QBLOCK;
    uint8_t *base = (uint8_t *)act;
    mk_qact a;
    a.q = (int8_t *)base;
    a.d = (float *)(base + mk_align64(m * k));
    a.c = (int32_t *)(base + mk_align64(m * k) + mk_align64(m * nb * sizeof(float)));
    return a;
}

// q8_0_x16: int16 levels [m][k], then f32 scales [m][nb].
static inline int16_t *mk_x16_levels(const void *act) { return (int16_t *)act; }
static inline float *mk_x16_scales(const void *act, size_t m, size_t k) {
    return (float *)((uint8_t *)act + mk_align64(m * k * sizeof(int16_t)));
}

// bf16: bfloat16 [m][k].
static inline size_t mk_prepared_bytes(int bf16, int x16, size_t m, size_t k) {
    size_t nb = k / MK_QBLOCK;
    if (bf16) return m * k * sizeof(uint16_t);
    if (x16) return mk_align64(m * k * sizeof(int16_t)) + m * nb * sizeof(float);
    return mk_align64(m * k) + mk_align64(m * nb * sizeof(float)) + m * nb * sizeof(int32_t);
}

#endif
