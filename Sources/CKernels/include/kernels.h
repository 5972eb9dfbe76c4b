#ifndef MIMO_CKERNELS_KERNELS_H
#define MIMO_CKERNELS_KERNELS_H

// One way to choose an instruction set: a table of function pointers, filled once at start-up from
// the CPU's features (scalar.c first, then each instruction set's file overrides what it has a
// faster version of). The mk_* entry points of ckernels.h and gemm.h call through the active
// table; tests build tables for chosen feature sets to check every path against the scalar one.
#include <stddef.h>
#include <stdint.h>

/// The x86 features the kernels use. Each implies the ones before it: a request for AVX-512 VNNI
/// without AVX-512 asks for nothing beyond AVX2.
typedef struct {
    int avx2;          // AVX2 with FMA and F16C (x86-64-v3's vector core)
    int avx512;        // AVX-512 F, BW and VL
    int avx512_vnni;   // int8/int16 dot products (`vpdpbusd`, `vpdpwssd`)
    int avx512_bf16;   // bf16 dot products (`vdpbf16ps`)
} mk_x86_features;

/// The Arm (aarch64) features: Advanced SIMD is the architecture's baseline; the dot-product
/// extension (SDOT) speeds up the int8 products.
typedef struct {
    int neon;
    int dotprod;
} mk_arm_features;

typedef struct mk_kernels {
    /// What the table runs, e.g. "scalar", "avx2", "avx512+vnni+bf16", "neon+dotprod".
    char name[32];

    // Vectorised loops (loops.h), compiled once per instruction set.
    void (*exp_f32)(const float *x, float *y, size_t n);
    void (*gelu_f32)(float *x, size_t n);
    void (*silu_mul_f32)(float *gate, const float *up, size_t n);
    void (*softmax_f32)(float *x, size_t n, float scale);
    void (*bf16_to_f32)(const uint16_t *src, float *dst, size_t n);
    void (*f16_to_f32)(const uint16_t *src, float *dst, size_t n);
    void (*f32_to_f16)(const float *src, uint16_t *dst, size_t n);
    uint64_t (*read_sum)(const uint64_t *p, size_t n);
    void (*attend_f16)(const float *q, size_t n, size_t qstride, const uint16_t *k, const uint16_t *v,
                       size_t kvstride, size_t m, size_t d, size_t offset, int causal, float scale, float *out,
                       size_t ostride, float *scores);
    void (*quantize_q8_0)(const float *src, size_t n, uint8_t *dst);
    void (*quantize_q4_0)(const float *src, size_t n, uint8_t *dst);
    void (*dequantize_q8_0)(const uint8_t *src, size_t n, float *dst);
    void (*dequantize_q4_0)(const uint8_t *src, size_t n, float *dst);
    void (*quantize_activations)(const float *x, size_t k, int16_t *qx, float *dx, float *sx);
    void (*quantize_activations_i8)(const float *x, size_t k, int8_t *qx, float *dx, float *sx);

    // Decode steps (m ≤ 8 activation rows; ckernels.h describes each product).
    void (*qdot)(const int16_t *qx, const float *dx, const float *sx, size_t m, size_t k, const uint8_t *w, int q4,
                 size_t r0, size_t r1, float *y, size_t ldy);
    void (*qdot_q4_i8)(const int8_t *qx, const float *dx, const float *sx, size_t k, const uint8_t *w, size_t r0,
                       size_t r1, float *y);
    /// Whether qdot_q4_i8 is a vector kernel (else int16 activations are as fast and finer).
    int qdot_q4_i8_native;
    void (*gemm_bf16_small)(const float *x, size_t m, size_t k, const uint16_t *w, size_t r0, size_t r1, float *y,
                            size_t ldy);

    // Prefill (gemm.h): one activation row into the prepared buffer, then the product.
    void (*prepare_q_row)(const float *x, size_t k, int32_t offset, int8_t *q, float *d, int32_t *c);
    void (*prepare_x16_row)(const float *x, size_t k, int16_t *q, float *d);
    void (*prepare_bf16_row)(const float *x, size_t k, uint16_t *o);
    void (*gemm_q)(int q4, const void *act, size_t m, size_t k, const uint8_t *w, size_t r0, size_t r1, float *y,
                   size_t ldy);
    void (*gemm_x16)(const void *act, size_t m, size_t k, const uint8_t *w, size_t r0, size_t r1, float *y,
                     size_t ldy);
    void (*gemm_bf16)(const uint16_t *x, size_t m, size_t k, const uint16_t *w, size_t r0, size_t r1, float *y,
                      size_t ldy);
    /// Whether gemm_bf16 runs on native bf16 dot products (see mk_gemm_bf16_native).
    int gemm_bf16_native;
} mk_kernels;

/// The table for this CPU, resolved once at start-up.
const mk_kernels *mk_kernels_active(void);

/// This CPU's features (all zero on the other architecture).
mk_x86_features mk_cpu_x86(void);
mk_arm_features mk_cpu_arm(void);

/// The portable C kernels: the reference every vector path is tested against.
void mk_kernels_scalar(mk_kernels *table);

/// A table for the given features: 1, or 0 (table untouched) when this CPU lacks one of them.
int mk_kernels_x86(mk_x86_features features, mk_kernels *table);
int mk_kernels_arm(mk_arm_features features, mk_kernels *table);

#endif
