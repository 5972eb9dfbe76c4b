// AVX-512 kernels: the decode products (int16 activations with `vpmaddwd` on whole blocks; q4
// with int8 activations on VNNI), the bf16 decode product, and the prefill GEMMs on VNNI and
// AVX512_BF16.
//
// A kernel here and its counterpart in the other x86 file (and the tiles of one kernel for each
// row count) share their structure on purpose: they differ in vector width, instructions and
// register budget, and macros generating both would hide exactly what makes each fast.
//
//
// Blocking: a panel of NR weight rows is unpacked (all of k, or a k-chunk for bf16 and
// q8_0_x16) into a private buffer laid out for the micro-kernel; it stays in L2 while every
// activation row streams past it from L3, MR rows at a time. Each weight byte is therefore read
// from DRAM and unpacked once per call (once per activation chunk of ~12 MB when m is larger),
// so the unpacking is amortised over hundreds of rows of arithmetic.
//
// int8 (q8_0 / q4_0): in the panel each group of 4 consecutive k of NR weight rows is one
// vector (lane = output row), and `vpdpbusd` multiplies it by a 4-byte broadcast of one
// activation row. `vpdpbusd` wants one operand unsigned; the activations stay signed (their
// broadcast is vpdpbusd's signed, broadcastable operand), so the weights go in offset to
// unsigned: q4 nibbles as stored (0..15, i.e. level + 8), q8 with the sign bit flipped (+ 128).
// The offset times the activation block's level sum is taken off by starting each block's int32
// accumulator at −offset·Σq (precomputed by mk_gemm_prepare): a broadcast load instead of an
// extra subtract. Each 32-block's exact int32 sum is then converted and folded into the f32
// accumulators with one multiply (weight scale × activation scale) and one FMA.
//
// q8_0_x16 does the same with int16 activations and `vpdpwssd` (signed × signed, no offset);
// bf16 uses `vdpbf16ps` on pairs of k, with no per-block work at all.
#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "fill.h"
#include "layout.h"
#include "prepared.h"
#include "target.h"
#include "x86.h"

// AVX-512 F/BW/VL (with the AVX2 core under it) for everything up to the VNNI and BF16 kernels,
// which add their own feature to this set.
#define MK_AVX512 "avx2,fma,f16c,avx512f,avx512bw,avx512vl"
MK_TARGET_BEGIN(MK_AVX512)
#include "loops.h"

// ---------------------------------------------------------------------------------------------
// Decode products with int16 activations (see x86_avx2.c for the design).

// AVX-512: a whole block is one 32-lane int16 product.
static inline __m512 mk_scales16_512(const uint8_t *p, size_t g) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16((__mmask16)((1u << g) - 1), p));
}
static inline __m512 mk_loadf16_512(const float *p, size_t g) {
    return _mm512_maskz_loadu_ps((__mmask16)((1u << g) - 1), p);
}

static inline __m512 mk_block_product_512(__m512i w16, const int16_t *x, float s, __m512 acc) {
    __m512i p = _mm512_madd_epi16(w16, _mm512_loadu_si512((const void *)x));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_set1_ps(s), acc);
}

// 2–8 activation rows: each weight block is widened once and multiplied into every row.
__attribute__((always_inline))
static inline void mk_qrow_512(const int M, const int16_t *qx, const float *dx, const float *sx, size_t k,
                               const uint8_t *w, int q4, size_t r, float *y, size_t ldy) {
    size_t nb = k / MK_QBLOCK, bytes = mk_quant_row_bytes(k, q4);
    const uint8_t *row = w + r * bytes, *qs = mk_qrow_values(row, nb);
    __m512 acc[MK_MAX_ROWS], corr[MK_MAX_ROWS];
    for (int i = 0; i < M; i++) acc[i] = corr[i] = _mm512_setzero_ps();
    float s[MK_MAX_ROWS][MK_GROUP];
    for (size_t b = 0; b < nb; b += MK_GROUP) {
        size_t g = nb - b < MK_GROUP ? nb - b : MK_GROUP;
        // Per-block factors: weight scale × activation scale, and (q4) the + 8 offset's
        // correction Σ_b factor·Σx.
        __m512 ws = mk_scales16_512(mk_qrow_scale_at(row, b), g);
        for (int i = 0; i < M; i++) {
            __m512 sv = _mm512_mul_ps(ws, mk_loadf16_512(dx + i * nb + b, g));
            _mm512_storeu_ps(s[i], sv);
            if (q4) corr[i] = _mm512_fmadd_ps(sv, mk_loadf16_512(sx + i * nb + b, g), corr[i]);
        }
        size_t j = 0;
        if (q4) {
            // Pairs of blocks: byte t of the pair holds block 2p's value t (low) and 2p+1's (high).
            for (; j + 2 <= g; j += 2) {
                const int16_t *x0 = qx + (b + j) * MK_QBLOCK;
                __m512i v = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(qs + (b + j) * 16)));
                __m512i lo = _mm512_and_si512(v, _mm512_set1_epi16(0x0f)), hi = _mm512_srli_epi16(v, 4);
                for (int i = 0; i < M; i++) {
                    acc[i] = mk_block_product_512(lo, x0 + i * k, s[i][j], acc[i]);
                    acc[i] = mk_block_product_512(hi, x0 + i * k + MK_QBLOCK, s[i][j + 1], acc[i]);
                }
            }
            if (j < g) {   // the lone last block of an odd count
                const int16_t *x0 = qx + (b + j) * MK_QBLOCK;
                __m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(qs + (b + j) * 16)));
                __m256i lo = _mm256_and_si256(v, _mm256_set1_epi16(0x0f)), hi = _mm256_srli_epi16(v, 4);
                __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
                for (int i = 0; i < M; i++) acc[i] = mk_block_product_512(both, x0 + i * k, s[i][j], acc[i]);
            }
        } else {
            for (; j < g; j++) {
                const int16_t *x0 = qx + (b + j) * MK_QBLOCK;
                __m512i v = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(qs + (b + j) * MK_QBLOCK)));
                for (int i = 0; i < M; i++) acc[i] = mk_block_product_512(v, x0 + i * k, s[i][j], acc[i]);
            }
        }
    }
    for (int i = 0; i < M; i++)
        y[i * ldy + r] = _mm512_reduce_add_ps(acc[i]) - (q4 ? 8.0f * _mm512_reduce_add_ps(corr[i]) : 0.0f);
}

