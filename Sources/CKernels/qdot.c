// Quantized matrix-vector products with int16 activations: each 32-wide block is an integer dot
// product (AVX-512 VNNI `vpdpwssd`, or AVX2 `vpmaddwd`), scaled once per block. The weight is
// read once, in its blocks, and never widened to f32. int16 (not int8) activations keep the
// activation rounding (1/65534 of the block maximum) far below the weights' own, which the q8
// parity bar on the reference fixtures needs.
#include "ckernels.h"
#include "dispatch.h"
#include "half.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define MK_MAX_ROWS 8

MK_MULTIVERSION
void mk_quantize_activations(const float *x, size_t k, int16_t *qx, float *dx) {
    for (size_t b = 0; b < k / MK_QBLOCK; b++) {
        const float *xb = x + b * MK_QBLOCK;
        float amax = 0.0f;
        for (int j = 0; j < MK_QBLOCK; j++) amax = fmaxf(amax, fabsf(xb[j]));
        float d = amax / 32767.0f, inv = d > 0 ? 1.0f / d : 0.0f;
        dx[b] = d;
        for (int j = 0; j < MK_QBLOCK; j++) qx[b * MK_QBLOCK + j] = (int16_t)rintf(xb[j] * inv);   // |·| ≤ 32767 by construction
    }
}

// Weight block j-th value as int8, for either format (q4: low nibbles then high nibbles).
static inline void mk_unpack_block(const uint8_t *blk, int q4, int8_t *out) {
    if (q4) {
        for (int j = 0; j < 16; j++) {
            out[j] = (int8_t)((blk[2 + j] & 0x0f) - 8);
            out[j + 16] = (int8_t)((blk[2 + j] >> 4) - 8);
        }
    } else {
        memcpy(out, blk + 2, 32);
    }
}

static void mk_qdot_scalar(const int16_t *qx, const float *dx, size_t m, size_t k, const uint8_t *w, int q4,
                           size_t r0, size_t r1, float *y, size_t ldy) {
    size_t blocks = k / MK_QBLOCK, bytes = q4 ? MK_Q4_BLOCK_BYTES : MK_Q8_BLOCK_BYTES;
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *wr = w + r * blocks * bytes;
        for (size_t i = 0; i < m; i++) {
            float s = 0.0f;
            for (size_t b = 0; b < blocks; b++) {
                int8_t q[32];
                mk_unpack_block(wr + b * bytes, q4, q);
                const int16_t *xb = qx + i * k + b * MK_QBLOCK;
                int32_t dot = 0;
                for (int j = 0; j < 32; j++) dot += (int32_t)xb[j] * (int32_t)q[j];
                s += mk_block_scale(wr + b * bytes) * dx[i * blocks + b] * (float)dot;
            }
            y[i * ldy + r] = s;
        }
    }
}

#if defined(__x86_64__) && defined(__clang__)
// The 32 weights of a block as int8 (q4: low nibbles then high nibbles, minus 8).
__attribute__((target("avx2,fma")))
static inline __m256i mk_load_weights_256(const uint8_t *blk, int q4) {
    if (q4) {
        __m128i packed = _mm_loadu_si128((const __m128i *)(blk + 2));
        __m128i lo = _mm_and_si128(packed, _mm_set1_epi8(0x0f));
        __m128i hi = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f));
        return _mm256_sub_epi8(_mm256_set_m128i(hi, lo), _mm256_set1_epi8(8));
    }
    return _mm256_loadu_si256((const __m256i *)(blk + 2));
}

__attribute__((target("avx2,fma,f16c")))
static inline float mk_block_scale_f16c(const uint8_t *blk) {
    uint16_t h;
    memcpy(&h, blk, 2);
    return _cvtsh_ss(h);
}

__attribute__((target("avx2,fma")))
static float mk_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

// One block's dot product as 8 int32 lanes: weights sign-extended to int16 against the int16
// activations. AVX2: vpmaddwd (pairs into int32; |127 · 32767 · 2| fits) then an add; AVX-512
// VNNI: vpdpwssd fuses the multiply, the pair sum and the add.
__attribute__((target("avx2,fma,f16c")))
static inline __m256i mk_block_dot_avx2(__m256i wq, const int16_t *x) {
    __m256i lo = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_castsi256_si128(wq)), _mm256_loadu_si256((const __m256i *)x));
    __m256i hi = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_extracti128_si256(wq, 1)), _mm256_loadu_si256((const __m256i *)(x + 16)));
    return _mm256_add_epi32(lo, hi);
}

__attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))
static inline __m256i mk_block_dot_vnni(__m256i wq, const int16_t *x) {
    __m256i d = _mm256_dpwssd_epi32(_mm256_setzero_si256(), _mm256_cvtepi8_epi16(_mm256_castsi256_si128(wq)),
                                    _mm256_loadu_si256((const __m256i *)x));
    return _mm256_dpwssd_epi32(d, _mm256_cvtepi8_epi16(_mm256_extracti128_si256(wq, 1)), _mm256_loadu_si256((const __m256i *)(x + 16)));
}

