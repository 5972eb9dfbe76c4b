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
#include "ckernels.h"
#include "dispatch.h"
#include "half.h"
#include "neon.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define MK_MAX_ROWS 8
// Row kernels take their activation row count as a constant (the accumulators stay in
// registers): the cases 2–8 of a switch on it (callers clamp m to 8).
#define MK_ROW_CASES_2_TO_8(ROW, ...)        \
    case 2: ROW(2, __VA_ARGS__); break;      \
    case 3: ROW(3, __VA_ARGS__); break;      \
    case 4: ROW(4, __VA_ARGS__); break;      \
    case 5: ROW(5, __VA_ARGS__); break;      \
    case 6: ROW(6, __VA_ARGS__); break;      \
    case 7: ROW(7, __VA_ARGS__); break;      \
    default: ROW(8, __VA_ARGS__); break;
#define MK_GROUP 16
// Software prefetch distance of the q4 decode stream (bytes): q4 is compute-bound enough that
// the hardware prefetchers fall behind (measured on Zen 3 and Zen 4).
#define MK_PREFETCH_ROW 2048
// The AVX-512 single-row streams (q4 with VNNI, q8) prefetch further ahead: on Zen 5, streaming
// a 1 GB matrix on 2 threads, 8 KB ahead read q8 at ~33 GB/s instead of ~23 without prefetch,
// and q4 at ~34 instead of ~31 with 2 KB, alternating pass by pass.
#define MK_PREFETCH_FAR 8192

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

MK_MULTIVERSION
void mk_quantize_activations(const float *x, size_t k, int16_t *qx, float *dx, float *sx) {
    MK_QUANTIZE_BLOCKS(int16_t, 32767.0f)
}

static inline float mk_row_scale(const uint8_t *row, size_t b) { return mk_load_half(row + 2 * b); }

// Stored value (+8 for q4) of weight j of block b, for either format.
static inline int mk_row_q(const uint8_t *row, size_t nb, int q4, size_t b, int j) {
    const uint8_t *qs = row + 2 * nb;
    if (!q4) return (int8_t)qs[b * MK_QBLOCK + j];
    if (b + 1 == nb && nb % 2 == 1) {   // a lone last block: low nibbles j, high nibbles j + 16
        uint8_t v = qs[b * 16 + (j & 15)];
        return j < 16 ? (v & 0x0f) : (v >> 4);
    }
    uint8_t v = qs[(b & ~(size_t)1) * 16 + j];
    return (b & 1) ? (v >> 4) : (v & 0x0f);
}

static void mk_qdot_scalar(const int16_t *qx, const float *dx, size_t m, size_t k, const uint8_t *w, int q4,
                           size_t r0, size_t r1, float *y, size_t ldy) {
    size_t nb = k / MK_QBLOCK, bytes = mk_quant_row_bytes(k, q4);
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *row = w + r * bytes;
        for (size_t i = 0; i < m; i++) {
            float s = 0.0f;
            for (size_t b = 0; b < nb; b++) {
                const int16_t *xb = qx + i * k + b * MK_QBLOCK;
                int32_t dot = 0;
                for (int j = 0; j < MK_QBLOCK; j++) dot += (int32_t)xb[j] * (mk_row_q(row, nb, q4, b, j) - (q4 ? 8 : 0));
                s += mk_row_scale(row, b) * dx[i * nb + b] * (float)dot;
            }
            y[i * ldy + r] = s;
        }
    }
}

// q4 decode steps with int8 activations (AVX-512 VNNI): q4's own rounding (1/14 of the block
// maximum) dwarfs int8's (1/254), and `vpdpbusd` multiplies two whole blocks — the stored
// nibbles as unsigned bytes against the activations in their natural order — per instruction.
MK_MULTIVERSION
void mk_quantize_activations_i8(const float *x, size_t k, int8_t *qx, float *dx, float *sx) {
    MK_QUANTIZE_BLOCKS(int8_t, 127.0f)
}