// Decode steps: one row at a time, a single sequential stream (what the hardware prefetchers
// follow best), with four accumulators over alternating blocks for instruction-level parallelism.
static void mk_qrow1_512(const int16_t *qx, const float *dx, const float *sx, size_t k, const uint8_t *w, int q4,
                         size_t r, float *y) {
    size_t nb = k / MK_QBLOCK, bytes = mk_quant_row_bytes(k, q4);
    const uint8_t *row = w + r * bytes, *qs = mk_qrow_values(row, nb);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    __m512 corr = _mm512_setzero_ps();
    float s[MK_GROUP];
    for (size_t b = 0; b < nb; b += MK_GROUP) {
        size_t g = nb - b < MK_GROUP ? nb - b : MK_GROUP;
        __m512 sv = _mm512_mul_ps(mk_scales16_512(mk_qrow_scale_at(row, b), g), mk_loadf16_512(dx + b, g));
        _mm512_storeu_ps(s, sv);
        size_t j = 0;
        if (q4) {
            corr = _mm512_fmadd_ps(sv, mk_loadf16_512(sx + b, g), corr);
            for (; j + 4 <= g; j += 4) {
                const int16_t *x0 = qx + (b + j) * MK_QBLOCK;
                _mm_prefetch((const char *)(qs + (b + j) * 16 + MK_PREFETCH_ROW), _MM_HINT_T0);
                __m512i v0 = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(qs + (b + j) * 16)));
                __m512i v1 = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(qs + (b + j) * 16 + 32)));
                acc[0] = mk_block_product_512(_mm512_and_si512(v0, _mm512_set1_epi16(0x0f)), x0, s[j], acc[0]);
                acc[1] = mk_block_product_512(_mm512_srli_epi16(v0, 4), x0 + 32, s[j + 1], acc[1]);
                acc[2] = mk_block_product_512(_mm512_and_si512(v1, _mm512_set1_epi16(0x0f)), x0 + 64, s[j + 2], acc[2]);
                acc[3] = mk_block_product_512(_mm512_srli_epi16(v1, 4), x0 + 96, s[j + 3], acc[3]);
            }
            for (; j + 2 <= g; j += 2) {
                const int16_t *x0 = qx + (b + j) * MK_QBLOCK;
                __m512i v0 = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(qs + (b + j) * 16)));
                acc[0] = mk_block_product_512(_mm512_and_si512(v0, _mm512_set1_epi16(0x0f)), x0, s[j], acc[0]);
                acc[1] = mk_block_product_512(_mm512_srli_epi16(v0, 4), x0 + 32, s[j + 1], acc[1]);
            }
            if (j < g) {
                __m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(qs + (b + j) * 16)));
                __m256i lo = _mm256_and_si256(v, _mm256_set1_epi16(0x0f)), hi = _mm256_srli_epi16(v, 4);
                acc[2] = mk_block_product_512(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1), qx + (b + j) * MK_QBLOCK,
                                              s[j], acc[2]);
            }
        } else {
            for (; j < g; j++) {
                if ((j & 1) == 0) _mm_prefetch((const char *)(qs + (b + j) * MK_QBLOCK + MK_PREFETCH_FAR), _MM_HINT_T0);
                __m512i v = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(qs + (b + j) * MK_QBLOCK)));
                acc[j & 3] = mk_block_product_512(v, qx + (b + j) * MK_QBLOCK, s[j], acc[j & 3]);
            }
        }
    }
    __m512 total = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
    *y = _mm512_reduce_add_ps(total) - (q4 ? 8.0f * _mm512_reduce_add_ps(corr) : 0.0f);
}

