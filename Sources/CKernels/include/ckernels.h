#ifndef MIMO_CKERNELS_H
#define MIMO_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels.h"
#include "layout.h"

// The hot loops. Each entry point calls the kernel table (kernels.h) resolved for this CPU at
// start-up, so one binary runs any x86-64 or aarch64 CPU at its best instruction set.

/// y[i] = exp(x[i]) with a Cephes-style polynomial (about 1 ulp); x may alias y.
void mk_exp_f32(const float *x, float *y, size_t n);

/// In place: x[i] = gelu(x[i]) = 0.5 x (1 + erf(x / sqrt 2)), the exact (erf) GELU of PyTorch,
/// with erf from a rational approximation of relative error below 1.2e-7.
void mk_gelu_f32(float *x, size_t n);

/// In place: gate[i] = silu(gate[i]) · up[i] (Qwen2's gated MLP), silu(x) = x / (1 + e^−x).
void mk_silu_mul_f32(float *gate, const float *up, size_t n);

/// Softmax of x[0..<n] in place after scaling by `scale` (max subtracted first).
void mk_softmax_f32(float *x, size_t n, float scale);

/// y[i][r] = Σ_k x[i][k] · w[r][k] for m ≤ 8 rows of x (decode steps): each bf16 weight row is
/// read once for all rows of x, with no f32 copy of the weight. Rows `r0 ..< r1` only, so
/// callers can split the weight between threads. x is [m][k] (stride k), y is [m][ldy].
void mk_gemm_bf16_small(const float *x, size_t m, size_t k, const uint16_t *w, size_t r0, size_t r1,
                        float *y, size_t ldy);

/// Block-quantized weights (the layout of layout.h): one row of n weights to its stored layout,
/// and back.
void mk_quantize_q8_0(const float *src, size_t n, uint8_t *dst);
void mk_quantize_q4_0(const float *src, size_t n, uint8_t *dst);
void mk_dequantize_q8_0(const uint8_t *src, size_t n, float *dst);
void mk_dequantize_q4_0(const uint8_t *src, size_t n, float *dst);

/// Quantizes activations to int16 in 32-wide blocks: qx = round(x / dx), dx = max|x| / 32767,
/// and sx = Σ qx per block (which the q4 kernels need for the + 8 offset).
void mk_quantize_activations(const float *x, size_t k, int16_t *qx, float *dx, float *sx);

/// y[i][r] = Σ_blocks dx·dw·(qx · qw) for q8_0 (q4 = 0) or q4_0 (q4 = 1) weights, m ≤ 8 rows of
/// int16 activations (`qx` [m][k], `dx` and `sx` [m][k/32]), weight rows r0 ..< r1. Picks the
/// best ISA.
void mk_qdot(const int16_t *qx, const float *dx, const float *sx, size_t m, size_t k, const uint8_t *w, int q4,
             size_t r0, size_t r1, float *y, size_t ldy);

/// Σ p[0..<n] (wrapping): a read pass over memory for measuring its bandwidth.
uint64_t mk_read_sum(const uint64_t *p, size_t n);

/// Narrow float32 to IEEE half (round to nearest even, saturating at ±65504): compact KV caches.
void mk_f32_to_f16(const float *src, uint16_t *dst, size_t n);

/// One attention head for `n` queries over `m` keys and values stored as IEEE half: q [n][qstride],
/// key/value row j at k/v + j·kvstride (d values each). Query i sits at position offset + i and,
/// with `causal`, sees keys 0 ... offset + i, else all m. Softmax of q·k · scale; out [n][ostride].
/// `scores` is scratch for m floats.
void mk_attend_f16(const float *q, size_t n, size_t qstride, const uint16_t *k, const uint16_t *v, size_t kvstride,
                   size_t m, size_t d, size_t offset, int causal, float scale, float *out, size_t ostride, float *scores);

/// q4 decode steps (one activation row) with int8 activations (AVX-512 VNNI `vpdpbusd` or AVX2
/// `vpmaddubsw`; on aarch64 SDOT, or NEON widening products without it): qx = round(x / dx) in
/// 32-wide blocks, dx = max|x| / 127, sx = Σ qx per block.
void mk_quantize_activations_i8(const float *x, size_t k, int8_t *qx, float *dx, float *sx);
/// y[r] = Σ_blocks dx·dw·(qx · qw) for q4_0 rows r0 ..< r1 (scalar where AVX2 and NEON are missing).
void mk_qdot_q4_i8(const int8_t *qx, const float *dx, const float *sx, size_t k, const uint8_t *w, size_t r0, size_t r1,
                   float *y);
/// Whether mk_qdot_q4_i8 runs a vector kernel on this CPU (else int16 activations are as fast and
/// finer).
int mk_qdot_q4_i8_native(void);

/// Widen bfloat16 / IEEE half to float32.
void mk_bf16_to_f32(const uint16_t *src, float *dst, size_t n);
void mk_f16_to_f32(const uint16_t *src, float *dst, size_t n);

/// A persistent pool of `threads − 1` worker threads (the caller is the last worker).
typedef struct mk_pool mk_pool;
typedef void (*mk_task_fn)(void *ctx, size_t index);
mk_pool *mk_pool_create(int threads);
void mk_pool_destroy(mk_pool *pool);
/// Runs fn(ctx, i) for every i < count across the pool and the caller; returns when all are
/// done. A call made while the pool is busy (from a task, or from another thread) runs inline.
void mk_pool_run(mk_pool *pool, mk_task_fn fn, void *ctx, size_t count);

/// Activations of tens of MB are allocated and freed per layer; by default glibc serves each
/// with a fresh mmap and unmaps it on free, so every layer pays the page faults again. This
/// keeps freed memory in the heap (a process-wide choice: the executable makes it at start-up).
void mk_keep_freed_memory(void);

/// Memory for weights that decode steps stream: 2 MB aligned and, on Linux, backed by
/// transparent huge pages where the system allows them, so the stream is not cut by a TLB miss
/// (and the hardware prefetchers' stop) every 4 KB. NULL when out of memory.
void *mk_alloc_streamed(size_t bytes);
void mk_free_streamed(void *p);

// Prefill GEMMs (many activation rows).
#include "gemm.h"

#endif