static void mk_qdot_q4_i8_scalar(const int8_t *qx, const float *dx, size_t k, const uint8_t *w, size_t r0, size_t r1,
                                 float *y) {
    size_t nb = k / MK_QBLOCK, bytes = mk_quant_row_bytes(k, 1);
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *row = w + r * bytes;
        float s = 0.0f;
        for (size_t b = 0; b < nb; b++) {
            int32_t dot = 0;
            for (int j = 0; j < MK_QBLOCK; j++) dot += (int32_t)qx[b * MK_QBLOCK + j] * (mk_row_q(row, nb, 1, b, j) - 8);
            s += mk_row_scale(row, b) * dx[b] * (float)dot;
        }
        y[r] = s;
    }
}

#if defined(__x86_64__) && defined(__clang__)
#define MK_AVX2 "avx2,fma,f16c"
#define MK_AVX512 "avx2,fma,f16c,avx512f,avx512bw,avx512vl"

__attribute__((target(MK_AVX2)))
static float mk_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}


// AVX-512: a whole block is one 32-lane int16 product.
__attribute__((target(MK_AVX512)))
static inline __m512 mk_scales16_512(const uint8_t *p, size_t g) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16((__mmask16)((1u << g) - 1), p));
}
__attribute__((target(MK_AVX512)))
static inline __m512 mk_loadf16_512(const float *p, size_t g) {
    return _mm512_maskz_loadu_ps((__mmask16)((1u << g) - 1), p);
}

__attribute__((target(MK_AVX512)))
static inline __m512 mk_block_product_512(__m512i w16, const int16_t *x, float s, __m512 acc) {
    __m512i p = _mm512_madd_epi16(w16, _mm512_loadu_si512((const void *)x));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_set1_ps(s), acc);
}

// 2–8 activation rows: each weight block is widened once and multiplied into every row.
__attribute__((target(MK_AVX512), always_inline))
static inline void mk_qrow_512(const int M, const int16_t *qx, const float *dx, const float *sx, size_t k,
                               const uint8_t *w, int q4, size_t r, float *y, size_t ldy) {
    size_t nb = k / MK_QBLOCK, bytes = mk_quant_row_bytes(k, q4);
    const uint8_t *row = w + r * bytes, *qs = row + 2 * nb;
    __m512 acc[MK_MAX_ROWS], corr[MK_MAX_ROWS];
    for (int i = 0; i < M; i++) acc[i] = corr[i] = _mm512_setzero_ps();
    float s[MK_MAX_ROWS][MK_GROUP];
    for (size_t b = 0; b < nb; b += MK_GROUP) {
        size_t g = nb - b < MK_GROUP ? nb - b : MK_GROUP;
        // Per-block factors: weight scale × activation scale, and (q4) the + 8 offset's
        // correction Σ_b factor·Σx.
        __m512 ws = mk_scales16_512(row + 2 * b, g);
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
__attribute__((target(MK_AVX512)))
static void mk_qrow1_512(const int16_t *qx, const float *dx, const float *sx, size_t k, const uint8_t *w, int q4,
                         size_t r, float *y) {
    size_t nb = k / MK_QBLOCK, bytes = mk_quant_row_bytes(k, q4);
    const uint8_t *row = w + r * bytes, *qs = row + 2 * nb;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    __m512 corr = _mm512_setzero_ps();
    float s[MK_GROUP];
    for (size_t b = 0; b < nb; b += MK_GROUP) {
        size_t g = nb - b < MK_GROUP ? nb - b : MK_GROUP;
        __m512 sv = _mm512_mul_ps(mk_scales16_512(row + 2 * b, g), mk_loadf16_512(dx + b, g));
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

__attribute__((target(MK_AVX512)))
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
        const uint8_t *row = w + r * bytes, *qs = row + 2 * nb;
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), corr = _mm512_setzero_ps();
        float tail = 0.0f;
        for (size_t b = 0; b < nb; b += MK_GROUP) {
            size_t g = nb - b < MK_GROUP ? nb - b : MK_GROUP;
            __m512 sv = _mm512_mul_ps(mk_scales16_512(row + 2 * b, g), mk_loadf16_512(dx + b, g));
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
                for (int j = 0; j < MK_QBLOCK; j++) dot += (int32_t)qx[lb * MK_QBLOCK + j] * mk_row_q(row, nb, 1, lb, j);
                tail += mk_row_scale(row, lb) * dx[lb] * (float)dot;
            }
        }
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + tail - 8.0f * _mm512_reduce_add_ps(corr);
    }
}