static void mk_qdot_avx512(const int16_t *qx, const float *dx, const float *sx, size_t m, size_t k, const uint8_t *w,
                           int q4, size_t r0, size_t r1, float *y, size_t ldy) {
    size_t r = r0;
    if (m == 1) {
        for (; r < r1; r++) mk_qrow1_512(qx, dx, sx, k, w, q4, r, y + r);
        return;
    }
    for (; r < r1; r++) {
        switch (m) { MK_ROW_CASES_2_TO_8(mk_qrow_512, qx, dx, sx, k, w, q4, r, y, ldy) }
    }
}

// bf16 decode steps (one activation row) with explicit vectors: the generic loop keeps its 16 sums
// in memory when the row count is not a constant, one store-to-load round trip per 16 weights,
// which left bf16 decode at ~10 GB/s per core. Here four register accumulators hide the FMA
// latency; bf16 widens to f32 exactly (a 16-bit shift), so only the summation order differs.
static inline __m512 mk_widen_bf16_512(const uint16_t *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}

static void mk_gemv_bf16_512(const float *x, size_t k, const uint16_t *w, size_t r0, size_t r1, float *y) {
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *wr = w + r * k;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        size_t c = 0;
        for (; c + 64 <= k; c += 64) {
            a0 = _mm512_fmadd_ps(mk_widen_bf16_512(wr + c), _mm512_loadu_ps(x + c), a0);
            a1 = _mm512_fmadd_ps(mk_widen_bf16_512(wr + c + 16), _mm512_loadu_ps(x + c + 16), a1);
            a2 = _mm512_fmadd_ps(mk_widen_bf16_512(wr + c + 32), _mm512_loadu_ps(x + c + 32), a2);
            a3 = _mm512_fmadd_ps(mk_widen_bf16_512(wr + c + 48), _mm512_loadu_ps(x + c + 48), a3);
        }
        for (; c + 16 <= k; c += 16) a0 = _mm512_fmadd_ps(mk_widen_bf16_512(wr + c), _mm512_loadu_ps(x + c), a0);
        float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
        for (; c < k; c++) s += x[c] * mk_bf16_to_float(wr[c]);
        y[r] = s;
    }
}

static void mk_gemm_bf16_small_avx512(const float *x, size_t m, size_t k, const uint16_t *w, size_t r0, size_t r1,
                                      float *y, size_t ldy) {
    if (m == 1) mk_gemv_bf16_512(x, k, w, r0, r1, y);
    else mk_loop_gemm_bf16_rows(x, m, k, w, r0, r1, y, ldy);
}
MK_TARGET_END

#define MK_VNNI MK_AVX512 ",avx512vnni"

__attribute__((target(MK_VNNI)))
static void mk_qdot_q4_i8_vnni(const int8_t *qx, const float *dx, const float *sx, size_t k, const uint8_t *w,
                               size_t r0, size_t r1, float *y) {
    size_t nb = k / MK_QBLOCK, bytes = mk_quant_row_bytes(k, 1);
    // Lanes 0–7 of a pair's product belong to its first block, 8–15 to its second: the factor
    // vector of pair p repeats block 2p's factor then block 2p + 1's.
    __m512i pair_index[8];
    for (int p = 0; p < 8; p++)
        pair_index[p] = _mm512_set_epi32(2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1,
                                         2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p);
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *row = w + r * bytes, *qs = mk_qrow_values(row, nb);
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), corr = _mm512_setzero_ps();
        float tail = 0.0f;
        for (size_t b = 0; b < nb; b += MK_GROUP) {
            size_t g = nb - b < MK_GROUP ? nb - b : MK_GROUP;
            __m512 sv = _mm512_mul_ps(mk_scales16_512(mk_qrow_scale_at(row, b), g), mk_loadf16_512(dx + b, g));
            corr = _mm512_fmadd_ps(sv, mk_loadf16_512(sx + b, g), corr);
            size_t p = 0;
            for (; 2 * p + 2 <= g; p++) {
                if ((p & 1) == 0) _mm_prefetch((const char *)(qs + (b + 2 * p) * 16 + MK_PREFETCH_FAR), _MM_HINT_T0);
                __m256i v = _mm256_loadu_si256((const __m256i *)(qs + (b + 2 * p) * 16));
                __m512i nibbles = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1),
                                                   _mm512_set1_epi8(0x0f));
                __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), nibbles,
                                                  _mm512_loadu_si512((const void *)(qx + (b + 2 * p) * MK_QBLOCK)));
                __m512 f = _mm512_permutexvar_ps(pair_index[p], sv);
                if (p & 1) acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), f, acc1);
                else acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), f, acc0);
            }
            if (2 * p < g) {   // the lone last block of an odd count (its offset is in `corr`)
                size_t lb = b + 2 * p;
                int32_t dot = 0;
                for (int j = 0; j < MK_QBLOCK; j++) dot += (int32_t)qx[lb * MK_QBLOCK + j] * mk_qvalue(1, row, nb, lb, j);
                tail += mk_qrow_scale(row, lb) * dx[lb] * (float)dot;
            }
        }
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + tail - 8.0f * _mm512_reduce_add_ps(corr);
    }
}

