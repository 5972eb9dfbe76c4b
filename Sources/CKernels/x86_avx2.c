// AVX2 kernels (with FMA and F16C: x86-64-v3's vector core), and the vectorised loops of loops.h
// compiled for it.
//
// A kernel here and its counterpart in the other x86 file (and the tiles of one kernel for each
// row count) share their structure on purpose: they differ in vector width, instructions and
// register budget, and macros generating both would hide exactly what makes each fast.
//
// Quantized matrix-vector products with int16 activations: each 32-wide block is an integer dot
// product (AVX-512BW `vpmaddwd` on a whole block, or AVX2 on half blocks), scaled once per block.
// The weight is read once, in its stored layout, and never widened to f32. int16 (not int8)
// activations keep the activation rounding (1/65534 of the block maximum) far below the
// weights' own, which the q8 parity bar on the reference fixtures needs.
//
// The row layout (see ckernels.h) puts a row's scales first so 16 of them convert with one
// instruction and fold with the activation scales into one vector; the q4 nibbles of two
// blocks share 32 bytes so one widening load feeds two whole-block products. What is left per
// block is the widen, the product, its conversion and one FMA.
#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "fill.h"
#include "layout.h"
#include "prepared.h"
#include "target.h"
#include "x86.h"

MK_TARGET_BEGIN("avx2,fma,f16c")
#include "loops.h"

static float mk_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

// AVX2 (16 registers, 256-bit): a block is two 16-lane int16 products (`vpmaddwd`), or for q4
// single-row steps one `vpmaddubsw` of the stored nibbles (unsigned) against int8 activations
// plus a `vpmaddwd` by ones. The 8 scales of a group convert with one F16C instruction.
static inline __m256 mk_scales8_256(const uint8_t *p, size_t g) {
    if (g == 8) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
    uint16_t h[8] = {0};
    memcpy(h, p, 2 * g);
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
}
static inline __m256 mk_loadf8_256(const float *p, size_t g) {
    if (g == 8) return _mm256_loadu_ps(p);
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32((int)g), lanes));
}

// Block `lo` (values 0..15) and `hi` (16..31) as int16, times 32 int16 activations at x.
static inline __m256 mk_block_product_256(__m256i lo, __m256i hi, const int16_t *x, float s, __m256 acc) {
    __m256i p = _mm256_add_epi32(_mm256_madd_epi16(lo, _mm256_loadu_si256((const __m256i *)x)),
                                 _mm256_madd_epi16(hi, _mm256_loadu_si256((const __m256i *)(x + 16))));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(s), acc);
}

// 1–8 activation rows: each weight block is widened once and multiplied into every row.
__attribute__((always_inline))
static inline void mk_qrow_256(const int M, const int16_t *qx, const float *dx, const float *sx, size_t k,
                               const uint8_t *w, int q4, size_t r, float *y, size_t ldy) {
    size_t nb = k / MK_QBLOCK, bytes = mk_quant_row_bytes(k, q4);
    const uint8_t *row = w + r * bytes, *qs = mk_qrow_values(row, nb);
    const __m256i low4 = _mm256_set1_epi16(0x0f);
    __m256 acc[MK_MAX_ROWS], corr[MK_MAX_ROWS];
    for (int i = 0; i < M; i++) acc[i] = corr[i] = _mm256_setzero_ps();
    float s[MK_MAX_ROWS][8];
    for (size_t b = 0; b < nb; b += 8) {
        size_t g = nb - b < 8 ? nb - b : 8;
        __m256 ws = mk_scales8_256(mk_qrow_scale_at(row, b), g);
        for (int i = 0; i < M; i++) {
            __m256 sv = _mm256_mul_ps(ws, mk_loadf8_256(dx + i * nb + b, g));
            _mm256_storeu_ps(s[i], sv);
            if (q4) corr[i] = _mm256_fmadd_ps(sv, mk_loadf8_256(sx + i * nb + b, g), corr[i]);
        }
        size_t j = 0;
        if (q4) {
            for (; j + 2 <= g; j += 2) {   // a pair: byte t holds block 2p's value t (low), 2p+1's (high)
                const uint8_t *pair = qs + (b + j) * 16;
                const int16_t *x0 = qx + (b + j) * MK_QBLOCK;
                if ((j & 3) == 0) _mm_prefetch((const char *)(pair + MK_PREFETCH_ROW), _MM_HINT_T0);
                __m256i v0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)pair));
                __m256i v1 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(pair + 16)));
                __m256i l0 = _mm256_and_si256(v0, low4), l1 = _mm256_and_si256(v1, low4);
                __m256i h0 = _mm256_srli_epi16(v0, 4), h1 = _mm256_srli_epi16(v1, 4);
                for (int i = 0; i < M; i++) {
                    acc[i] = mk_block_product_256(l0, l1, x0 + i * k, s[i][j], acc[i]);
                    acc[i] = mk_block_product_256(h0, h1, x0 + i * k + MK_QBLOCK, s[i][j + 1], acc[i]);
                }
            }
            if (j < g) {   // the lone last block of an odd count: low nibbles 0..15, high 16..31
                __m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(qs + (b + j) * 16)));
                __m256i lo = _mm256_and_si256(v, low4), hi = _mm256_srli_epi16(v, 4);
                for (int i = 0; i < M; i++) acc[i] = mk_block_product_256(lo, hi, qx + i * k + (b + j) * MK_QBLOCK, s[i][j], acc[i]);
            }
        } else {
            for (; j < g; j++) {
                const uint8_t *blk = qs + (b + j) * MK_QBLOCK;
                __m256i lo = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)blk));
                __m256i hi = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 16)));
                for (int i = 0; i < M; i++) acc[i] = mk_block_product_256(lo, hi, qx + i * k + (b + j) * MK_QBLOCK, s[i][j], acc[i]);
            }
        }
    }
    for (int i = 0; i < M; i++) y[i * ldy + r] = mk_hsum256(acc[i]) - (q4 ? 8.0f * mk_hsum256(corr[i]) : 0.0f);
}

