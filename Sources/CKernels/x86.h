#ifndef MIMO_CKERNELS_X86_H
#define MIMO_CKERNELS_X86_H

// What the AVX2 and AVX-512 files share: the decode kernels' row cases and prefetch distances, and
// the prefill GEMM's blocking and panel packing (plain C, the same for both; see x86_avx512.c for
// the GEMM's design).
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "prepared.h"


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

// Prepared activations are taken in chunks of about this many bytes (of the 32 MB L3, which both
// threads share) that stay in L3 while every weight panel goes past them; a larger m streams
// the weight again per chunk, which costs little (one weight byte per ~2000 int8 operations).
#ifndef MK_ACT_CHUNK_BYTES
#define MK_ACT_CHUNK_BYTES ((size_t)12 << 20)
#endif
// bf16 panels cover at most this much of k so a 64-row panel (256 KB) stays well inside L2.
#define MK_BF16_KC_MAX 2048

static inline size_t mk_min(size_t a, size_t b) { return a < b ? a : b; }

// Panel of NR rows from row r (rows beyond `rows` are zero with scale 0): dword (b, g, l) at
// panel[(b·8 + g)·NR + l] holds values 4g ..< 4g + 4 of block b of row r + l, xor `flip` (0x80
// per byte turns q8's int8 into level + 128); scales at dw[b·NR + l]. Lanes l0 ..< l1 only.
static inline void mk_pack_q_lanes(int q4, uint32_t flip, const uint8_t *w, size_t k, size_t r, size_t rows, size_t nr,
                            size_t l0, size_t l1, uint32_t *panel, float *dw) {
    size_t nb = k / MK_QBLOCK, rb = mk_quant_row_bytes(k, q4);
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

static inline void mk_pack_q(int q4, uint32_t flip, const uint8_t *w, size_t k, size_t r, size_t rows, size_t nr,
                      uint32_t *panel, float *dw) {
    mk_pack_q_lanes(q4, flip, w, k, r, rows, nr, 0, nr, panel, dw);
}

// q8_0_x16 panel over blocks [b0, b0 + nbc): dword (b, p, l) at panel[((b − b0)·16 + p)·NR + l]
// holds values 2p and 2p + 1 of block b of row r + l as int16 (the pair `vpdpwssd` and
// `vpmaddwd` multiply per lane); scales at dw[(b − b0)·NR + l]. Lanes l0 ..< l1 only.
static inline void mk_pack_x16_lanes(const uint8_t *w, size_t k, size_t r, size_t rows, size_t nr, size_t b0, size_t nbc,
                              size_t l0, size_t l1, uint32_t *panel, float *dw) {
    size_t nb = k / MK_QBLOCK, rb = mk_quant_row_bytes(k, 0);
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
static inline size_t mk_x16_kcb(size_t nb) {
    size_t n = (nb + 127) / 128;
    return (nb + n - 1) / n;
}

// bf16 panel over k-chunk [k0, k0 + kc): dword (p, l) at panel[p·NR + l] holds row r + l's
// values k0 + 2p and k0 + 2p + 1 (the pair `vdpbf16ps` multiplies per lane).
static inline void mk_pack_bf16_lanes(const uint16_t *w, size_t k, size_t r, size_t rows, size_t nr, size_t k0, size_t kc,
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

static inline void mk_pack_bf16(const uint16_t *w, size_t k, size_t r, size_t rows, size_t nr, size_t k0, size_t kc,
                         uint32_t *panel) {
    mk_pack_bf16_lanes(w, k, r, rows, nr, k0, kc, 0, nr, panel);
}

// Activation rows per chunk: a multiple of 12 (every MR used here divides it).
static inline size_t mk_row_chunk(size_t row_bytes) {
    size_t mc = MK_ACT_CHUNK_BYTES / row_bytes / 12 * 12;
    return mc < 12 ? 12 : mc;
}

// Rows for the next tile when `left` rows remain: MR, except that the last tiles share the
// remainder evenly (9 rows run as 3 + 3 + 3, not 4 + 4 + 1), since a tile costs a full pass
// over the panel however few rows it has.
static inline size_t mk_tile_rows(size_t left, size_t mr) {
    size_t tiles = (left + mr - 1) / mr;
    return tiles <= 2 ? (left + tiles - 1) / tiles : mr;
}

// Balanced k-chunks for bf16 panels (multiples of 32, at most MK_BF16_KC_MAX).
static inline size_t mk_bf16_kc(size_t k) {
    size_t n = (k + MK_BF16_KC_MAX - 1) / MK_BF16_KC_MAX;
    size_t kc = (k + n - 1) / n;
    return (kc + 31) / 32 * 32;
}

#endif