// One kernel body for both instruction sets. Decode steps (m == 1) run two accumulators over
// alternating blocks for instruction-level parallelism; m ≤ 8 rows share each weight block.
#define MK_QDOT_KERNEL(NAME, TARGET, BLOCK_DOT)                                                                \
    __attribute__((target(TARGET)))                                                                            \
    static void NAME(const int16_t *qx, const float *dx, size_t m, size_t k, const uint8_t *w, int q4,         \
                     size_t r0, size_t r1, float *y, size_t ldy) {                                             \
        size_t blocks = k / MK_QBLOCK, bytes = q4 ? MK_Q4_BLOCK_BYTES : MK_Q8_BLOCK_BYTES;                     \
        if (m == 1) {                                                                                          \
            for (size_t r = r0; r < r1; r++) {                                                                 \
                const uint8_t *wr = w + r * blocks * bytes;                                                    \
                __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();                                 \
                size_t b = 0;                                                                                  \
                for (; b + 2 <= blocks; b += 2) {                                                              \
                    const uint8_t *b0 = wr + b * bytes, *b1 = b0 + bytes;                                      \
                    __m256i d0 = BLOCK_DOT(mk_load_weights_256(b0, q4), qx + b * MK_QBLOCK);                   \
                    __m256i d1 = BLOCK_DOT(mk_load_weights_256(b1, q4), qx + (b + 1) * MK_QBLOCK);             \
                    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d0), _mm256_set1_ps(mk_block_scale_f16c(b0) * dx[b]), acc0); \
                    acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d1), _mm256_set1_ps(mk_block_scale_f16c(b1) * dx[b + 1]), acc1); \
                }                                                                                              \
                for (; b < blocks; b++) {                                                                      \
                    const uint8_t *b0 = wr + b * bytes;                                                        \
                    __m256i d0 = BLOCK_DOT(mk_load_weights_256(b0, q4), qx + b * MK_QBLOCK);                   \
                    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d0), _mm256_set1_ps(mk_block_scale_f16c(b0) * dx[b]), acc0); \
                }                                                                                              \
                y[r] = mk_hsum256(_mm256_add_ps(acc0, acc1));                                                  \
            }                                                                                                  \
            return;                                                                                            \
        }                                                                                                      \
        for (size_t r = r0; r < r1; r++) {                                                                     \
            const uint8_t *wr = w + r * blocks * bytes;                                                        \
            __m256 acc[MK_MAX_ROWS];                                                                           \
            for (size_t i = 0; i < m; i++) acc[i] = _mm256_setzero_ps();                                       \
            for (size_t b = 0; b < blocks; b++) {                                                              \
                const uint8_t *b0 = wr + b * bytes;                                                            \
                __m256i wq = mk_load_weights_256(b0, q4);                                                      \
                float dw = mk_block_scale_f16c(b0);                                                            \
                for (size_t i = 0; i < m; i++) {                                                               \
                    __m256i d = BLOCK_DOT(wq, qx + i * k + b * MK_QBLOCK);                                     \
                    acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), _mm256_set1_ps(dw * dx[i * blocks + b]), acc[i]); \
                }                                                                                              \
            }                                                                                                  \
            for (size_t i = 0; i < m; i++) y[i * ldy + r] = mk_hsum256(acc[i]);                                \
        }                                                                                                      \
    }

MK_QDOT_KERNEL(mk_qdot_avx2, "avx2,fma,f16c", mk_block_dot_avx2)
MK_QDOT_KERNEL(mk_qdot_vnni, "avx2,fma,f16c,avx512f,avx512vl,avx512vnni", mk_block_dot_vnni)
#endif

int mk_cpu_has(mk_isa isa) {
#if defined(__x86_64__) && defined(__clang__)
    switch (isa) {
    case MK_ISA_SCALAR: return 1;
    case MK_ISA_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case MK_ISA_AVX512_VNNI:
        return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") && mk_cpu_has(MK_ISA_AVX2);
    }
    return 0;
#else
    return isa == MK_ISA_SCALAR;
#endif
}

void mk_qdot_isa(mk_isa isa, const int16_t *qx, const float *dx, size_t m, size_t k, const uint8_t *w, int q4,
                 size_t r0, size_t r1, float *y, size_t ldy) {
    if (m > MK_MAX_ROWS) m = MK_MAX_ROWS;
#if defined(__x86_64__) && defined(__clang__)
    if (isa == MK_ISA_AVX512_VNNI && mk_cpu_has(MK_ISA_AVX512_VNNI)) { mk_qdot_vnni(qx, dx, m, k, w, q4, r0, r1, y, ldy); return; }
    if (isa >= MK_ISA_AVX2 && mk_cpu_has(MK_ISA_AVX2)) { mk_qdot_avx2(qx, dx, m, k, w, q4, r0, r1, y, ldy); return; }
#endif
    mk_qdot_scalar(qx, dx, m, k, w, q4, r0, r1, y, ldy);
}

void mk_qdot(const int16_t *qx, const float *dx, size_t m, size_t k, const uint8_t *w, int q4,
             size_t r0, size_t r1, float *y, size_t ldy) {
    mk_qdot_isa(MK_ISA_AVX512_VNNI, qx, dx, m, k, w, q4, r0, r1, y, ldy);
}
