// Arm NEON kernels (Advanced SIMD is baseline on aarch64): the decode products (ckernels.h) and
// the prefill GEMM (gemm.h), with the same exact integer block sums as their scalar paths.
//
// Every 32-block product here runs along k: a block's values lie contiguous in the stored weight
// row (layout.h) and in the activations, so both load as they are and multiply lane by lane —
// int16 × int16 with vmull_s16 / vmlal_s16 (decode steps, q8_0_x16), int8 × int8 with SDOT
// where the CPU has the dot-product extension, else vmull_s8 + vpadalq_s16 — into an int32
// vector whose lanes add up to the exact block sum. The int16 decode kernel scales each such
// vector with one FMA; the others first fold four of them with pairwise adds into one vector of
// four block sums (four blocks of a row, or a block of four weight rows) and scale that with one
// FMA. So the weight is never repacked: the GEMM only walks it a panel of rows at a time, small
// enough to stay in L2 while every activation row goes past it.
#if defined(__aarch64__)
#include <arm_neon.h>
#include <stdlib.h>
#include <string.h>

#include "fill.h"
#include "layout.h"
#include "prepared.h"
#include "target.h"

// The loop bodies are shared by the SDOT and the baseline variants: they are always_inline with
// constant `dotprod` / `q4` / row-count parameters, so each entry point gets its own copy with
// the unused branches gone. The SDOT leaf itself has the extension's target attribute ("arch="
// rather than "+dotprod": GCC's arm_neon.h declares vdotq_s32 under that arch) and so cannot be
// always_inline into bodies compiled without it; `flatten` on the SDOT entry points inlines it.
#define MK_NEON_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#define MK_NEON_SDOT_ENTRY MK_NEON_DOTPROD __attribute__((flatten))
#define MK_NEON_INLINE static inline __attribute__((always_inline))
// The loops over a tile's rows inside its block loop carry `#pragma GCC unroll`: their
// accumulators stay in registers only when every index is a constant, and clang leaves such
// loops rolled (the accumulators on the stack) when their bodies are large.

MK_NEON_INLINE size_t mk_neon_min(size_t a, size_t b) { return a < b ? a : b; }

// g consecutive f16 scales at p (any alignment) as f32, zero past g (< 4 only at a row's end).
MK_NEON_INLINE float32x4_t mk_neon_scales4(const uint8_t *p, size_t g) {
    if (g >= 4) return vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(p)));
    uint8_t h[8] = {0};
    memcpy(h, p, 2 * g);
    return vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(h)));
}

MK_NEON_INLINE float32x4_t mk_neon_load4(const float *p, size_t g) {
    if (g >= 4) return vld1q_f32(p);
    float t[4] = {0};
    memcpy(t, p, g * sizeof(float));
    return vld1q_f32(t);
}

// The first n (≤ 4) lanes of v.
MK_NEON_INLINE void mk_neon_store(float *y, float32x4_t v, size_t n) {
    if (n == 4) {
        vst1q_f32(y, v);
        return;
    }
    float t[4];
    vst1q_f32(t, v);
    memcpy(y, t, n * sizeof(float));
}

// Four partial-sum vectors (one per block or weight row) to the vector of their four totals.
MK_NEON_INLINE int32x4_t mk_neon_sum4(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
    return vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d));
}

// Block b of a q4 row (qs = its values) as the stored nibbles, level + 8: values 0..15 in *lo,
// 16..31 in *hi.
MK_NEON_INLINE void mk_neon_q4_block(const uint8_t *qs, size_t nb, size_t b, uint8x16_t *lo, uint8x16_t *hi) {
    const uint8x16_t low4 = vdupq_n_u8(0x0f);
    int mode;
    const uint8_t *v = mk_q4_block_values(qs, nb, b, &mode);
    if (mode == MK_VALS_NIB16) {   // the lone last block: byte t holds values t and t + 16
        uint8x16_t t = vld1q_u8(v);
        *lo = vandq_u8(t, low4);
        *hi = vshrq_n_u8(t, 4);
        return;
    }
    // A pair: byte t holds block 2p's value t (low nibble) and block 2p + 1's (high).
    uint8x16_t v0 = vld1q_u8(v), v1 = vld1q_u8(v + 16);
    if (mode == MK_VALS_NIB_HI) {
        *lo = vshrq_n_u8(v0, 4);
        *hi = vshrq_n_u8(v1, 4);
    } else {
        *lo = vandq_u8(v0, low4);
        *hi = vandq_u8(v1, low4);
    }
}