// ---------------------------------------------------------------------------------------------
// AVX-512 VNNI: MR = 4 activation rows × NR = 48 weight rows; 12 int32 + 12 f32 accumulators
// and 3 weight vectors of the 32 registers (6 × 32 spills). Per block and accumulator that is
// 8 vpdpbusd + cvt + mul + fma, and on Zen 4 the mul and fma share vpdpbusd's two pipes, which
// caps this design at ~80 % of the int8 peak (measured: 375 of 466 GOP/s per core in cache).
// A wider panel (48 rather than 32 rows) cuts the activation traffic per output, which is what
// limits two threads sharing L3.

#define MK_T512Q "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c"
// The panel unpacking at vector speed (the scalar one costs ~8 % of a 512-row product): per
// block, 16 rows' 32 values are loaded as 8 zmm of two rows each and transposed as 4-byte
// groups, so each store is one group of 16 rows. Scales of the split layout convert 16 at a
// time. Partial groups of 16 rows (the last panel) take the scalar path.
__attribute__((target(MK_T512Q), always_inline))
static inline __m256i mk_vals256(const uint8_t *v, int mode) {
    const __m256i nib = _mm256_set1_epi8(0x0f);
    if (mode == MK_VALS_I8) return _mm256_loadu_si256((const __m256i *)v);
    if (mode == MK_VALS_NIB16) {
        __m128i x = _mm_loadu_si128((const __m128i *)v);
        return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(x, 4), x), nib);
    }
    __m256i x = _mm256_loadu_si256((const __m256i *)v);
    return _mm256_and_si256(mode == MK_VALS_NIB_LO ? x : _mm256_srli_epi16(x, 4), nib);
}

// z[j] holds rows j (low 256 bits) and j + 8 (high) of a 16-row × 8-dword tile; stores dword
// column d of all 16 rows to dst + d·nr (16 lanes in row order).
__attribute__((target(MK_T512Q), always_inline))
static inline void mk_store_transposed_16x8(const __m512i *z, uint32_t *dst, size_t nr) {
    const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    __m512i t[8], u[8];
    // Lane (128-bit) L of z[j]: row j (L = 0, 1) or row j + 8 (L = 2, 3), dwords 4(L & 1) ..< +4.
    for (int j = 0; j < 8; j += 2) {
        t[j] = _mm512_unpacklo_epi32(z[j], z[j + 1]);
        t[j + 1] = _mm512_unpackhi_epi32(z[j], z[j + 1]);
    }
    for (int h = 0; h < 8; h += 4) {
        u[h] = _mm512_unpacklo_epi64(t[h], t[h + 2]);
        u[h + 1] = _mm512_unpackhi_epi64(t[h], t[h + 2]);
        u[h + 2] = _mm512_unpacklo_epi64(t[h + 1], t[h + 3]);
        u[h + 3] = _mm512_unpackhi_epi64(t[h + 1], t[h + 3]);
    }
    // u[d] (rows 0–3 / 8–11) and u[4 + d] (rows 4–7 / 12–15) hold dword d in lanes 0, 2 and
    // dword d + 4 in lanes 1, 3.
    for (int d = 0; d < 4; d++) {
        _mm512_store_si512(dst + d * nr, _mm512_permutex2var_epi64(u[d], lo, u[4 + d]));
        _mm512_store_si512(dst + (d + 4) * nr, _mm512_permutex2var_epi64(u[d], hi, u[4 + d]));
    }
}

__attribute__((target(MK_T512Q)))
static void mk_pack_q_512(int q4, uint32_t flip, const uint8_t *w, size_t k, size_t r, size_t rows, size_t nr,
                          uint32_t *panel, float *dw) {
    size_t nb = k / MK_QBLOCK, rb = mk_quant_row_bytes(k, q4);
    const __m512i flipv = _mm512_set1_epi32((int)flip);
    for (size_t l0 = 0; l0 < nr; l0 += 16) {
        if (l0 + 16 > rows) {
            mk_pack_q_lanes(q4, flip, w, k, r, rows, nr, l0, l0 + 16, panel, dw);
            continue;
        }
        const uint8_t *rowp[16];
        for (int j = 0; j < 16; j++) rowp[j] = w + (r + l0 + j) * rb;
        for (int j = 0; j < 16; j++) {
            size_t b = 0;
            for (; b + 16 <= nb; b += 16) {
                float t[16];
                _mm512_storeu_ps(t, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)mk_qrow_scale_at(rowp[j], b))));
                for (int u = 0; u < 16; u++) dw[(b + u) * nr + l0 + j] = t[u];
            }
            for (; b < nb; b++) dw[b * nr + l0 + j] = mk_qrow_scale(rowp[j], b);
        }
        for (size_t b = 0; b < nb; b++) {
            float s;
            int mode;
            size_t off = (size_t)(mk_qblock(q4, rowp[0], nb, b, &s, &mode) - rowp[0]);
            __m512i z[8];
            for (int j = 0; j < 8; j++) {
                __m512i two = _mm512_inserti64x4(_mm512_castsi256_si512(mk_vals256(rowp[j] + off, mode)),
                                                 mk_vals256(rowp[j + 8] + off, mode), 1);
                z[j] = _mm512_xor_si512(two, flipv);
            }
            mk_store_transposed_16x8(z, panel + b * 8 * nr + l0, nr);
        }
    }
}

