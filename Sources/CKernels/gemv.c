#include "ckernels.h"
#include <string.h>

#include "dispatch.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define MK_LANES 16
#define MK_MAX_ROWS 8

static inline float mk_bf16(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// 16 independent accumulators per row of x: the inner loop is one vector FMA per row, and the
// weight chunk is widened once for all rows.
MK_MULTIVERSION
static void mk_gemm_bf16_rows(const float *x, size_t m, size_t k, const uint16_t *w, size_t r0, size_t r1,
                              float *y, size_t ldy) {
    if (m > MK_MAX_ROWS) m = MK_MAX_ROWS;
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *wr = w + r * k;
        float acc[MK_MAX_ROWS][MK_LANES];
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < MK_LANES; j++) acc[i][j] = 0.0f;
        size_t c = 0;
        for (; c + MK_LANES <= k; c += MK_LANES) {
            float wv[MK_LANES];
            for (size_t j = 0; j < MK_LANES; j++) wv[j] = mk_bf16(wr[c + j]);
            for (size_t i = 0; i < m; i++) {
                const float *xi = x + i * k + c;
                for (size_t j = 0; j < MK_LANES; j++) acc[i][j] += xi[j] * wv[j];
            }
        }
        for (size_t i = 0; i < m; i++) {
            float s = 0.0f;
            for (size_t j = 0; j < MK_LANES; j++) s += acc[i][j];
            for (size_t t = c; t < k; t++) s += x[i * k + t] * mk_bf16(wr[t]);
            y[i * ldy + r] = s;
        }
    }
}

// Decode steps (one activation row) with explicit vectors: the generic loop keeps its 16 sums in
// memory when the row count is not a constant, one store-to-load round trip per 16 weights,
// which left bf16 decode at ~10 GB/s per core. Here four register accumulators hide the FMA
// latency; bf16 widens to f32 exactly (a 16-bit shift), so only the summation order differs.
#if defined(__x86_64__) && defined(__clang__)
__attribute__((target("avx512f,avx512bw")))
static inline __m512 mk_widen_bf16_512(const uint16_t *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}

__attribute__((target("avx512f,avx512bw")))
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
        for (; c < k; c++) s += x[c] * mk_bf16(wr[c]);
        y[r] = s;
    }
}

__attribute__((target("avx2,fma")))
static inline __m256 mk_widen_bf16_256(const uint16_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

__attribute__((target("avx2,fma")))
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
        for (; c < k; c++) s += x[c] * mk_bf16(wr[c]);
        y[r] = s;
    }
}
#endif

void mk_gemm_bf16_small_isa(mk_isa isa, const float *x, size_t m, size_t k, const uint16_t *w, size_t r0, size_t r1,
                            float *y, size_t ldy) {
#if defined(__x86_64__) && defined(__clang__)
    if (isa >= MK_ISA_NEON) isa = MK_ISA_SCALAR;   // an Arm instruction set, not this CPU's
    if (m == 1 && isa >= MK_ISA_AVX512 && mk_cpu_has(MK_ISA_AVX512)) {
        mk_gemv_bf16_512(x, k, w, r0, r1, y);
        return;
    }
    if (m == 1 && isa >= MK_ISA_AVX2 && mk_cpu_has(MK_ISA_AVX2)) {
        mk_gemv_bf16_256(x, k, w, r0, r1, y);
        return;
    }
#endif
    (void)isa;
    mk_gemm_bf16_rows(x, m, k, w, r0, r1, y, ldy);
}

void mk_gemm_bf16_small(const float *x, size_t m, size_t k, const uint16_t *w, size_t r0, size_t r1, float *y,
                        size_t ldy) {
    mk_gemm_bf16_small_isa(MK_ISA_BEST, x, m, k, w, r0, r1, y, ldy);
}