static void mk_qdot_avx2(const int16_t *qx, const float *dx, const float *sx, size_t m, size_t k, const uint8_t *w,
                         int q4, size_t r0, size_t r1, float *y, size_t ldy) {
    for (size_t r = r0; r < r1; r++) {
        switch (m) {
        case 1: mk_qrow_256(1, qx, dx, sx, k, w, q4, r, y, ldy); break;
        MK_ROW_CASES_2_TO_8(mk_qrow_256, qx, dx, sx, k, w, q4, r, y, ldy)
        }
    }
}

// q4 decode steps with int8 activations on AVX2: 32 nibbles (one block) as unsigned bytes
// against 32 int8 activations in one `vpmaddubsw` (|15 · 127 · 2| fits int16), summed to 8
// int32 lanes by `vpmaddwd` with ones; one cache line (two pairs, four blocks) per iteration.
static inline __m256 mk_nibble_product_256(__m256i nibbles, const int8_t *x, float s, __m256 acc) {
    __m256i p = _mm256_maddubs_epi16(nibbles, _mm256_loadu_si256((const __m256i *)x));
    p = _mm256_madd_epi16(p, _mm256_set1_epi16(1));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(s), acc);
}

static void mk_qdot_q4_i8_avx2(const int8_t *qx, const float *dx, const float *sx, size_t k, const uint8_t *w,
                               size_t r0, size_t r1, float *y) {
    size_t nb = k / MK_QBLOCK, bytes = mk_quant_row_bytes(k, 1);
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *row = w + r * bytes, *qs = mk_qrow_values(row, nb);
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        __m256 corr = _mm256_setzero_ps();
        float s[8];
        for (size_t b = 0; b < nb; b += 8) {
            size_t g = nb - b < 8 ? nb - b : 8;
            __m256 sv = _mm256_mul_ps(mk_scales8_256(mk_qrow_scale_at(row, b), g), mk_loadf8_256(dx + b, g));
            corr = _mm256_fmadd_ps(sv, mk_loadf8_256(sx + b, g), corr);
            _mm256_storeu_ps(s, sv);
            size_t j = 0;
            for (; j + 4 <= g; j += 4) {
                const uint8_t *pair = qs + (b + j) * 16;
                const int8_t *x0 = qx + (b + j) * MK_QBLOCK;
                _mm_prefetch((const char *)(pair + MK_PREFETCH_ROW), _MM_HINT_T0);
                __m256i v0 = _mm256_loadu_si256((const __m256i *)pair), v1 = _mm256_loadu_si256((const __m256i *)(pair + 32));
                acc[0] = mk_nibble_product_256(_mm256_and_si256(v0, low4), x0, s[j], acc[0]);
                acc[1] = mk_nibble_product_256(_mm256_and_si256(_mm256_srli_epi16(v0, 4), low4), x0 + 32, s[j + 1], acc[1]);
                acc[2] = mk_nibble_product_256(_mm256_and_si256(v1, low4), x0 + 64, s[j + 2], acc[2]);
                acc[3] = mk_nibble_product_256(_mm256_and_si256(_mm256_srli_epi16(v1, 4), low4), x0 + 96, s[j + 3], acc[3]);
            }
            for (; j + 2 <= g; j += 2) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(qs + (b + j) * 16));
                const int8_t *x0 = qx + (b + j) * MK_QBLOCK;
                acc[0] = mk_nibble_product_256(_mm256_and_si256(v, low4), x0, s[j], acc[0]);
                acc[1] = mk_nibble_product_256(_mm256_and_si256(_mm256_srli_epi16(v, 4), low4), x0 + 32, s[j + 1], acc[1]);
            }
            if (j < g) {   // the lone last block: low nibbles are values 0..15, high 16..31
                __m128i v = _mm_loadu_si128((const __m128i *)(qs + (b + j) * 16));
                __m128i lo = _mm_and_si128(v, _mm_set1_epi8(0x0f)), hi = _mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(0x0f));
                acc[2] = mk_nibble_product_256(_mm256_set_m128i(hi, lo), qx + (b + j) * MK_QBLOCK, s[j], acc[2]);
            }
        }
        __m256 total = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        y[r] = mk_hsum256(total) - 8.0f * mk_hsum256(corr);
    }
}