// bf16 panel at vector speed: 16 rows × 8 pairs per transpose (kc / 2 is a multiple of 16).
__attribute__((target(MK_T512Q)))
static void mk_pack_bf16_512(const uint16_t *w, size_t k, size_t r, size_t rows, size_t nr, size_t k0, size_t kc,
                             uint32_t *panel) {
    for (size_t l0 = 0; l0 < nr; l0 += 16) {
        if (l0 + 16 > rows) {
            mk_pack_bf16_lanes(w, k, r, rows, nr, k0, kc, l0, l0 + 16, panel);
            continue;
        }
        const uint16_t *src = w + (r + l0) * k + k0;
        for (size_t p = 0; p < kc / 2; p += 8) {
            __m512i z[8];
            for (int j = 0; j < 8; j++)
                z[j] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(src + j * k + 2 * p))),
                                          _mm256_loadu_si256((const __m256i *)(src + (j + 8) * k + 2 * p)), 1);
            mk_store_transposed_16x8(z, panel + p * nr + l0, nr);
        }
    }
}

// mk_prepare_q_row with one block per iteration in two zmm (the plain loop does not vectorise
// across the max, the rounding and the sum); same arithmetic, so the same levels and scales.
__attribute__((target(MK_T512Q)))
static void mk_prepare_q_row_512(const float *x, size_t k, int32_t offset, int8_t *q, float *d, int32_t *c) {
    const __m512i lim = _mm512_set1_epi32(127);
    for (size_t b = 0; b < k / MK_QBLOCK; b++) {
        __m512 v0 = _mm512_loadu_ps(x + b * MK_QBLOCK), v1 = _mm512_loadu_ps(x + b * MK_QBLOCK + 16);
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        float db = amax / 127.0f, inv = db > 0 ? 1.0f / db : 0.0f;
        __m512 s = _mm512_set1_ps(inv);
        // vcvtps2dq rounds to nearest even under the default MXCSR, like rintf.
        __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, s)), q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, s));
        q0 = _mm512_max_epi32(_mm512_min_epi32(q0, lim), _mm512_sub_epi32(_mm512_setzero_si512(), lim));
        q1 = _mm512_max_epi32(_mm512_min_epi32(q1, lim), _mm512_sub_epi32(_mm512_setzero_si512(), lim));
        _mm_storeu_si128((__m128i *)(q + b * MK_QBLOCK), _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(q + b * MK_QBLOCK + 16), _mm512_cvtepi32_epi8(q1));
        d[b] = db;
        c[b] = -offset * _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    }
}

__attribute__((target(MK_T512Q)))
static void mk_prepare_x16_row_512(const float *x, size_t k, int16_t *q, float *d) {
    const __m512i lim = _mm512_set1_epi32(32767);
    for (size_t b = 0; b < k / MK_QBLOCK; b++) {
        __m512 v0 = _mm512_loadu_ps(x + b * MK_QBLOCK), v1 = _mm512_loadu_ps(x + b * MK_QBLOCK + 16);
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        float db = amax / 32767.0f, inv = db > 0 ? 1.0f / db : 0.0f;
        __m512 s = _mm512_set1_ps(inv);
        __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, s)), q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, s));
        q0 = _mm512_max_epi32(_mm512_min_epi32(q0, lim), _mm512_sub_epi32(_mm512_setzero_si512(), lim));
        q1 = _mm512_max_epi32(_mm512_min_epi32(q1, lim), _mm512_sub_epi32(_mm512_setzero_si512(), lim));
        _mm256_storeu_si256((__m256i *)(q + b * MK_QBLOCK), _mm512_cvtepi32_epi16(q0));
        _mm256_storeu_si256((__m256i *)(q + b * MK_QBLOCK + 16), _mm512_cvtepi32_epi16(q1));
        d[b] = db;
    }
}

#ifndef MK_VNNI_MR
#define MK_VNNI_MR 4
#endif
#ifndef MK_VNNI_NV
#define MK_VNNI_NV 3
#endif
#define MK_VNNI_NR (16 * MK_VNNI_NV)

