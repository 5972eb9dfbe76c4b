// Prefill GEMM: y = x·Wᵀ with the weight used as stored.
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
#include "ckernels.h"
#include "gemm.h"
#include "dispatch.h"
#include "half.h"
#include "neon.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define MK_GEMM_X86 1
#else
#define MK_GEMM_X86 0
#endif

// Prepared activations are taken in chunks of about this many bytes (of the 32 MB L3, which both
// threads share) that stay in L3 while every weight panel goes past them; a larger m streams
// the weight again per chunk, which costs little (one weight byte per ~2000 int8 operations).
#ifndef MK_ACT_CHUNK_BYTES
#define MK_ACT_CHUNK_BYTES ((size_t)12 << 20)
#endif
// bf16 panels cover at most this much of k so a 64-row panel (256 KB) stays well inside L2.
#define MK_BF16_KC_MAX 2048

static inline size_t mk_align64(size_t n) { return (n + 63) & ~(size_t)63; }

// ---------------------------------------------------------------------------------------------
// Prepared activations (q8_0 / q4_0): int8 levels [m][k], then f32 scales [m][nb], then int32
// corrections [m][nb] = −offset · Σ levels of the block (offset 128 for q8, 8 for q4).

typedef struct {
    int8_t *q;
    float *d;
    int32_t *c;
} mk_qact;

static mk_qact mk_qact_view(const void *act, size_t m, size_t k) {
    size_t nb = k / MK_QBLOCK;
    uint8_t *base = (uint8_t *)act;
    mk_qact a;
    a.q = (int8_t *)base;
    a.d = (float *)(base + mk_align64(m * k));
    a.c = (int32_t *)(base + mk_align64(m * k) + mk_align64(m * nb * sizeof(float)));
    return a;
}

// q8_0_x16: int16 levels [m][k], then f32 scales [m][nb].
static int16_t *mk_x16_levels(const void *act) { return (int16_t *)act; }
static float *mk_x16_scales(const void *act, size_t m, size_t k) {
    return (float *)((uint8_t *)act + mk_align64(m * k * sizeof(int16_t)));
}

size_t mk_gemm_act_bytes(mk_wfmt fmt, size_t m, size_t k) {
    size_t nb = k / MK_QBLOCK;
    if (fmt == MK_W_BF16) return m * k * sizeof(uint16_t);
    if (fmt == MK_W_Q8_0_X16) return mk_align64(m * k * sizeof(int16_t)) + m * nb * sizeof(float);
    return mk_align64(m * k) + mk_align64(m * nb * sizeof(float)) + m * nb * sizeof(int32_t);
}

MK_MULTIVERSION
static void mk_prepare_q_row(const float *x, size_t k, int32_t offset, int8_t *q, float *d, int32_t *c) {
    for (size_t b = 0; b < k / MK_QBLOCK; b++) {
        const float *xb = x + b * MK_QBLOCK;
        float amax = 0.0f;
        for (int j = 0; j < MK_QBLOCK; j++) amax = fmaxf(amax, fabsf(xb[j]));
        float db = amax / 127.0f, inv = db > 0 ? 1.0f / db : 0.0f;
        int32_t sum = 0;
        for (int j = 0; j < MK_QBLOCK; j++) {
            // x·(127/amax) can round a hair above 127; the clamp keeps the level a valid int8.
            int v = (int)fminf(fmaxf(rintf(xb[j] * inv), -127.0f), 127.0f);
            q[b * MK_QBLOCK + j] = (int8_t)v;
            sum += v;
        }
        d[b] = db;
        c[b] = -offset * sum;
    }
}

MK_MULTIVERSION
static void mk_prepare_x16_row(const float *x, size_t k, int16_t *q, float *d) {
    for (size_t b = 0; b < k / MK_QBLOCK; b++) {
        const float *xb = x + b * MK_QBLOCK;
        float amax = 0.0f;
        for (int j = 0; j < MK_QBLOCK; j++) amax = fmaxf(amax, fabsf(xb[j]));
        float db = amax / 32767.0f, inv = db > 0 ? 1.0f / db : 0.0f;
        for (int j = 0; j < MK_QBLOCK; j++) q[b * MK_QBLOCK + j] = (int16_t)fminf(fmaxf(rintf(xb[j] * inv), -32767.0f), 32767.0f);
        d[b] = db;
    }
}