static inline __m256 mk_widen_bf16_256(const uint16_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

static void mk_gemv_bf16_256(const float *x, size_t k, const uint16_t *w, size_t r0, size_t r1, float *y) {
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *wr = w + r * k;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        size_t c = 0;
        for (; c + 32 <= k; c += 32) {
            a0 = _mm256_fmadd_ps(mk_widen_bf16_256(wr + c), _mm256_loadu_ps(x + c), a0);
            a1 = _mm256_fmadd_ps(mk_widen_bf16_256(wr + c + 8), _mm256_loadu_ps(x + c + 8), a1);
            a2 = _mm256_fmadd_ps(mk_widen_bf16_256(wr + c + 16), _mm256_loadu_ps(x + c + 16), a2);
            a3 = _mm256_fmadd_ps(mk_widen_bf16_256(wr + c + 24), _mm256_loadu_ps(x + c + 24), a3);
        }
        for (; c + 8 <= k; c += 8) a0 = _mm256_fmadd_ps(mk_widen_bf16_256(wr + c), _mm256_loadu_ps(x + c), a0);
        __m256 t = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
        float s = _mm_cvtss_f32(h);
        for (; c < k; c++) s += x[c] * mk_bf16_to_float(wr[c]);
        y[r] = s;
    }
}

static void mk_gemm_bf16_small_avx2(const float *x, size_t m, size_t k, const uint16_t *w, size_t r0, size_t r1,
                                    float *y, size_t ldy) {
    if (m == 1) mk_gemv_bf16_256(x, k, w, r0, r1, y);
    else mk_loop_gemm_bf16_rows(x, m, k, w, r0, r1, y, ldy);
}

// ---------------------------------------------------------------------------------------------
// AVX2 (16 registers): int8 MR = 4 × NR = 8. q4 nibbles (≤ 15) go straight into vpmaddubsw and
// its int16 pair sums (≤ 3810) add up over a whole block without overflow (≤ 30480), so one
// vpmaddwd per block widens them. q8 levels + 128 would saturate vpmaddubsw, so q8 stays signed
// and uses |w| · (x with w's sign) instead, widening every group.

#define MK_AVX2_MR 4
#define MK_AVX2_NR 8