__attribute__((target(MK_T512Q), always_inline))
static inline void mk_tile_q_vnni(const int mr, const int8_t *q, const float *dx, const int32_t *cs, size_t k,
                                  size_t nb, const uint32_t *panel, const float *dw, float *y, size_t ldy,
                                  const __mmask16 *mask) {
    __m512 f[MK_VNNI_MR][MK_VNNI_NV];
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < MK_VNNI_NV; v++) f[i][v] = _mm512_setzero_ps();
    for (size_t b = 0; b < nb; b++) {
        __m512i a[MK_VNNI_MR][MK_VNNI_NV];
        for (int i = 0; i < mr; i++)
            for (int v = 0; v < MK_VNNI_NV; v++) a[i][v] = _mm512_set1_epi32(cs[i * nb + b]);
        const uint32_t *pb = panel + b * 8 * MK_VNNI_NR;
        const int8_t *qb = q + b * MK_QBLOCK;
        for (int g = 0; g < 8; g++) {
            __m512i wv[MK_VNNI_NV];
            for (int v = 0; v < MK_VNNI_NV; v++) wv[v] = _mm512_load_si512(pb + g * MK_VNNI_NR + 16 * v);
            for (int i = 0; i < mr; i++) {
                int32_t u;
                memcpy(&u, qb + i * k + 4 * g, 4);
                __m512i xa = _mm512_set1_epi32(u);
                for (int v = 0; v < MK_VNNI_NV; v++) a[i][v] = _mm512_dpbusd_epi32(a[i][v], wv[v], xa);
            }
        }
        __m512 d[MK_VNNI_NV];
        for (int v = 0; v < MK_VNNI_NV; v++) d[v] = _mm512_load_ps(dw + b * MK_VNNI_NR + 16 * v);
        for (int i = 0; i < mr; i++) {
            __m512 s = _mm512_set1_ps(dx[i * nb + b]);
            for (int v = 0; v < MK_VNNI_NV; v++)
                f[i][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a[i][v]), _mm512_mul_ps(d[v], s), f[i][v]);
        }
    }
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < MK_VNNI_NV; v++) _mm512_mask_storeu_ps(y + i * ldy + 16 * v, mask[v], f[i][v]);
}

static __mmask16 mk_mask16(size_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }

#define MK_VNNI_CASE(MR) \
    case MR: mk_tile_q_vnni((MR) <= MK_VNNI_MR ? (MR) : 1, q, dx, cs, k, nb, panel, dw, yt, ldy, mask); break;

__attribute__((target(MK_T512Q)))
static void mk_gemm_q_vnni(int q4, const void *act, size_t m, size_t k, const uint8_t *w, size_t r0, size_t r1,
                           float *y, size_t ldy) {
    size_t nb = k / MK_QBLOCK;
    mk_qact a = mk_qact_view(act, m, k);
    size_t pbytes = nb * 8 * MK_VNNI_NR * 4;
    uint8_t *buf = aligned_alloc(64, pbytes + nb * MK_VNNI_NR * sizeof(float));
    if (!buf) abort();
    uint32_t *panel = (uint32_t *)buf;
    float *dw = (float *)(buf + pbytes);
    size_t mc = mk_row_chunk(k + nb * 8);
    for (size_t c0 = 0; c0 < m; c0 += mc) {
        size_t c1 = mk_min(m, c0 + mc);
        for (size_t r = r0; r < r1; r += MK_VNNI_NR) {
            size_t rows = mk_min(MK_VNNI_NR, r1 - r);
            mk_pack_q_512(q4, q4 ? 0 : 0x80808080u, w, k, r, rows, MK_VNNI_NR, panel, dw);
            __mmask16 mask[MK_VNNI_NV];
            for (int v = 0; v < MK_VNNI_NV; v++) mask[v] = rows > 16 * (size_t)v ? mk_mask16(rows - 16 * v) : 0;
            for (size_t i = c0, mr; i < c1; i += mr) {
                mr = mk_tile_rows(c1 - i, MK_VNNI_MR);
                const int8_t *q = a.q + i * k;
                const float *dx = a.d + i * nb;
                const int32_t *cs = a.c + i * nb;
                float *yt = y + i * ldy + r;
                switch (mr) {
                    MK_VNNI_CASE(6)
                    MK_VNNI_CASE(5)
                    MK_VNNI_CASE(4)
                    MK_VNNI_CASE(3)
                    MK_VNNI_CASE(2)
                    MK_VNNI_CASE(1)
                }
            }
        }
    }
    free(buf);
}

// ---------------------------------------------------------------------------------------------
// q8_0_x16 on AVX-512 VNNI: `vpdpwssd` (int16 pairs, signed × signed, so no offset) over the
// same 4 × 48 tile; 16 dot instructions per block and accumulator amortise the cvt/mul/fma
// better than int8's 8, but each does half the multiplies.