// 32 int8 weights (w0: values 0..15, w1: 16..31) times 32 int8 activations: an int32 vector
// whose lanes add up to the block sum. SDOT takes four products per lane at once.
MK_NEON_DOTPROD
static inline int32x4_t mk_neon_dot32_sdot(int8x16_t w0, int8x16_t w1, int8x16_t x0, int8x16_t x1) {
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), w0, x0), w1, x1);
}

// Without SDOT: int16 products, added pairwise into int32. The activation levels are within
// ±127, so two products of any int8 weights share an int16 lane (≤ 2 · 128 · 127) and four of
// q4's stored nibbles (≤ 15, `nibbles`) do.
MK_NEON_INLINE int32x4_t mk_neon_dot32_mull(const int nibbles, int8x16_t w0, int8x16_t w1, int8x16_t x0, int8x16_t x1) {
    int16x8_t p = vmlal_high_s8(vmull_s8(vget_low_s8(w0), vget_low_s8(x0)), w0, x0);
    if (nibbles) return vpaddlq_s16(vmlal_high_s8(vmlal_s8(p, vget_low_s8(w1), vget_low_s8(x1)), w1, x1));
    int16x8_t q = vmlal_high_s8(vmull_s8(vget_low_s8(w1), vget_low_s8(x1)), w1, x1);
    return vpadalq_s16(vpaddlq_s16(p), q);
}

MK_NEON_INLINE int32x4_t mk_neon_dot32(const int dotprod, const int nibbles, int8x16_t w0, int8x16_t w1, int8x16_t x0,
                                      int8x16_t x1) {
    return dotprod ? mk_neon_dot32_sdot(w0, w1, x0, x1) : mk_neon_dot32_mull(nibbles, w0, w1, x0, x1);
}

// ---------------------------------------------------------------------------------------------
// Decode steps with int16 activations (mk_qdot): each weight block is widened to int16 once —
// q4 less its + 8 offset in the same instruction (vsubl_u8), so the sums need no correction —
// and multiplied into every activation row; one FMA per block and row, alternating between two
// accumulators so that a single row is not held up by the FMA latency.

#define MK_NEON_QDOT_ROWS 8

MK_NEON_INLINE void mk_neon_widen_q8(const uint8_t *v, int16x8_t *w) {
    int8x16_t a = vld1q_s8((const int8_t *)v), b = vld1q_s8((const int8_t *)v + 16);
    w[0] = vmovl_s8(vget_low_s8(a));
    w[1] = vmovl_high_s8(a);
    w[2] = vmovl_s8(vget_low_s8(b));
    w[3] = vmovl_high_s8(b);
}

MK_NEON_INLINE void mk_neon_widen_q4(const uint8_t *qs, size_t nb, size_t b, int16x8_t *w) {
    uint8x16_t lo, hi;
    mk_neon_q4_block(qs, nb, b, &lo, &hi);
    const uint8x16_t eight = vdupq_n_u8(8);
    w[0] = vreinterpretq_s16_u16(vsubl_u8(vget_low_u8(lo), vget_low_u8(eight)));
    w[1] = vreinterpretq_s16_u16(vsubl_high_u8(lo, eight));
    w[2] = vreinterpretq_s16_u16(vsubl_u8(vget_low_u8(hi), vget_low_u8(eight)));
    w[3] = vreinterpretq_s16_u16(vsubl_high_u8(hi, eight));
}

MK_NEON_INLINE void mk_neon_widen_block(int q4, const uint8_t *qs, size_t nb, size_t b, int16x8_t *w) {
    if (q4) mk_neon_widen_q4(qs, nb, b, w);
    else mk_neon_widen_q8(qs + MK_QBLOCK * b, w);
}