__attribute__((always_inline))
static inline void mk_tile_q_avx2(const int mr, const int q4, const int8_t *q, const float *dx, const int32_t *cs,
                                  size_t k, size_t nb, const uint32_t *panel, const float *dw, float *y, size_t ldy,
                                  __m256i mask) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 f[MK_AVX2_MR];
    for (int i = 0; i < mr; i++) f[i] = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b++) {
        const uint32_t *pb = panel + b * 8 * MK_AVX2_NR;
        const int8_t *qb = q + b * MK_QBLOCK;
        __m256i acc[MK_AVX2_MR];
        if (q4) {
            __m256i s16[MK_AVX2_MR];
            for (int i = 0; i < mr; i++) s16[i] = _mm256_setzero_si256();
            for (int g = 0; g < 8; g++) {
                __m256i wv = _mm256_load_si256((const __m256i *)(pb + g * MK_AVX2_NR));
                for (int i = 0; i < mr; i++) {
                    int32_t v;
                    memcpy(&v, qb + i * k + 4 * g, 4);
                    s16[i] = _mm256_add_epi16(s16[i], _mm256_maddubs_epi16(wv, _mm256_set1_epi32(v)));
                }
            }
            for (int i = 0; i < mr; i++) acc[i] = _mm256_add_epi32(_mm256_madd_epi16(s16[i], ones), _mm256_set1_epi32(cs[i * nb + b]));
        } else {
            for (int i = 0; i < mr; i++) acc[i] = _mm256_setzero_si256();
            for (int g = 0; g < 8; g++) {
                __m256i wv = _mm256_load_si256((const __m256i *)(pb + g * MK_AVX2_NR));
                __m256i wa = _mm256_abs_epi8(wv);
                for (int i = 0; i < mr; i++) {
                    int32_t v;
                    memcpy(&v, qb + i * k + 4 * g, 4);
                    __m256i xs = _mm256_sign_epi8(_mm256_set1_epi32(v), wv);
                    acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(wa, xs), ones));
                }
            }
        }
        __m256 d = _mm256_load_ps(dw + b * MK_AVX2_NR);
        for (int i = 0; i < mr; i++)
            f[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[i]), _mm256_mul_ps(d, _mm256_set1_ps(dx[i * nb + b])), f[i]);
    }
    for (int i = 0; i < mr; i++) _mm256_maskstore_ps(y + i * ldy, mask, f[i]);
}

static __m256i mk_mask8(size_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#define MK_AVX2_Q_CASE(MR)                                                                       \
    case MR:                                                                                     \
        if (q4) mk_tile_q_avx2(MR, 1, qq, dx, cs, k, nb, panel, dw, yt, ldy, mask);               \
        else mk_tile_q_avx2(MR, 0, qq, dx, cs, k, nb, panel, dw, yt, ldy, mask);                  \
        break;

static void mk_gemm_q_avx2(int q4, const void *act, size_t m, size_t k, const uint8_t *w, size_t r0, size_t r1,
                           float *y, size_t ldy) {
    size_t nb = k / MK_QBLOCK;
    mk_qact a = mk_qact_view(act, m, k);
    size_t pbytes = nb * 8 * MK_AVX2_NR * 4;
    uint8_t *buf = aligned_alloc(64, mk_align64(pbytes + nb * MK_AVX2_NR * sizeof(float)));
    if (!buf) abort();
    uint32_t *panel = (uint32_t *)buf;
    float *dw = (float *)(buf + pbytes);
    size_t mc = mk_row_chunk(k + nb * 8);
    for (size_t c0 = 0; c0 < m; c0 += mc) {
        size_t c1 = mk_min(m, c0 + mc);
        for (size_t r = r0; r < r1; r += MK_AVX2_NR) {
            size_t rows = mk_min(MK_AVX2_NR, r1 - r);
            mk_pack_q(q4, 0, w, k, r, rows, MK_AVX2_NR, panel, dw);
            __m256i mask = mk_mask8(rows);
            for (size_t i = c0, mr; i < c1; i += mr) {
                mr = mk_tile_rows(c1 - i, MK_AVX2_MR);
                const int8_t *qq = a.q + i * k;
                const float *dx = a.d + i * nb;
                const int32_t *cs = a.c + i * nb;
                float *yt = y + i * ldy + r;
                switch (mr) {
                    MK_AVX2_Q_CASE(4)
                    MK_AVX2_Q_CASE(3)
                    MK_AVX2_Q_CASE(2)
                    MK_AVX2_Q_CASE(1)
                }
            }
        }
    }
    free(buf);
}

// q8_0_x16 on AVX2: vpmaddwd of int16 pairs, MR = 4 × NR = 8, whole-k panels (8 rows of int16
// pairs are at most 176 KB for k = 11008).
__attribute__((always_inline))
static inline void mk_tile_x16_avx2(const int mr, const int16_t *q, const float *dx, size_t k, size_t nb,
                                    const uint32_t *panel, const float *dw, float *y, size_t ldy, __m256i mask) {
    __m256 f[MK_AVX2_MR];
    for (int i = 0; i < mr; i++) f[i] = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b++) {
        __m256i a[MK_AVX2_MR];
        for (int i = 0; i < mr; i++) a[i] = _mm256_setzero_si256();
        const uint32_t *pb = panel + b * 16 * MK_AVX2_NR;
        const int16_t *qb = q + b * MK_QBLOCK;
        for (int p = 0; p < 16; p++) {
            __m256i wv = _mm256_load_si256((const __m256i *)(pb + p * MK_AVX2_NR));
            for (int i = 0; i < mr; i++) {
                int32_t u;
                memcpy(&u, qb + i * k + 2 * p, 4);
                a[i] = _mm256_add_epi32(a[i], _mm256_madd_epi16(wv, _mm256_set1_epi32(u)));
            }
        }
        __m256 d = _mm256_load_ps(dw + b * MK_AVX2_NR);
        for (int i = 0; i < mr; i++)
            f[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a[i]), _mm256_mul_ps(d, _mm256_set1_ps(dx[i * nb + b])), f[i]);
    }
    for (int i = 0; i < mr; i++) _mm256_maskstore_ps(y + i * ldy, mask, f[i]);
}

