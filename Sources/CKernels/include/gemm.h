#ifndef MIMO_CKERNELS_GEMM_H
#define MIMO_CKERNELS_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "ckernels.h"

// Prefill matrix products y = x·Wᵀ for many activation rows (m ≳ 9) against weights kept as
// stored (mmapped, read-only): q8_0 / q4_0 run as int8 dot products of quantized activations
// (AVX-512 VNNI `vpdpbusd`, or AVX2 `vpmaddubsw`), bf16 as bf16 dot products (AVX512_BF16
// `vdpbf16ps`, or widening + FMA on AVX2). Each call packs a panel of weight rows at a time into
// a private buffer that stays in L2 while every activation row streams past it, so the weight is
// read from memory once per call (once per ~12 MB of prepared activations when m is larger:
// ~2400 rows at k = 4096, ~900 at k = 11008 for int8).

/// MK_W_Q8_0_X16: q8_0 weights against int16 activations (d = max|x| / 32767, as the decode
/// path mk_qdot uses), for when int8 activation rounding is too coarse (it adds ~0.5 % relative
/// error per product, about as much as q8_0 weight rounding itself); half the int8 speed.
typedef enum { MK_W_Q8_0 = 0, MK_W_Q4_0 = 1, MK_W_BF16 = 2, MK_W_Q8_0_X16 = 3 } mk_wfmt;

/// Bytes of the prepared-activation buffer for m rows of k (k a multiple of 32). Any alignment
/// works; 64-byte alignment saves split cache lines.
size_t mk_gemm_act_bytes(mk_wfmt fmt, size_t m, size_t k);

/// Converts f32 activations x [m][k] (rows i0 ..< i1 only, so callers can split the rows between
/// threads; the row count m fixes the buffer layout and must be the same for every caller) into
/// `act`. q8_0 / q4_0: int8 per 32-block, round to nearest (ties to even), d = max|x| / 127, with
/// the block's f32 scale and its sum of levels (the weights enter the int8 products offset to be
/// unsigned, and the sum removes the offset). q8_0_x16: int16 per 32-block, d = max|x| / 32767,
/// with the block's f32 scale. bf16: bfloat16, round to nearest even.
void mk_gemm_prepare(mk_wfmt fmt, const float *x, size_t m, size_t k, size_t i0, size_t i1, void *act);

/// y[i·ldy + r] = Σ_k x[i][k] · w[r][k] for every i < m and weight rows r0 ..< r1 (callers split
/// the rows between threads; splits at multiples of 192 rows keep every panel full: 48 rows for
/// the int8 / int16 paths, 64 for bf16). `w` is the
/// whole [rows][k] weight in its stored layout (layout.h), `act` from mk_gemm_prepare with the
/// same fmt, m and k. Thread-safe (no shared state): each call mallocs its own panel buffer,
/// 48·k·1.125 bytes for q8_0 / q4_0 (≈ 600 KB at k = 11008), ≤ 408 KB for q8_0_x16 and
/// ≤ 256 KB for bf16. No alignment needed anywhere; y is written at columns r0 ..< r1 only.
void mk_gemm(mk_wfmt fmt, const void *act, size_t m, size_t k, const void *w, size_t r0, size_t r1, float *y,
             size_t ldy);

/// Whether MK_W_BF16 runs on native bf16 dot products (AVX512_BF16). Elsewhere it widens both
/// sides to f32 FMAs, which OpenBLAS's sgemm on widened weights outruns (Zen 3: codec RTF 0.67
/// against 0.82), so callers take that path instead.
int mk_gemm_bf16_native(void);

/// mk_gemm on a given kernel table (kernels.h), for testing every path against the scalar one. The
/// integer paths give the same floats as the scalar path: block sums are exact and the f32
/// accumulation is the same sequence of FMAs.
void mk_gemm_with(const mk_kernels *table, mk_wfmt fmt, const void *act, size_t m, size_t k, const void *w, size_t r0,
                  size_t r1, float *y, size_t ldy);

#endif