// A block of int16 weights times 32 int16 activations: ≤ 8 products of ≤ 127 · 32767 per lane.
MK_NEON_INLINE int32x4_t mk_neon_dot32_s16(const int16x8_t *w, const int16x8_t *x) {
    int32x4_t a = vmlal_high_s16(vmull_s16(vget_low_s16(w[0]), vget_low_s16(x[0])), w[0], x[0]);
    int32x4_t b = vmlal_high_s16(vmull_s16(vget_low_s16(w[1]), vget_low_s16(x[1])), w[1], x[1]);
    a = vmlal_high_s16(vmlal_s16(a, vget_low_s16(w[2]), vget_low_s16(x[2])), w[2], x[2]);
    b = vmlal_high_s16(vmlal_s16(b, vget_low_s16(w[3]), vget_low_s16(x[3])), w[3], x[3]);
    return vaddq_s32(a, b);
}

MK_NEON_INLINE void mk_neon_load_x16(const int16_t *x, int16x8_t *v) {
    for (int j = 0; j < 4; j++) v[j] = vld1q_s16(x + 8 * j);
}

MK_NEON_INLINE void mk_qdot_row_neon(const int mr, const int16_t *qx, const float *dx, size_t k, const uint8_t *row,
                                    int q4, float *y, size_t ldy) {
    size_t nb = k / MK_QBLOCK;
    const uint8_t *qs = mk_qrow_values(row, nb);
    float32x4_t acc0[MK_NEON_QDOT_ROWS], acc1[MK_NEON_QDOT_ROWS];
    for (int i = 0; i < mr; i++) acc0[i] = acc1[i] = vdupq_n_f32(0.0f);
    float s[MK_NEON_QDOT_ROWS][4];
    for (size_t b = 0; b < nb; b += 4) {
        size_t g = mk_neon_min(4, nb - b);
        float32x4_t ws = mk_neon_scales4(mk_qrow_scale_at(row, b), g);
        for (int i = 0; i < mr; i++) vst1q_f32(s[i], vmulq_f32(ws, mk_neon_load4(dx + i * nb + b, g)));
        size_t j = 0;
        for (; j + 2 <= g; j += 2) {
            int16x8_t w0[4], w1[4];
            mk_neon_widen_block(q4, qs, nb, b + j, w0);
            mk_neon_widen_block(q4, qs, nb, b + j + 1, w1);
            #pragma GCC unroll 8
            for (int i = 0; i < mr; i++) {
                int16x8_t x[4];
                const int16_t *xb = qx + i * k + (b + j) * MK_QBLOCK;
                mk_neon_load_x16(xb, x);
                acc0[i] = vfmaq_n_f32(acc0[i], vcvtq_f32_s32(mk_neon_dot32_s16(w0, x)), s[i][j]);
                mk_neon_load_x16(xb + MK_QBLOCK, x);
                acc1[i] = vfmaq_n_f32(acc1[i], vcvtq_f32_s32(mk_neon_dot32_s16(w1, x)), s[i][j + 1]);
            }
        }
        if (j < g) {
            int16x8_t w0[4];
            mk_neon_widen_block(q4, qs, nb, b + j, w0);
            #pragma GCC unroll 8
            for (int i = 0; i < mr; i++) {
                int16x8_t x[4];
                mk_neon_load_x16(qx + i * k + (b + j) * MK_QBLOCK, x);
                acc0[i] = vfmaq_n_f32(acc0[i], vcvtq_f32_s32(mk_neon_dot32_s16(w0, x)), s[i][j]);
            }
        }
    }
    for (int i = 0; i < mr; i++) y[i * ldy] = vaddvq_f32(vaddq_f32(acc0[i], acc1[i]));
}