__attribute__((target(MK_T512Q)))
static void mk_pack_x16_512(const uint8_t *w, size_t k, size_t r, size_t rows, size_t nr, size_t b0, size_t nbc,
                            uint32_t *panel, float *dw) {
    size_t nb = k / MK_QBLOCK, rb = mk_quant_row_bytes(k, 0);
    for (size_t l0 = 0; l0 < nr; l0 += 16) {
        if (l0 + 16 > rows) {
            mk_pack_x16_lanes(w, k, r, rows, nr, b0, nbc, l0, l0 + 16, panel, dw);
            continue;
        }
        const uint8_t *rowp[16];
        for (int j = 0; j < 16; j++) rowp[j] = w + (r + l0 + j) * rb;
        for (size_t bb = 0; bb < nbc; bb++) {
            float s;
            int mode;
            size_t off = (size_t)(mk_qblock(0, rowp[0], nb, b0 + bb, &s, &mode) - rowp[0]);
            for (int j = 0; j < 16; j++) {
                uint16_t h;
                memcpy(&h, rowp[j] + 2 * (b0 + bb), 2);
                dw[bb * nr + l0 + j] = _cvtsh_ss(h);
            }
            for (int half = 0; half < 2; half++) {
                __m512i z[8];
                for (int j = 0; j < 8; j++)
                    z[j] = _mm512_inserti64x4(
                        _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(rowp[j] + off + 16 * half)))),
                        _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(rowp[j + 8] + off + 16 * half))), 1);
                mk_store_transposed_16x8(z, panel + (bb * 16 + 8 * half) * nr + l0, nr);
            }
        }
    }
}

__attribute__((target(MK_T512Q), always_inline))
static inline void mk_tile_x16_512(const int mr, const int16_t *q, const float *dx, size_t k, size_t nb, size_t nbc,
                                   const uint32_t *panel, const float *dw, float *y, size_t ldy, const __mmask16 *mask,
                                   int first) {
    __m512 f[MK_VNNI_MR][MK_VNNI_NV];
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < MK_VNNI_NV; v++)
            f[i][v] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask[v], y + i * ldy + 16 * v);
    for (size_t bb = 0; bb < nbc; bb++) {
        __m512i a[MK_VNNI_MR][MK_VNNI_NV];
        for (int i = 0; i < mr; i++)
            for (int v = 0; v < MK_VNNI_NV; v++) a[i][v] = _mm512_setzero_si512();
        const uint32_t *pb = panel + bb * 16 * MK_VNNI_NR;
        const int16_t *qb = q + bb * MK_QBLOCK;
        for (int p = 0; p < 16; p++) {
            __m512i wv[MK_VNNI_NV];
            for (int v = 0; v < MK_VNNI_NV; v++) wv[v] = _mm512_load_si512(pb + p * MK_VNNI_NR + 16 * v);
            for (int i = 0; i < mr; i++) {
                int32_t u;
                memcpy(&u, qb + i * k + 2 * p, 4);
                __m512i xa = _mm512_set1_epi32(u);
                for (int v = 0; v < MK_VNNI_NV; v++) a[i][v] = _mm512_dpwssd_epi32(a[i][v], wv[v], xa);
            }
        }
        __m512 d[MK_VNNI_NV];
        for (int v = 0; v < MK_VNNI_NV; v++) d[v] = _mm512_load_ps(dw + bb * MK_VNNI_NR + 16 * v);
        for (int i = 0; i < mr; i++) {
            __m512 s = _mm512_set1_ps(dx[i * nb + bb]);
            for (int v = 0; v < MK_VNNI_NV; v++)
                f[i][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a[i][v]), _mm512_mul_ps(d[v], s), f[i][v]);
        }
    }
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < MK_VNNI_NV; v++) _mm512_mask_storeu_ps(y + i * ldy + 16 * v, mask[v], f[i][v]);
}

#define MK_X16_CASE(MR) \
    case MR: mk_tile_x16_512((MR) <= MK_VNNI_MR ? (MR) : 1, q, dx, k, nb, nbc, panel, dw, yt, ldy, mask, first); break;

__attribute__((target(MK_T512Q)))
static void mk_gemm_x16_512(const void *act, size_t m, size_t k, const uint8_t *w, size_t r0, size_t r1, float *y,
                            size_t ldy) {
    size_t nb = k / MK_QBLOCK, kcb = mk_x16_kcb(nb);
    const int16_t *qa = mk_x16_levels(act);
    const float *da = mk_x16_scales(act, m, k);
    size_t pbytes = kcb * 16 * MK_VNNI_NR * 4;
    uint8_t *buf = aligned_alloc(64, pbytes + kcb * MK_VNNI_NR * sizeof(float));
    if (!buf) abort();
    uint32_t *panel = (uint32_t *)buf;
    float *dw = (float *)(buf + pbytes);
    size_t mc = mk_row_chunk(2 * k + nb * 4);
    for (size_t c0 = 0; c0 < m; c0 += mc) {
        size_t c1 = mk_min(m, c0 + mc);
        for (size_t r = r0; r < r1; r += MK_VNNI_NR) {
            size_t rows = mk_min(MK_VNNI_NR, r1 - r);
            __mmask16 mask[MK_VNNI_NV];
            for (int v = 0; v < MK_VNNI_NV; v++) mask[v] = rows > 16 * (size_t)v ? mk_mask16(rows - 16 * v) : 0;
            for (size_t b0 = 0; b0 < nb; b0 += kcb) {
                size_t nbc = mk_min(kcb, nb - b0);
                int first = b0 == 0;
                mk_pack_x16_512(w, k, r, rows, MK_VNNI_NR, b0, nbc, panel, dw);
                for (size_t i = c0, mr; i < c1; i += mr) {
                    mr = mk_tile_rows(c1 - i, MK_VNNI_MR);
                    const int16_t *q = qa + i * k + b0 * MK_QBLOCK;
                    const float *dx = da + i * nb + b0;
                    float *yt = y + i * ldy + r;
                    switch (mr) {
                        MK_X16_CASE(6)
                        MK_X16_CASE(5)
                        MK_X16_CASE(4)
                        MK_X16_CASE(3)
                        MK_X16_CASE(2)
                        MK_X16_CASE(1)
                    }
                }
            }
        }
    }
    free(buf);
}

