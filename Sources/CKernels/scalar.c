// The portable kernels: plain C for every slot of the table, compiled for the architecture's
// baseline (x86-64's SSE2; aarch64's NEON, which the compiler uses by itself). They are the
// reference the vector paths are tested against, with the same arithmetic (exact int32 block
// sums, the scale product dw·dx, one fmaf per block in block order), so the integer GEMMs agree
// with them bit for bit.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fill.h"
#include "layout.h"
#include "loops.h"
#include "prepared.h"
#include "target.h"

// ---------------------------------------------------------------------------------------------
// Decode products (ckernels.h).

static void mk_qdot_scalar(const int16_t *qx, const float *dx, const float *sx, size_t m, size_t k, const uint8_t *w,
                           int q4, size_t r0, size_t r1, float *y, size_t ldy) {
    (void)sx;   // the scalar sums subtract q4's + 8 offset per value instead
    size_t nb = k / MK_QBLOCK, bytes = mk_quant_row_bytes(k, q4);
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *row = w + r * bytes;
        for (size_t i = 0; i < m; i++) {
            float s = 0.0f;
            for (size_t b = 0; b < nb; b++) {
                const int16_t *xb = qx + i * k + b * MK_QBLOCK;
                int32_t dot = 0;
                for (int j = 0; j < MK_QBLOCK; j++) dot += (int32_t)xb[j] * (mk_qvalue(q4, row, nb, b, j) - (q4 ? 8 : 0));
                s += mk_qrow_scale(row, b) * dx[i * nb + b] * (float)dot;
            }
            y[i * ldy + r] = s;
        }
    }
}

static void mk_qdot_q4_i8_scalar(const int8_t *qx, const float *dx, const float *sx, size_t k, const uint8_t *w,
                                 size_t r0, size_t r1, float *y) {
    (void)sx;
    size_t nb = k / MK_QBLOCK, bytes = mk_quant_row_bytes(k, 1);
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *row = w + r * bytes;
        float s = 0.0f;
        for (size_t b = 0; b < nb; b++) {
            int32_t dot = 0;
            for (int j = 0; j < MK_QBLOCK; j++) dot += (int32_t)qx[b * MK_QBLOCK + j] * (mk_qvalue(1, row, nb, b, j) - 8);
            s += mk_qrow_scale(row, b) * dx[b] * (float)dot;
        }
        y[r] = s;
    }
}

// ---------------------------------------------------------------------------------------------
// Prefill GEMMs.

static void mk_gemm_q_scalar(int q4, const void *act, size_t m, size_t k, const uint8_t *w, size_t r0, size_t r1,
                             float *y, size_t ldy) {
    size_t nb = k / MK_QBLOCK, rb = mk_quant_row_bytes(k, q4);
    mk_qact a = mk_qact_view(act, m, k);
    int8_t *wq = malloc(k);
    float *ws = malloc(nb * sizeof(float));
    if (!wq || !ws) abort();
    for (size_t r = r0; r < r1; r++) {
        for (size_t b = 0; b < nb; b++) {
            int mode;
            const uint8_t *v = mk_qblock(q4, w + r * rb, nb, b, &ws[b], &mode);
            for (int g = 0; g < 8; g++) {
                uint32_t u = mk_qgroup(v, mode, g);
                for (int t = 0; t < 4; t++) {
                    int byte = (int)((u >> (8 * t)) & 0xff);
                    wq[b * MK_QBLOCK + 4 * g + t] = (int8_t)(q4 ? byte - 8 : (int8_t)byte);
                }
            }
        }
        for (size_t i = 0; i < m; i++) {
            const int8_t *xq = a.q + i * k;
            float s = 0.0f;
            for (size_t b = 0; b < nb; b++) {
                int32_t dot = 0;
                for (int j = 0; j < MK_QBLOCK; j++) dot += (int32_t)xq[b * MK_QBLOCK + j] * wq[b * MK_QBLOCK + j];
                s = fmaf((float)dot, ws[b] * a.d[i * nb + b], s);
            }
            y[i * ldy + r] = s;
        }
    }
    free(wq);
    free(ws);
}

static void mk_gemm_x16_scalar(const void *act, size_t m, size_t k, const uint8_t *w, size_t r0, size_t r1, float *y,
                               size_t ldy) {
    size_t nb = k / MK_QBLOCK, rb = mk_quant_row_bytes(k, 0);
    const int16_t *qx = mk_x16_levels(act);
    const float *dx = mk_x16_scales(act, m, k);
    for (size_t r = r0; r < r1; r++)
        for (size_t i = 0; i < m; i++) {
            float s = 0.0f;
            for (size_t b = 0; b < nb; b++) {
                float dw;
                int mode;
                const int8_t *v = (const int8_t *)mk_qblock(0, w + r * rb, nb, b, &dw, &mode);
                int32_t dot = 0;   // ≤ 32 · 32767 · 127 < 2³¹
                for (int j = 0; j < MK_QBLOCK; j++) dot += (int32_t)qx[i * k + b * MK_QBLOCK + j] * v[j];
                // (float)dot may round (|dot| can exceed 2²⁴); vcvtdq2ps rounds the same way.
                s = fmaf((float)dot, dw * dx[i * nb + b], s);
            }
            y[i * ldy + r] = s;
        }
}

static void mk_gemm_bf16_scalar(const uint16_t *x, size_t m, size_t k, const uint16_t *w, size_t r0, size_t r1,
                                float *y, size_t ldy) {
    for (size_t r = r0; r < r1; r++)
        for (size_t i = 0; i < m; i++) {
            float s = 0.0f;
            for (size_t j = 0; j < k; j++) s = fmaf(mk_bf16_to_float(x[i * k + j]), mk_bf16_to_float(w[r * k + j]), s);
            y[i * ldy + r] = s;
        }
}

void mk_fill_scalar(mk_kernels *t) {
    memset(t, 0, sizeof *t);
    strcpy(t->name, "scalar");
    mk_fill_loops(t);
    t->qdot = mk_qdot_scalar;
    t->qdot_q4_i8 = mk_qdot_q4_i8_scalar;
    t->gemm_bf16_small = mk_loop_gemm_bf16_rows;
    t->gemm_q = mk_gemm_q_scalar;
    t->gemm_x16 = mk_gemm_x16_scalar;
    t->gemm_bf16 = mk_gemm_bf16_scalar;
}