// AVX2 (16 registers, 256-bit): a block is two 16-lane int16 products (`vpmaddwd`), or for q4
// single-row steps one `vpmaddubsw` of the stored nibbles (unsigned) against int8 activations
// plus a `vpmaddwd` by ones. The 8 scales of a group convert with one F16C instruction.
__attribute__((target(MK_AVX2)))
static inline __m256 mk_scales8_256(const uint8_t *p, size_t g) {
    if (g == 8) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
    uint16_t h[8] = {0};
    memcpy(h, p, 2 * g);
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
}
__attribute__((target(MK_AVX2)))
static inline __m256 mk_loadf8_256(const float *p, size_t g) {
    if (g == 8) return _mm256_loadu_ps(p);
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32((int)g), lanes));
}

// Block `lo` (values 0..15) and `hi` (16..31) as int16, times 32 int16 activations at x.
__attribute__((target(MK_AVX2)))
static inline __m256 mk_block_product_256(__m256i lo, __m256i hi, const int16_t *x, float s, __m256 acc) {
    __m256i p = _mm256_add_epi32(_mm256_madd_epi16(lo, _mm256_loadu_si256((const __m256i *)x)),
                                 _mm256_madd_epi16(hi, _mm256_loadu_si256((const __m256i *)(x + 16))));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(s), acc);
}