MK_MULTIVERSION
static void mk_prepare_bf16_row(const float *x, size_t k, uint16_t *o) {
    for (size_t j = 0; j < k; j++) {
        uint32_t u;
        memcpy(&u, &x[j], 4);
        // NaN stays a (quiet) NaN instead of rounding into infinity.
        o[j] = (u & 0x7fffffffu) > 0x7f800000u ? (uint16_t)((u >> 16) | 0x40) : (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
    }
}

#if MK_GEMM_X86
static void mk_prepare_q_row_512(const float *x, size_t k, int32_t offset, int8_t *q, float *d, int32_t *c);
static void mk_prepare_x16_row_512(const float *x, size_t k, int16_t *q, float *d);
static int mk_has_avx512_feature(int bf16);
#endif

void mk_gemm_prepare(mk_wfmt fmt, const float *x, size_t m, size_t k, size_t i0, size_t i1, void *act) {
    size_t nb = k / MK_QBLOCK;
    if (fmt == MK_W_BF16) {
        for (size_t i = i0; i < i1; i++) mk_prepare_bf16_row(x + i * k, k, (uint16_t *)act + i * k);
        return;
    }
    if (fmt == MK_W_Q8_0_X16) {
        int16_t *q = mk_x16_levels(act);
        float *d = mk_x16_scales(act, m, k);
#if MK_GEMM_X86
        if (mk_has_avx512_feature(0)) {
            for (size_t i = i0; i < i1; i++) mk_prepare_x16_row_512(x + i * k, k, q + i * k, d + i * nb);
            return;
        }
#endif
        for (size_t i = i0; i < i1; i++) mk_prepare_x16_row(x + i * k, k, q + i * k, d + i * nb);
        return;
    }
    mk_qact a = mk_qact_view(act, m, k);
    int32_t offset = fmt == MK_W_Q4_0 ? 8 : 128;
#if MK_GEMM_X86
    if (mk_has_avx512_feature(0)) {
        for (size_t i = i0; i < i1; i++) mk_prepare_q_row_512(x + i * k, k, offset, a.q + i * k, a.d + i * nb, a.c + i * nb);
        return;
    }
#endif
    for (size_t i = i0; i < i1; i++) mk_prepare_q_row(x + i * k, k, offset, a.q + i * k, a.d + i * nb, a.c + i * nb);
}

// ---------------------------------------------------------------------------------------------
// Stored weight blocks.

enum { MK_VALS_I8, MK_VALS_NIB16, MK_VALS_NIB_LO, MK_VALS_NIB_HI };

static inline size_t mk_qrow_bytes(int q4, size_t k) {
    return k / MK_QBLOCK * (q4 ? MK_Q4_BLOCK_BYTES : MK_Q8_BLOCK_BYTES);
}

// Block b of a weight row: its scale, where its values start, and how they are packed
// (NIB16: 16 bytes, value t in byte t's low nibble and value t + 16 in its high nibble;
// NIB_LO / NIB_HI: 32 bytes, value t in byte t's low / high nibble).
static inline const uint8_t *mk_qblock(int q4, const uint8_t *row, size_t nb, size_t b, float *scale, int *mode) {
    *scale = mk_load_half(row + 2 * b);
    const uint8_t *vals = row + 2 * nb;
    if (!q4) { *mode = MK_VALS_I8; return vals + MK_QBLOCK * b; }
    if (b + 1 == nb && nb % 2 == 1) { *mode = MK_VALS_NIB16; return vals + 16 * b; }
    *mode = (b & 1) ? MK_VALS_NIB_HI : MK_VALS_NIB_LO;
    return vals + 16 * (b & ~(size_t)1);
}

// Values 4g ..< 4g + 4 of a block as 4 bytes: q4 as the stored nibble (level + 8), q8 as stored.
static inline uint32_t mk_qgroup(const uint8_t *v, int mode, int g) {
    uint32_t u;
    switch (mode) {
    case MK_VALS_I8: memcpy(&u, v + 4 * g, 4); return u;
    case MK_VALS_NIB16: memcpy(&u, v + 4 * (g & 3), 4); return g < 4 ? u & 0x0f0f0f0fu : (u >> 4) & 0x0f0f0f0fu;
    case MK_VALS_NIB_LO: memcpy(&u, v + 4 * g, 4); return u & 0x0f0f0f0fu;
    default: memcpy(&u, v + 4 * g, 4); return (u >> 4) & 0x0f0f0f0fu;
    }
}

#if MK_GEMM_X86
static inline size_t mk_min(size_t a, size_t b) { return a < b ? a : b; }

// Panel of NR rows from row r (rows beyond `rows` are zero with scale 0): dword (b, g, l) at
// panel[(b·8 + g)·NR + l] holds values 4g ..< 4g + 4 of block b of row r + l, xor `flip` (0x80
// per byte turns q8's int8 into level + 128); scales at dw[b·NR + l]. Lanes l0 ..< l1 only.
static void mk_pack_q_lanes(int q4, uint32_t flip, const uint8_t *w, size_t k, size_t r, size_t rows, size_t nr,
                            size_t l0, size_t l1, uint32_t *panel, float *dw) {
    size_t nb = k / MK_QBLOCK, rb = mk_qrow_bytes(q4, k);
    for (size_t l = l0; l < l1; l++) {
        if (l >= rows) {
            for (size_t b = 0; b < nb; b++) {
                dw[b * nr + l] = 0.0f;
                for (int g = 0; g < 8; g++) panel[(b * 8 + g) * nr + l] = 0;
            }
            continue;
        }
        const uint8_t *row = w + (r + l) * rb;
        for (size_t b = 0; b < nb; b++) {
            float s;
            int mode;
            const uint8_t *v = mk_qblock(q4, row, nb, b, &s, &mode);
            dw[b * nr + l] = s;
            uint32_t *dst = panel + b * 8 * nr + l;
            if (mode == MK_VALS_I8)
                for (int g = 0; g < 8; g++) dst[g * nr] = mk_qgroup(v, MK_VALS_I8, g) ^ flip;
            else if (mode == MK_VALS_NIB16)
                for (int g = 0; g < 8; g++) dst[g * nr] = mk_qgroup(v, MK_VALS_NIB16, g);
            else if (mode == MK_VALS_NIB_LO)
                for (int g = 0; g < 8; g++) dst[g * nr] = mk_qgroup(v, MK_VALS_NIB_LO, g);
            else
                for (int g = 0; g < 8; g++) dst[g * nr] = mk_qgroup(v, MK_VALS_NIB_HI, g);
        }
    }
}

static void mk_pack_q(int q4, uint32_t flip, const uint8_t *w, size_t k, size_t r, size_t rows, size_t nr,
                      uint32_t *panel, float *dw) {
    mk_pack_q_lanes(q4, flip, w, k, r, rows, nr, 0, nr, panel, dw);
}

// q8_0_x16 panel over blocks [b0, b0 + nbc): dword (b, p, l) at panel[((b − b0)·16 + p)·NR + l]
// holds values 2p and 2p + 1 of block b of row r + l as int16 (the pair `vpdpwssd` and
// `vpmaddwd` multiply per lane); scales at dw[(b − b0)·NR + l]. Lanes l0 ..< l1 only.
static void mk_pack_x16_lanes(const uint8_t *w, size_t k, size_t r, size_t rows, size_t nr, size_t b0, size_t nbc,
                              size_t l0, size_t l1, uint32_t *panel, float *dw) {
    size_t nb = k / MK_QBLOCK, rb = mk_qrow_bytes(0, k);
    for (size_t l = l0; l < l1; l++)
        for (size_t bb = 0; bb < nbc; bb++) {
            uint32_t *dst = panel + bb * 16 * nr + l;
            if (l >= rows) {
                dw[bb * nr + l] = 0.0f;
                for (int p = 0; p < 16; p++) dst[p * nr] = 0;
                continue;
            }
            int mode;
            const int8_t *v = (const int8_t *)mk_qblock(0, w + (r + l) * rb, nb, b0 + bb, &dw[bb * nr + l], &mode);
            for (int p = 0; p < 16; p++)
                dst[p * nr] = (uint32_t)(uint16_t)(int16_t)v[2 * p] | (uint32_t)(uint16_t)(int16_t)v[2 * p + 1] << 16;
        }
}

// Blocks per k-chunk of a q8_0_x16 panel (balanced, at most 128: a 48-row panel of int16 pairs
// is 3 KB per block, so ≤ 384 KB stays in L2).
static size_t mk_x16_kcb(size_t nb) {
    size_t n = (nb + 127) / 128;
    return (nb + n - 1) / n;
}

// bf16 panel over k-chunk [k0, k0 + kc): dword (p, l) at panel[p·NR + l] holds row r + l's
// values k0 + 2p and k0 + 2p + 1 (the pair `vdpbf16ps` multiplies per lane).
static void mk_pack_bf16_lanes(const uint16_t *w, size_t k, size_t r, size_t rows, size_t nr, size_t k0, size_t kc,
                               size_t l0, size_t l1, uint32_t *panel) {
    for (size_t l = l0; l < l1; l++) {
        if (l >= rows) {
            for (size_t p = 0; p < kc / 2; p++) panel[p * nr + l] = 0;
            continue;
        }
        const uint16_t *src = w + (r + l) * k + k0;
        for (size_t p = 0; p < kc / 2; p++) memcpy(&panel[p * nr + l], src + 2 * p, 4);
    }
}

static void mk_pack_bf16(const uint16_t *w, size_t k, size_t r, size_t rows, size_t nr, size_t k0, size_t kc,
                         uint32_t *panel) {
    mk_pack_bf16_lanes(w, k, r, rows, nr, k0, kc, 0, nr, panel);
}

// Activation rows per chunk: a multiple of 12 (every MR used here divides it).
static size_t mk_row_chunk(size_t row_bytes) {
    size_t mc = MK_ACT_CHUNK_BYTES / row_bytes / 12 * 12;
    return mc < 12 ? 12 : mc;
}

// Rows for the next tile when `left` rows remain: MR, except that the last tiles share the
// remainder evenly (9 rows run as 3 + 3 + 3, not 4 + 4 + 1), since a tile costs a full pass
// over the panel however few rows it has.
static size_t mk_tile_rows(size_t left, size_t mr) {
    size_t tiles = (left + mr - 1) / mr;
    return tiles <= 2 ? (left + tiles - 1) / tiles : mr;
}

// Balanced k-chunks for bf16 panels (multiples of 32, at most MK_BF16_KC_MAX).
static size_t mk_bf16_kc(size_t k) {
    size_t n = (k + MK_BF16_KC_MAX - 1) / MK_BF16_KC_MAX;
    size_t kc = (k + n - 1) / n;
    return (kc + 31) / 32 * 32;
}
#endif

// ---------------------------------------------------------------------------------------------
// Scalar: the reference the SIMD paths are tested against, with the same arithmetic (exact
// int32 block sums, scale product dw·dx, one fmaf per block in block order) so they agree
// bit for bit.

static void mk_gemm_q_scalar(int q4, const void *act, size_t m, size_t k, const uint8_t *w, size_t r0, size_t r1,
                             float *y, size_t ldy) {
    size_t nb = k / MK_QBLOCK, rb = mk_qrow_bytes(q4, k);
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
    size_t nb = k / MK_QBLOCK, rb = mk_qrow_bytes(0, k);
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

static inline float mk_bf16_to_float(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
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

#if MK_GEMM_X86
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
    size_t nb = k / MK_QBLOCK, rb = mk_qrow_bytes(q4, k);
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
                _mm512_storeu_ps(t, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(rowp[j] + 2 * b))));
                for (int u = 0; u < 16; u++) dw[(b + u) * nr + l0 + j] = t[u];
            }
            for (; b < nb; b++) dw[b * nr + l0 + j] = mk_load_half(rowp[j] + 2 * b);
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
    size_t nb = k / MK_QBLOCK, rb = mk_qrow_bytes(0, k);
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