static void mk_qdot_neon(const int16_t *qx, const float *dx, const float *sx, size_t m, size_t k, const uint8_t *w,
                         int q4, size_t r0, size_t r1, float *y, size_t ldy) {
    (void)sx;   // q4's + 8 offset is taken off while widening
    size_t bytes = mk_quant_row_bytes(k, q4);
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *row = w + r * bytes;
        switch (m) {
        case 1: mk_qdot_row_neon(1, qx, dx, k, row, q4, y + r, ldy); break;
        case 2: mk_qdot_row_neon(2, qx, dx, k, row, q4, y + r, ldy); break;
        case 3: mk_qdot_row_neon(3, qx, dx, k, row, q4, y + r, ldy); break;
        case 4: mk_qdot_row_neon(4, qx, dx, k, row, q4, y + r, ldy); break;
        case 5: mk_qdot_row_neon(5, qx, dx, k, row, q4, y + r, ldy); break;
        case 6: mk_qdot_row_neon(6, qx, dx, k, row, q4, y + r, ldy); break;
        case 7: mk_qdot_row_neon(7, qx, dx, k, row, q4, y + r, ldy); break;
        default: mk_qdot_row_neon(8, qx, dx, k, row, q4, y + r, ldy); break;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// q4 decode steps with int8 activations (mk_qdot_q4_i8): a pair's 32 bytes give two blocks of
// nibbles (an AND and a shift), multiplied as they are stored (0..15); four blocks' sums come
// out of one pairwise-add tree and lose the + 8 offset exactly in int32 (8 · sx, sx an exact
// integer), then one FMA per four blocks.

MK_NEON_INLINE void mk_qdot_q4_i8_rows(const int dotprod, const int8_t *qx, const float *dx, const float *sx, size_t k,
                                      const uint8_t *w, size_t r0, size_t r1, float *y) {
    size_t nb = k / MK_QBLOCK, bytes = mk_quant_row_bytes(k, 1);
    const uint8x16_t low4 = vdupq_n_u8(0x0f);
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *row = w + r * bytes, *qs = mk_qrow_values(row, nb);
        float32x4_t acc = vdupq_n_f32(0.0f);
        for (size_t b = 0; b < nb; b += 4) {
            size_t g = mk_neon_min(4, nb - b);
            const int8_t *x = qx + b * MK_QBLOCK;
            int32x4_t d[4];
            if (g == 4) {   // two whole pairs (the lone block of an odd count is never among them)
                for (int p = 0; p < 2; p++) {
                    uint8x16_t v0 = vld1q_u8(qs + (b + 2 * p) * 16), v1 = vld1q_u8(qs + (b + 2 * p) * 16 + 16);
                    const int8_t *xp = x + 2 * p * MK_QBLOCK;
                    d[2 * p] = mk_neon_dot32(dotprod, 1, vreinterpretq_s8_u8(vandq_u8(v0, low4)),
                                             vreinterpretq_s8_u8(vandq_u8(v1, low4)), vld1q_s8(xp), vld1q_s8(xp + 16));
                    d[2 * p + 1] = mk_neon_dot32(dotprod, 1, vreinterpretq_s8_u8(vshrq_n_u8(v0, 4)),
                                                 vreinterpretq_s8_u8(vshrq_n_u8(v1, 4)), vld1q_s8(xp + 32), vld1q_s8(xp + 48));
                }
            } else {
                for (size_t j = 0; j < 4; j++) {
                    d[j] = vdupq_n_s32(0);
                    if (j >= g) continue;
                    uint8x16_t lo, hi;
                    mk_neon_q4_block(qs, nb, b + j, &lo, &hi);
                    d[j] = mk_neon_dot32(dotprod, 1, vreinterpretq_s8_u8(lo), vreinterpretq_s8_u8(hi),
                                         vld1q_s8(x + j * MK_QBLOCK), vld1q_s8(x + j * MK_QBLOCK + 16));
                }
            }
            int32x4_t sums = vmlsq_n_s32(mk_neon_sum4(d[0], d[1], d[2], d[3]), vcvtq_s32_f32(mk_neon_load4(sx + b, g)), 8);
            float32x4_t f = vmulq_f32(mk_neon_scales4(mk_qrow_scale_at(row, b), g), mk_neon_load4(dx + b, g));
            acc = vfmaq_f32(acc, vcvtq_f32_s32(sums), f);
        }
        y[r] = vaddvq_f32(acc);
    }
}

MK_NEON_SDOT_ENTRY
static void mk_qdot_q4_i8_sdot(const int8_t *qx, const float *dx, const float *sx, size_t k, const uint8_t *w,
                               size_t r0, size_t r1, float *y) {
    mk_qdot_q4_i8_rows(1, qx, dx, sx, k, w, r0, r1, y);
}

static void mk_qdot_q4_i8_mull(const int8_t *qx, const float *dx, const float *sx, size_t k, const uint8_t *w,
                               size_t r0, size_t r1, float *y) {
    mk_qdot_q4_i8_rows(0, qx, dx, sx, k, w, r0, r1, y);
}

// ---------------------------------------------------------------------------------------------
// Prefill GEMM. Tiles of MR activation rows × 4 weight rows: per block, the four rows' values
// are loaded once and multiplied into every activation row, and the four block sums of each
// activation row (lane = weight row) take one convert, one scale product dw·dx and one FMA —
// the scalar path's arithmetic in its order (block by block), so the results agree bit for
// bit. The weight rows go in panels of about MK_NEON_PANEL_BYTES, which stay in L2 (with
// their scales transposed to [group][block][4] f32 beside them) while every tile of activation
// rows passes; a panel's partial last group and a partial last tile repeat their last row in
// the unused lanes, which are computed and dropped.

#ifndef MK_NEON_PANEL_BYTES
#define MK_NEON_PANEL_BYTES ((size_t)192 << 10)
#endif
#define MK_NEON_NR 4
#define MK_NEON_MR_I8 8    // int8: 8 f32 accumulators, 8 weight vectors, a few temporaries;
                           // a last tile of ≤ 4 rows runs on a 4-row copy
#define MK_NEON_MR_WIDE 4  // int16 and bf16, whose weights take twice the registers

// Weight rows per panel: a multiple of the 4-row group.
static size_t mk_neon_panel_rows(size_t row_bytes) {
    size_t rows = MK_NEON_PANEL_BYTES / row_bytes / MK_NEON_NR * MK_NEON_NR;
    return rows < MK_NEON_NR ? MK_NEON_NR : rows;
}

// Row pointers of a group of 4 weight rows from row r (n ≤ 4 of them real).
MK_NEON_INLINE void mk_neon_group_rows(const uint8_t *w, size_t rb, size_t r, size_t n, const uint8_t **rows) {
    for (size_t l = 0; l < MK_NEON_NR; l++) rows[l] = w + (r + mk_neon_min(l, n - 1)) * rb;
}

// Scales of panel rows [p0, p1) of q8 / q4 rows: dw[((r − p0) / 4 · nb + b) · 4 + l].
static void mk_neon_panel_scales(const uint8_t *w, size_t rb, size_t nb, size_t p0, size_t p1, float *dw) {
    for (size_t r = p0; r < p1; r += MK_NEON_NR) {
        const uint8_t *rows[MK_NEON_NR];
        mk_neon_group_rows(w, rb, r, mk_neon_min(MK_NEON_NR, p1 - r), rows);
        float *dst = dw + (r - p0) * nb;
        for (size_t b = 0; b < nb; b++)
            for (size_t l = 0; l < MK_NEON_NR; l++) dst[b * MK_NEON_NR + l] = mk_qrow_scale(rows[l], b);
    }
}

// int8 tile of mr rows: levels, scales and corrections at x[i], dx[i], c[i]; weight rows at
// wr[l] with scales dw.
MK_NEON_INLINE void mk_gemm_q_tile(const int mr, const int q4, const int dotprod, const int8_t *const *x,
                                  const float *const *dx, const int32_t *const *c, const uint8_t *const *wr,
                                  const float *dw, size_t nb, float32x4_t *f) {
    for (int i = 0; i < mr; i++) f[i] = vdupq_n_f32(0.0f);
    for (size_t b = 0; b < nb; b++) {
        int8x16_t w0[MK_NEON_NR], w1[MK_NEON_NR];
        #pragma GCC unroll 8
        for (int l = 0; l < MK_NEON_NR; l++) {
            const uint8_t *qs = mk_qrow_values(wr[l], nb);
            if (q4) {
                uint8x16_t lo, hi;
                mk_neon_q4_block(qs, nb, b, &lo, &hi);
                w0[l] = vreinterpretq_s8_u8(lo);
                w1[l] = vreinterpretq_s8_u8(hi);
            } else {
                w0[l] = vld1q_s8((const int8_t *)qs + MK_QBLOCK * b);
                w1[l] = vld1q_s8((const int8_t *)qs + MK_QBLOCK * b + 16);
            }
        }
        float32x4_t d4 = vld1q_f32(dw + MK_NEON_NR * b);
        #pragma GCC unroll 8
        for (int i = 0; i < mr; i++) {
            int8x16_t x0 = vld1q_s8(x[i] + MK_QBLOCK * b), x1 = vld1q_s8(x[i] + MK_QBLOCK * b + 16);
            int32x4_t s = mk_neon_sum4(mk_neon_dot32(dotprod, q4, w0[0], w1[0], x0, x1),
                                       mk_neon_dot32(dotprod, q4, w0[1], w1[1], x0, x1),
                                       mk_neon_dot32(dotprod, q4, w0[2], w1[2], x0, x1),
                                       mk_neon_dot32(dotprod, q4, w0[3], w1[3], x0, x1));
            // q4 multiplies the stored nibbles (level + 8); c = −8 · Σ levels takes the offset off.
            if (q4) s = vaddq_s32(s, vdupq_n_s32(c[i][b]));
            f[i] = vfmaq_f32(f[i], vcvtq_f32_s32(s), vmulq_n_f32(d4, dx[i][b]));
        }
    }
}

MK_NEON_INLINE void mk_gemm_q_body(const int q4, const int dotprod, const int8_t *q, const float *d, const int32_t *c,
                                  size_t m, size_t k, const uint8_t *w, size_t r0, size_t r1, float *y, size_t ldy) {
    size_t nb = k / MK_QBLOCK, rb = mk_quant_row_bytes(k, q4), panel = mk_neon_panel_rows(rb);
    float *dw = malloc(panel * nb * sizeof(float));
    if (!dw) abort();
    for (size_t p0 = r0; p0 < r1; p0 += panel) {
        size_t p1 = mk_neon_min(r1, p0 + panel);
        mk_neon_panel_scales(w, rb, nb, p0, p1, dw);
        for (size_t i0 = 0; i0 < m; i0 += MK_NEON_MR_I8) {
            size_t mr = mk_neon_min(MK_NEON_MR_I8, m - i0);
            const int8_t *x[MK_NEON_MR_I8];
            const float *dx[MK_NEON_MR_I8];
            const int32_t *cs[MK_NEON_MR_I8];
            for (size_t i = 0; i < MK_NEON_MR_I8; i++) {
                size_t row = i0 + mk_neon_min(i, mr - 1);
                x[i] = q + row * k;
                dx[i] = d + row * nb;
                cs[i] = c + row * nb;
            }
            for (size_t r = p0; r < p1; r += MK_NEON_NR) {
                size_t n = mk_neon_min(MK_NEON_NR, p1 - r);
                const uint8_t *wr[MK_NEON_NR];
                mk_neon_group_rows(w, rb, r, n, wr);
                float32x4_t f[MK_NEON_MR_I8];
                if (mr > 4) mk_gemm_q_tile(MK_NEON_MR_I8, q4, dotprod, x, dx, cs, wr, dw + (r - p0) * nb, nb, f);
                else mk_gemm_q_tile(4, q4, dotprod, x, dx, cs, wr, dw + (r - p0) * nb, nb, f);
                for (size_t i = 0; i < mr; i++) mk_neon_store(y + (i0 + i) * ldy + r, f[i], n);
            }
        }
    }
    free(dw);
}

MK_NEON_SDOT_ENTRY
static void mk_gemm_q_sdot(int q4, const void *act, size_t m, size_t k, const uint8_t *w, size_t r0, size_t r1,
                           float *y, size_t ldy) {
    mk_qact a = mk_qact_view(act, m, k);
    if (q4) mk_gemm_q_body(1, 1, a.q, a.d, a.c, m, k, w, r0, r1, y, ldy);
    else mk_gemm_q_body(0, 1, a.q, a.d, a.c, m, k, w, r0, r1, y, ldy);
}

static void mk_gemm_q_mull(int q4, const void *act, size_t m, size_t k, const uint8_t *w, size_t r0, size_t r1,
                           float *y, size_t ldy) {
    mk_qact a = mk_qact_view(act, m, k);
    if (q4) mk_gemm_q_body(1, 0, a.q, a.d, a.c, m, k, w, r0, r1, y, ldy);
    else mk_gemm_q_body(0, 0, a.q, a.d, a.c, m, k, w, r0, r1, y, ldy);
}

// q8_0_x16 tile: int16 levels at x[i] with scales dx[i]; the four weight rows' block widened
// once (16 registers) for the MR_WIDE activation rows.
MK_NEON_INLINE void mk_gemm_x16_tile(const int16_t *const *x, const float *const *dx, const uint8_t *const *wr,
                                    const float *dw, size_t nb, float32x4_t *f) {
    for (int i = 0; i < MK_NEON_MR_WIDE; i++) f[i] = vdupq_n_f32(0.0f);
    for (size_t b = 0; b < nb; b++) {
        int16x8_t wv[MK_NEON_NR][4];
        for (int l = 0; l < MK_NEON_NR; l++) mk_neon_widen_q8(mk_qrow_values(wr[l], nb) + MK_QBLOCK * b, wv[l]);
        float32x4_t d4 = vld1q_f32(dw + MK_NEON_NR * b);
        #pragma GCC unroll 8
        for (int i = 0; i < MK_NEON_MR_WIDE; i++) {
            int16x8_t xv[4];
            mk_neon_load_x16(x[i] + MK_QBLOCK * b, xv);
            int32x4_t s = mk_neon_sum4(mk_neon_dot32_s16(wv[0], xv), mk_neon_dot32_s16(wv[1], xv),
                                       mk_neon_dot32_s16(wv[2], xv), mk_neon_dot32_s16(wv[3], xv));
            // (float)s may round (|s| can pass 2²⁴), as the scalar path's conversion does.
            f[i] = vfmaq_f32(f[i], vcvtq_f32_s32(s), vmulq_n_f32(d4, dx[i][b]));
        }
    }
}

static void mk_gemm_x16_neon(const void *act, size_t m, size_t k, const uint8_t *w, size_t r0, size_t r1, float *y,
                             size_t ldy) {
    const int16_t *q = mk_x16_levels(act);
    const float *d = mk_x16_scales(act, m, k);
    size_t nb = k / MK_QBLOCK, rb = mk_quant_row_bytes(k, 0), panel = mk_neon_panel_rows(rb);
    float *dw = malloc(panel * nb * sizeof(float));
    if (!dw) abort();
    for (size_t p0 = r0; p0 < r1; p0 += panel) {
        size_t p1 = mk_neon_min(r1, p0 + panel);
        mk_neon_panel_scales(w, rb, nb, p0, p1, dw);
        for (size_t i0 = 0; i0 < m; i0 += MK_NEON_MR_WIDE) {
            size_t mr = mk_neon_min(MK_NEON_MR_WIDE, m - i0);
            const int16_t *x[MK_NEON_MR_WIDE];
            const float *dx[MK_NEON_MR_WIDE];
            for (size_t i = 0; i < MK_NEON_MR_WIDE; i++) {
                size_t row = i0 + mk_neon_min(i, mr - 1);
                x[i] = q + row * k;
                dx[i] = d + row * nb;
            }
            for (size_t r = p0; r < p1; r += MK_NEON_NR) {
                size_t n = mk_neon_min(MK_NEON_NR, p1 - r);
                const uint8_t *wr[MK_NEON_NR];
                mk_neon_group_rows(w, rb, r, n, wr);
                float32x4_t f[MK_NEON_MR_WIDE];
                mk_gemm_x16_tile(x, dx, wr, dw + (r - p0) * nb, nb, f);
                for (size_t i = 0; i < mr; i++) mk_neon_store(y + (i0 + i) * ldy + r, f[i], n);
            }
        }
    }
    free(dw);
}

// bf16 tile: a bf16 is the top half of an f32, so both sides widen with one shift (vshll) and
// each activation-row × weight-row pair keeps an f32 vector of partial sums over k (lane l
// sums k ≡ l mod 4 in order), folded at the end. Only the order of the f32 additions differs
// from the scalar path's.
MK_NEON_INLINE void mk_gemm_bf16_tile(const uint16_t *const *x, const uint16_t *const *wr, size_t k, float32x4_t *out) {
    float32x4_t acc[MK_NEON_MR_WIDE][MK_NEON_NR];
    for (int i = 0; i < MK_NEON_MR_WIDE; i++)
        for (int l = 0; l < MK_NEON_NR; l++) acc[i][l] = vdupq_n_f32(0.0f);
    for (size_t j = 0; j < k; j += 8) {
        float32x4_t wl[MK_NEON_NR], wh[MK_NEON_NR];
        for (int l = 0; l < MK_NEON_NR; l++) {
            uint16x8_t v = vld1q_u16(wr[l] + j);
            wl[l] = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(v), 16));
            wh[l] = vreinterpretq_f32_u32(vshll_high_n_u16(v, 16));
        }
        #pragma GCC unroll 8
        for (int i = 0; i < MK_NEON_MR_WIDE; i++) {
            uint16x8_t u = vld1q_u16(x[i] + j);
            float32x4_t xl = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(u), 16));
            float32x4_t xh = vreinterpretq_f32_u32(vshll_high_n_u16(u, 16));
            for (int l = 0; l < MK_NEON_NR; l++) acc[i][l] = vfmaq_f32(vfmaq_f32(acc[i][l], xl, wl[l]), xh, wh[l]);
        }
    }
    for (int i = 0; i < MK_NEON_MR_WIDE; i++)
        out[i] = vpaddq_f32(vpaddq_f32(acc[i][0], acc[i][1]), vpaddq_f32(acc[i][2], acc[i][3]));
}