static void mk_gemm_x16_avx2(const void *act, size_t m, size_t k, const uint8_t *w, size_t r0, size_t r1, float *y,
                             size_t ldy) {
    size_t nb = k / MK_QBLOCK;
    const int16_t *qa = mk_x16_levels(act);
    const float *da = mk_x16_scales(act, m, k);
    size_t pbytes = nb * 16 * MK_AVX2_NR * 4;
    uint8_t *buf = aligned_alloc(64, mk_align64(pbytes + nb * MK_AVX2_NR * sizeof(float)));
    if (!buf) abort();
    uint32_t *panel = (uint32_t *)buf;
    float *dw = (float *)(buf + pbytes);
    size_t mc = mk_row_chunk(2 * k + nb * 4);
    for (size_t c0 = 0; c0 < m; c0 += mc) {
        size_t c1 = mk_min(m, c0 + mc);
        for (size_t r = r0; r < r1; r += MK_AVX2_NR) {
            size_t rows = mk_min(MK_AVX2_NR, r1 - r);
            mk_pack_x16_lanes(w, k, r, rows, MK_AVX2_NR, 0, nb, 0, MK_AVX2_NR, panel, dw);
            __m256i mask = mk_mask8(rows);
            for (size_t i = c0, mr; i < c1; i += mr) {
                mr = mk_tile_rows(c1 - i, MK_AVX2_MR);
                const int16_t *q = qa + i * k;
                const float *dx = da + i * nb;
                float *yt = y + i * ldy + r;
                switch (mr) {
                case 4: mk_tile_x16_avx2(4, q, dx, k, nb, panel, dw, yt, ldy, mask); break;
                case 3: mk_tile_x16_avx2(3, q, dx, k, nb, panel, dw, yt, ldy, mask); break;
                case 2: mk_tile_x16_avx2(2, q, dx, k, nb, panel, dw, yt, ldy, mask); break;
                default: mk_tile_x16_avx2(1, q, dx, k, nb, panel, dw, yt, ldy, mask); break;
                }
            }
        }
    }
    free(buf);
}

// bf16 on AVX2: widen both sides (a bf16 is the top half of an f32) and FMA the even then the
// odd element of each pair, the scalar path's order. MR = 4 × NR = 16.
#define MK_AVX2_BF_MR 4
#define MK_AVX2_BF_NR 16