// ---------------------------------------------------------------------------------------------
// AVX2 (16 registers): int8 MR = 4 × NR = 8. q4 nibbles (≤ 15) go straight into vpmaddubsw and
// its int16 pair sums (≤ 3810) add up over a whole block without overflow (≤ 30480), so one
// vpmaddwd per block widens them. q8 levels + 128 would saturate vpmaddubsw, so q8 stays signed
// and uses |w| · (x with w's sign) instead, widening every group.

#define MK_T256 "avx2,fma,f16c"
#define MK_AVX2_MR 4
#define MK_AVX2_NR 8

__attribute__((target(MK_T256), always_inline))
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

__attribute__((target(MK_T256)))
static __m256i mk_mask8(size_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#define MK_AVX2_Q_CASE(MR)                                                                       \
    case MR:                                                                                     \
        if (q4) mk_tile_q_avx2(MR, 1, qq, dx, cs, k, nb, panel, dw, yt, ldy, mask);               \
        else mk_tile_q_avx2(MR, 0, qq, dx, cs, k, nb, panel, dw, yt, ldy, mask);                  \
        break;

__attribute__((target(MK_T256)))
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
__attribute__((target(MK_T256), always_inline))
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

__attribute__((target(MK_T256)))
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

__attribute__((target(MK_T256), always_inline))
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

__attribute__((target(MK_T256)))
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
#endif

// ---------------------------------------------------------------------------------------------

#if MK_GEMM_X86
static int mk_has_avx512_feature(int bf16) {
    if (!mk_cpu_has(MK_ISA_AVX512)) return 0;
    return bf16 ? __builtin_cpu_supports("avx512bf16") : __builtin_cpu_supports("avx512vnni");
}
#endif

int mk_gemm_bf16_native(void) {
#if MK_GEMM_X86
    return mk_has_avx512_feature(1);
#else
    return 0;
#endif
}

void mk_gemm_isa(mk_isa isa, mk_wfmt fmt, const void *act, size_t m, size_t k, const void *w, size_t r0, size_t r1,
                 float *y, size_t ldy) {
    if (m == 0 || r1 <= r0) return;
    int bf16 = fmt == MK_W_BF16, q4 = fmt == MK_W_Q4_0, x16 = fmt == MK_W_Q8_0_X16;
#if defined(__aarch64__)
    if (isa >= MK_ISA_NEON) {
        if (bf16) mk_gemm_bf16_neon(act, m, k, w, r0, r1, y, ldy);
        else if (x16) mk_gemm_x16_neon(mk_x16_levels(act), mk_x16_scales(act, m, k), m, k, w, r0, r1, y, ldy);
        else {
            mk_qact a = mk_qact_view(act, m, k);
            int dotprod = isa >= MK_ISA_NEON_DOTPROD && mk_neon_has_dotprod();
            mk_gemm_q_neon(q4, dotprod, a.q, a.d, a.c, m, k, w, r0, r1, y, ldy);
        }
        return;
    }
#else
    if (isa >= MK_ISA_NEON) isa = MK_ISA_SCALAR;   // an Arm instruction set, not this CPU's
#endif
#if MK_GEMM_X86
    if (isa >= MK_ISA_AVX512 && mk_has_avx512_feature(bf16)) {
        if (bf16) mk_gemm_bf16_512(act, m, k, w, r0, r1, y, ldy);
        else if (x16) mk_gemm_x16_512(act, m, k, w, r0, r1, y, ldy);
        else mk_gemm_q_vnni(q4, act, m, k, w, r0, r1, y, ldy);
        return;
    }
    if (isa >= MK_ISA_AVX2 && mk_cpu_has(MK_ISA_AVX2)) {
        if (bf16) mk_gemm_bf16_avx2(act, m, k, w, r0, r1, y, ldy);
        else if (x16) mk_gemm_x16_avx2(act, m, k, w, r0, r1, y, ldy);
        else mk_gemm_q_avx2(q4, act, m, k, w, r0, r1, y, ldy);
        return;
    }
#endif
    (void)isa;
    if (bf16) mk_gemm_bf16_scalar(act, m, k, w, r0, r1, y, ldy);
    else if (x16) mk_gemm_x16_scalar(act, m, k, w, r0, r1, y, ldy);
    else mk_gemm_q_scalar(q4, act, m, k, w, r0, r1, y, ldy);
}

void mk_gemm(mk_wfmt fmt, const void *act, size_t m, size_t k, const void *w, size_t r0, size_t r1, float *y,
             size_t ldy) {
    mk_gemm_isa(MK_ISA_BEST, fmt, act, m, k, w, r0, r1, y, ldy);
}