static void mk_gemm_bf16_neon(const uint16_t *x, size_t m, size_t k, const uint16_t *w, size_t r0, size_t r1, float *y,
                       size_t ldy) {
    size_t panel = mk_neon_panel_rows(k * sizeof(uint16_t));
    for (size_t p0 = r0; p0 < r1; p0 += panel) {
        size_t p1 = mk_neon_min(r1, p0 + panel);
        for (size_t i0 = 0; i0 < m; i0 += MK_NEON_MR_WIDE) {
            size_t mr = mk_neon_min(MK_NEON_MR_WIDE, m - i0);
            const uint16_t *xr[MK_NEON_MR_WIDE];
            for (size_t i = 0; i < MK_NEON_MR_WIDE; i++) xr[i] = x + (i0 + mk_neon_min(i, mr - 1)) * k;
            for (size_t r = p0; r < p1; r += MK_NEON_NR) {
                size_t n = mk_neon_min(MK_NEON_NR, p1 - r);
                const uint16_t *wr[MK_NEON_NR];
                for (size_t l = 0; l < MK_NEON_NR; l++) wr[l] = w + (r + mk_neon_min(l, n - 1)) * k;
                float32x4_t f[MK_NEON_MR_WIDE];
                mk_gemm_bf16_tile(xr, wr, k, f);
                for (size_t i = 0; i < mr; i++) mk_neon_store(y + (i0 + i) * ldy + r, f[i], n);
            }
        }
    }
}

void mk_fill_neon(mk_kernels *t, int dotprod) {
    t->qdot = mk_qdot_neon;
    t->qdot_q4_i8 = dotprod ? mk_qdot_q4_i8_sdot : mk_qdot_q4_i8_mull;
    t->qdot_q4_i8_native = 1;
    t->gemm_q = dotprod ? mk_gemm_q_sdot : mk_gemm_q_mull;
    t->gemm_x16 = mk_gemm_x16_neon;
    t->gemm_bf16 = mk_gemm_bf16_neon;
}
#endif