__attribute__((always_inline))
static inline void mk_tile_bf16_avx2(const int mr, const uint16_t *x, size_t k, size_t kc, const uint32_t *panel,
                                     float *y, size_t ldy, int first, __m256i mask0, __m256i mask1) {
    const __m256i hi = _mm256_set1_epi32((int)0xffff0000u);
    __m256 acc[MK_AVX2_BF_MR][2];
    for (int i = 0; i < mr; i++) {
        acc[i][0] = first ? _mm256_setzero_ps() : _mm256_maskload_ps(y + i * ldy, mask0);
        acc[i][1] = first ? _mm256_setzero_ps() : _mm256_maskload_ps(y + i * ldy + 8, mask1);
    }
    for (size_t p = 0; p < kc / 2; p++) {
        __m256i w0 = _mm256_load_si256((const __m256i *)(panel + p * MK_AVX2_BF_NR));
        __m256i w1 = _mm256_load_si256((const __m256i *)(panel + p * MK_AVX2_BF_NR + 8));
        __m256 we0 = _mm256_castsi256_ps(_mm256_slli_epi32(w0, 16)), wo0 = _mm256_castsi256_ps(_mm256_and_si256(w0, hi));
        __m256 we1 = _mm256_castsi256_ps(_mm256_slli_epi32(w1, 16)), wo1 = _mm256_castsi256_ps(_mm256_and_si256(w1, hi));
        for (int i = 0; i < mr; i++) {
            int32_t u;
            memcpy(&u, x + i * k + 2 * p, 4);
            __m256i xv = _mm256_set1_epi32(u);
            __m256 xe = _mm256_castsi256_ps(_mm256_slli_epi32(xv, 16)), xo = _mm256_castsi256_ps(_mm256_and_si256(xv, hi));
            acc[i][0] = _mm256_fmadd_ps(xo, wo0, _mm256_fmadd_ps(xe, we0, acc[i][0]));
            acc[i][1] = _mm256_fmadd_ps(xo, wo1, _mm256_fmadd_ps(xe, we1, acc[i][1]));
        }
    }
    for (int i = 0; i < mr; i++) {
        _mm256_maskstore_ps(y + i * ldy, mask0, acc[i][0]);
        _mm256_maskstore_ps(y + i * ldy + 8, mask1, acc[i][1]);
    }
}

static void mk_gemm_bf16_avx2(const uint16_t *x, size_t m, size_t k, const uint16_t *w, size_t r0, size_t r1,
                              float *y, size_t ldy) {
    size_t kcmax = mk_bf16_kc(k);
    uint32_t *panel = aligned_alloc(64, kcmax / 2 * MK_AVX2_BF_NR * 4);
    if (!panel) abort();
    size_t mc = mk_row_chunk(2 * k);
    for (size_t c0 = 0; c0 < m; c0 += mc) {
        size_t c1 = mk_min(m, c0 + mc);
        for (size_t r = r0; r < r1; r += MK_AVX2_BF_NR) {
            size_t rows = mk_min(MK_AVX2_BF_NR, r1 - r);
            __m256i mask0 = mk_mask8(rows), mask1 = mk_mask8(rows > 8 ? rows - 8 : 0);
            for (size_t k0 = 0; k0 < k; k0 += kcmax) {
                size_t kc = mk_min(kcmax, k - k0);
                mk_pack_bf16(w, k, r, rows, MK_AVX2_BF_NR, k0, kc, panel);
                int first = k0 == 0;
                for (size_t i = c0, mr; i < c1; i += mr) {
                    mr = mk_tile_rows(c1 - i, MK_AVX2_BF_MR);
                    const uint16_t *xt = x + i * k + k0;
                    float *yt = y + i * ldy + r;
                    switch (mr) {
                    case 4: mk_tile_bf16_avx2(4, xt, k, kc, panel, yt, ldy, first, mask0, mask1); break;
                    case 3: mk_tile_bf16_avx2(3, xt, k, kc, panel, yt, ldy, first, mask0, mask1); break;
                    case 2: mk_tile_bf16_avx2(2, xt, k, kc, panel, yt, ldy, first, mask0, mask1); break;
                    default: mk_tile_bf16_avx2(1, xt, k, kc, panel, yt, ldy, first, mask0, mask1); break;
                    }
                }
            }
        }
    }
    free(panel);
}

MK_TARGET_END

void mk_fill_avx2(mk_kernels *t) {
    mk_fill_loops(t);
    t->qdot = mk_qdot_avx2;
    t->qdot_q4_i8 = mk_qdot_q4_i8_avx2;
    t->qdot_q4_i8_native = 1;
    t->gemm_bf16_small = mk_gemm_bf16_small_avx2;
    t->gemm_q = mk_gemm_q_avx2;
    t->gemm_x16 = mk_gemm_x16_avx2;
    t->gemm_bf16 = mk_gemm_bf16_avx2;
}
#endif