// 1–8 activation rows: each weight block is widened once and multiplied into every row.
__attribute__((target(MK_AVX2), always_inline))
static inline void mk_qrow_256(const int M, const int16_t *qx, const float *dx, const float *sx, size_t k,
                               const uint8_t *w, int q4, size_t r, float *y, size_t ldy) {
    size_t nb = k / MK_QBLOCK, bytes = mk_quant_row_bytes(k, q4);
    const uint8_t *row = w + r * bytes, *qs = row + 2 * nb;
    const __m256i low4 = _mm256_set1_epi16(0x0f);
    __m256 acc[MK_MAX_ROWS], corr[MK_MAX_ROWS];
    for (int i = 0; i < M; i++) acc[i] = corr[i] = _mm256_setzero_ps();
    float s[MK_MAX_ROWS][8];
    for (size_t b = 0; b < nb; b += 8) {
        size_t g = nb - b < 8 ? nb - b : 8;
        __m256 ws = mk_scales8_256(row + 2 * b, g);
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

__attribute__((target(MK_AVX2)))
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
__attribute__((target(MK_AVX2)))
static inline __m256 mk_nibble_product_256(__m256i nibbles, const int8_t *x, float s, __m256 acc) {
    __m256i p = _mm256_maddubs_epi16(nibbles, _mm256_loadu_si256((const __m256i *)x));
    p = _mm256_madd_epi16(p, _mm256_set1_epi16(1));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(s), acc);
}

__attribute__((target(MK_AVX2)))
static void mk_qdot_q4_i8_avx2(const int8_t *qx, const float *dx, const float *sx, size_t k, const uint8_t *w,
                               size_t r0, size_t r1, float *y) {
    size_t nb = k / MK_QBLOCK, bytes = mk_quant_row_bytes(k, 1);
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *row = w + r * bytes, *qs = row + 2 * nb;
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        __m256 corr = _mm256_setzero_ps();
        float s[8];
        for (size_t b = 0; b < nb; b += 8) {
            size_t g = nb - b < 8 ? nb - b : 8;
            __m256 sv = _mm256_mul_ps(mk_scales8_256(row + 2 * b, g), mk_loadf8_256(dx + b, g));
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
#endif

int mk_cpu_has(mk_isa isa) {
#if defined(__x86_64__) && defined(__clang__)
    switch (isa) {
    case MK_ISA_SCALAR: return 1;
    case MK_ISA_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case MK_ISA_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
               mk_cpu_has(MK_ISA_AVX2);
    case MK_ISA_AVX512_VNNI: return mk_cpu_has(MK_ISA_AVX512) && __builtin_cpu_supports("avx512vnni");
    case MK_ISA_NEON:
    case MK_ISA_NEON_DOTPROD: return 0;
    }
    return 0;
#elif defined(__aarch64__)
    return isa == MK_ISA_SCALAR || isa == MK_ISA_NEON || (isa == MK_ISA_NEON_DOTPROD && mk_neon_has_dotprod());
#else
    return isa == MK_ISA_SCALAR;
#endif
}

void mk_qdot_isa(mk_isa isa, const int16_t *qx, const float *dx, const float *sx, size_t m, size_t k, const uint8_t *w,
                 int q4, size_t r0, size_t r1, float *y, size_t ldy) {
    if (m > MK_MAX_ROWS) m = MK_MAX_ROWS;
    if (m == 0) return;
#if defined(__aarch64__)
    if (isa >= MK_ISA_NEON) { mk_qdot_neon(qx, dx, m, k, w, q4, r0, r1, y, ldy); return; }
#else
    if (isa >= MK_ISA_NEON) isa = MK_ISA_SCALAR;   // an Arm instruction set, not this CPU's
#endif
#if defined(__x86_64__) && defined(__clang__)
    if (isa >= MK_ISA_AVX512 && mk_cpu_has(MK_ISA_AVX512)) { mk_qdot_avx512(qx, dx, sx, m, k, w, q4, r0, r1, y, ldy); return; }
    if (isa >= MK_ISA_AVX2 && mk_cpu_has(MK_ISA_AVX2)) { mk_qdot_avx2(qx, dx, sx, m, k, w, q4, r0, r1, y, ldy); return; }
#endif
    mk_qdot_scalar(qx, dx, m, k, w, q4, r0, r1, y, ldy);
}

void mk_qdot(const int16_t *qx, const float *dx, const float *sx, size_t m, size_t k, const uint8_t *w, int q4,
             size_t r0, size_t r1, float *y, size_t ldy) {
    mk_qdot_isa(MK_ISA_BEST, qx, dx, sx, m, k, w, q4, r0, r1, y, ldy);
}

void mk_qdot_q4_i8_isa(mk_isa isa, const int8_t *qx, const float *dx, const float *sx, size_t k, const uint8_t *w,
                       size_t r0, size_t r1, float *y) {
#if defined(__aarch64__)
    if (isa >= MK_ISA_NEON) {
        mk_qdot_q4_i8_neon(isa >= MK_ISA_NEON_DOTPROD && mk_neon_has_dotprod(), qx, dx, sx, k, w, r0, r1, y);
        return;
    }
#else
    if (isa >= MK_ISA_NEON) isa = MK_ISA_SCALAR;
#endif
#if defined(__x86_64__) && defined(__clang__)
    if (isa >= MK_ISA_AVX512_VNNI && mk_cpu_has(MK_ISA_AVX512_VNNI)) { mk_qdot_q4_i8_vnni(qx, dx, sx, k, w, r0, r1, y); return; }
    if (isa >= MK_ISA_AVX2 && mk_cpu_has(MK_ISA_AVX2)) { mk_qdot_q4_i8_avx2(qx, dx, sx, k, w, r0, r1, y); return; }
#endif
    (void)sx;
    mk_qdot_q4_i8_scalar(qx, dx, k, w, r0, r1, y);
}

void mk_qdot_q4_i8(const int8_t *qx, const float *dx, const float *sx, size_t k, const uint8_t *w, size_t r0, size_t r1,
                   float *y) {
    mk_qdot_q4_i8_isa(MK_ISA_BEST, qx, dx, sx, k, w, r0, r1, y);
}