// ---------------------------------------------------------------------------------------------
// AVX512_BF16: MR = 6 activation rows × NR = 64 weight rows, 24 f32 accumulators + 4 weight
// vectors. Partial sums over k-chunks go through y (exact: f32 stored and reloaded).

#define MK_T512B "avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma,f16c"
#define MK_BF_MR 6
#define MK_BF_NR 64

__attribute__((target(MK_T512B), always_inline))
static inline void mk_tile_bf16_512(const int mr, const uint16_t *x, size_t k, size_t kc, const uint32_t *panel,
                                    float *y, size_t ldy, int first, const __mmask16 *mask) {
    __m512 acc[MK_BF_MR][4];
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < 4; v++) acc[i][v] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask[v], y + i * ldy + 16 * v);
    for (size_t p = 0; p < kc / 2; p++) {
        __m512i wv[4];
        for (int v = 0; v < 4; v++) wv[v] = _mm512_load_si512(panel + p * MK_BF_NR + 16 * v);
        for (int i = 0; i < mr; i++) {
            int32_t u;
            memcpy(&u, x + i * k + 2 * p, 4);
            __m512bh xa = (__m512bh)_mm512_set1_epi32(u);
            for (int v = 0; v < 4; v++) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], xa, (__m512bh)wv[v]);
        }
    }
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < 4; v++) _mm512_mask_storeu_ps(y + i * ldy + 16 * v, mask[v], acc[i][v]);
}

__attribute__((target(MK_T512B)))
static void mk_gemm_bf16_512(const uint16_t *x, size_t m, size_t k, const uint16_t *w, size_t r0, size_t r1, float *y,
                             size_t ldy) {
    size_t kcmax = mk_bf16_kc(k);
    uint32_t *panel = aligned_alloc(64, kcmax / 2 * MK_BF_NR * 4);
    if (!panel) abort();
    size_t mc = mk_row_chunk(2 * k);
    for (size_t c0 = 0; c0 < m; c0 += mc) {
        size_t c1 = mk_min(m, c0 + mc);
        for (size_t r = r0; r < r1; r += MK_BF_NR) {
            size_t rows = mk_min(MK_BF_NR, r1 - r);
            __mmask16 mask[4];
            for (int v = 0; v < 4; v++) mask[v] = rows > 16 * (size_t)v ? mk_mask16(rows - 16 * v) : 0;
            for (size_t k0 = 0; k0 < k; k0 += kcmax) {
                size_t kc = mk_min(kcmax, k - k0);
                mk_pack_bf16_512(w, k, r, rows, MK_BF_NR, k0, kc, panel);
                int first = k0 == 0;
                for (size_t i = c0, mr; i < c1; i += mr) {
                    mr = mk_tile_rows(c1 - i, MK_BF_MR);
                    const uint16_t *xt = x + i * k + k0;
                    float *yt = y + i * ldy + r;
                    switch (mr) {
                    case 6: mk_tile_bf16_512(6, xt, k, kc, panel, yt, ldy, first, mask); break;
                    case 5: mk_tile_bf16_512(5, xt, k, kc, panel, yt, ldy, first, mask); break;
                    case 4: mk_tile_bf16_512(4, xt, k, kc, panel, yt, ldy, first, mask); break;
                    case 3: mk_tile_bf16_512(3, xt, k, kc, panel, yt, ldy, first, mask); break;
                    case 2: mk_tile_bf16_512(2, xt, k, kc, panel, yt, ldy, first, mask); break;
                    default: mk_tile_bf16_512(1, xt, k, kc, panel, yt, ldy, first, mask); break;
                    }
                }
            }
        }
    }
    free(panel);
}

void mk_fill_avx512(mk_kernels *t, int vnni, int bf16) {
    mk_fill_loops(t);
    t->qdot = mk_qdot_avx512;
    t->gemm_bf16_small = mk_gemm_bf16_small_avx512;
    if (vnni) {
        t->qdot_q4_i8 = mk_qdot_q4_i8_vnni;
        t->qdot_q4_i8_native = 1;
        t->prepare_q_row = mk_prepare_q_row_512;
        t->prepare_x16_row = mk_prepare_x16_row_512;
        t->gemm_q = mk_gemm_q_vnni;
        t->gemm_x16 = mk_gemm_x16_512;
    }
    if (bf16) {
        t->gemm_bf16 = mk_gemm_bf16_512;
        t->gemm_bf16_native = 1;
    }
}
#endif
