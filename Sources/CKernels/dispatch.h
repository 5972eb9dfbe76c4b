#ifndef MIMO_CKERNELS_DISPATCH_H
#define MIMO_CKERNELS_DISPATCH_H

// Element-wise loops are compiled for AVX-512, x86-64-v3 (AVX2 with FMA and F16C) and baseline
// x86-64; the loader picks the best clone for the CPU (ifunc), so one binary runs everywhere.
// A plain "avx2" clone would lack F16C and FMA: every half conversion of the f16 KV cache would
// become a library call.
#if defined(__x86_64__) && defined(__clang__) && defined(__linux__)
#define MK_MULTIVERSION __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
#else
#define MK_MULTIVERSION
#endif

// What the default quantized entry points ask for: the platform's best, which each
// mk_*_isa lowers to what the CPU has.
#if defined(__aarch64__)
#define MK_ISA_BEST MK_ISA_NEON_DOTPROD
#else
#define MK_ISA_BEST MK_ISA_AVX512_VNNI
#endif

#endif
