// The kernel table: this CPU's features read once, the table built from them once at start-up,
// and the public entry points of ckernels.h and gemm.h calling through it.
#include <stdio.h>
#include <string.h>

#include "ckernels.h"
#include "fill.h"
#include "kernels.h"
#include "prepared.h"
#include "target.h"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

mk_x86_features mk_cpu_x86(void) {
    mk_x86_features f = {0, 0, 0, 0};
#if defined(__x86_64__) && defined(__clang__)
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    f.avx512 = f.avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl");
    f.avx512_vnni = f.avx512 && __builtin_cpu_supports("avx512vnni");
    f.avx512_bf16 = f.avx512 && __builtin_cpu_supports("avx512bf16");
#endif
    return f;
}

mk_arm_features mk_cpu_arm(void) {
    mk_arm_features f = {0, 0};
#if defined(__aarch64__)
    f.neon = 1;
#if defined(__linux__)
    f.dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#elif defined(__ARM_FEATURE_DOTPROD)
    f.dotprod = 1;   // the build's baseline has it (every arm64 Mac does)
#endif
#endif
    return f;
}

void mk_kernels_scalar(mk_kernels *table) { mk_fill_scalar(table); }

int mk_kernels_x86(mk_x86_features want, mk_kernels *table) {
#if defined(__x86_64__) && defined(__clang__)
    mk_x86_features cpu = mk_cpu_x86();
    // Each feature implies the ones before it.
    want.avx512 = want.avx512 && want.avx2;
    want.avx512_vnni = want.avx512_vnni && want.avx512;
    want.avx512_bf16 = want.avx512_bf16 && want.avx512;
    if ((want.avx2 && !cpu.avx2) || (want.avx512 && !cpu.avx512) || (want.avx512_vnni && !cpu.avx512_vnni) ||
        (want.avx512_bf16 && !cpu.avx512_bf16))
        return 0;
    mk_kernels t;
    mk_fill_scalar(&t);
    if (want.avx2) {
        mk_fill_avx2(&t);
        snprintf(t.name, sizeof t.name, "avx2");
    }
    if (want.avx512) {
        mk_fill_avx512(&t, want.avx512_vnni, want.avx512_bf16);
        snprintf(t.name, sizeof t.name, "avx512%s%s", want.avx512_vnni ? "+vnni" : "", want.avx512_bf16 ? "+bf16" : "");
    }
    *table = t;
    return 1;
#else
    (void)want;
    (void)table;
    return 0;
#endif
}

int mk_kernels_arm(mk_arm_features want, mk_kernels *table) {
#if defined(__aarch64__)
    mk_arm_features cpu = mk_cpu_arm();
    want.dotprod = want.dotprod && want.neon;
    if (want.dotprod && !cpu.dotprod) return 0;
    mk_kernels t;
    mk_fill_scalar(&t);
    if (want.neon) {
        mk_fill_neon(&t, want.dotprod);
        snprintf(t.name, sizeof t.name, want.dotprod ? "neon+dotprod" : "neon");
    }
    *table = t;
    return 1;
#else
    (void)want;
    (void)table;
    return 0;
#endif
}

// Written once, before main (and again, identically, if a kernel runs before this constructor).
static mk_kernels mk_active_table;
static int mk_active_ready;

__attribute__((constructor)) static void mk_resolve_kernels(void) {
    mk_kernels t;
    if (!mk_kernels_x86(mk_cpu_x86(), &t) && !mk_kernels_arm(mk_cpu_arm(), &t)) mk_kernels_scalar(&t);
    mk_active_table = t;
    __atomic_store_n(&mk_active_ready, 1, __ATOMIC_RELEASE);
}

const mk_kernels *mk_kernels_active(void) {
    if (__builtin_expect(!__atomic_load_n(&mk_active_ready, __ATOMIC_ACQUIRE), 0)) mk_resolve_kernels();
    return &mk_active_table;
}

#define MK_K (mk_kernels_active())

// ---------------------------------------------------------------------------------------------
// ckernels.h

void mk_exp_f32(const float *x, float *y, size_t n) { MK_K->exp_f32(x, y, n); }
void mk_gelu_f32(float *x, size_t n) { MK_K->gelu_f32(x, n); }
void mk_silu_mul_f32(float *gate, const float *up, size_t n) { MK_K->silu_mul_f32(gate, up, n); }
void mk_softmax_f32(float *x, size_t n, float scale) { MK_K->softmax_f32(x, n, scale); }
void mk_bf16_to_f32(const uint16_t *src, float *dst, size_t n) { MK_K->bf16_to_f32(src, dst, n); }
void mk_f16_to_f32(const uint16_t *src, float *dst, size_t n) { MK_K->f16_to_f32(src, dst, n); }
void mk_f32_to_f16(const float *src, uint16_t *dst, size_t n) { MK_K->f32_to_f16(src, dst, n); }
uint64_t mk_read_sum(const uint64_t *p, size_t n) { return MK_K->read_sum(p, n); }

void mk_attend_f16(const float *q, size_t n, size_t qstride, const uint16_t *k, const uint16_t *v, size_t kvstride,
                   size_t m, size_t d, size_t offset, int causal, float scale, float *out, size_t ostride,
                   float *scores) {
    MK_K->attend_f16(q, n, qstride, k, v, kvstride, m, d, offset, causal, scale, out, ostride, scores);
}

void mk_quantize_q8_0(const float *src, size_t n, uint8_t *dst) { MK_K->quantize_q8_0(src, n, dst); }
void mk_quantize_q4_0(const float *src, size_t n, uint8_t *dst) { MK_K->quantize_q4_0(src, n, dst); }
void mk_dequantize_q8_0(const uint8_t *src, size_t n, float *dst) { MK_K->dequantize_q8_0(src, n, dst); }
void mk_dequantize_q4_0(const uint8_t *src, size_t n, float *dst) { MK_K->dequantize_q4_0(src, n, dst); }

void mk_quantize_activations(const float *x, size_t k, int16_t *qx, float *dx, float *sx) {
    MK_K->quantize_activations(x, k, qx, dx, sx);
}

void mk_quantize_activations_i8(const float *x, size_t k, int8_t *qx, float *dx, float *sx) {
    MK_K->quantize_activations_i8(x, k, qx, dx, sx);
}

// The kernels keep up to 8 rows' accumulators in registers.
#define MK_DECODE_ROWS 8

void mk_qdot(const int16_t *qx, const float *dx, const float *sx, size_t m, size_t k, const uint8_t *w, int q4,
             size_t r0, size_t r1, float *y, size_t ldy) {
    if (m > MK_DECODE_ROWS) m = MK_DECODE_ROWS;
    if (m == 0 || r1 <= r0) return;
    MK_K->qdot(qx, dx, sx, m, k, w, q4, r0, r1, y, ldy);
}

void mk_qdot_q4_i8(const int8_t *qx, const float *dx, const float *sx, size_t k, const uint8_t *w, size_t r0, size_t r1,
                   float *y) {
    if (r1 <= r0) return;
    MK_K->qdot_q4_i8(qx, dx, sx, k, w, r0, r1, y);
}

int mk_qdot_q4_i8_native(void) { return MK_K->qdot_q4_i8_native; }

void mk_gemm_bf16_small(const float *x, size_t m, size_t k, const uint16_t *w, size_t r0, size_t r1, float *y,
                        size_t ldy) {
    if (m > MK_DECODE_ROWS) m = MK_DECODE_ROWS;
    if (m == 0 || r1 <= r0) return;
    MK_K->gemm_bf16_small(x, m, k, w, r0, r1, y, ldy);
}

// ---------------------------------------------------------------------------------------------
// gemm.h

size_t mk_gemm_act_bytes(mk_wfmt fmt, size_t m, size_t k) {
    return mk_prepared_bytes(fmt == MK_W_BF16, fmt == MK_W_Q8_0_X16, m, k);
}

void mk_gemm_prepare(mk_wfmt fmt, const float *x, size_t m, size_t k, size_t i0, size_t i1, void *act) {
    const mk_kernels *t = MK_K;
    size_t nb = k / MK_QBLOCK;
    if (fmt == MK_W_BF16) {
        for (size_t i = i0; i < i1; i++) t->prepare_bf16_row(x + i * k, k, (uint16_t *)act + i * k);
    } else if (fmt == MK_W_Q8_0_X16) {
        int16_t *q = mk_x16_levels(act);
        float *d = mk_x16_scales(act, m, k);
        for (size_t i = i0; i < i1; i++) t->prepare_x16_row(x + i * k, k, q + i * k, d + i * nb);
    } else {
        mk_qact a = mk_qact_view(act, m, k);
        int32_t offset = fmt == MK_W_Q4_0 ? 8 : 128;
        for (size_t i = i0; i < i1; i++) t->prepare_q_row(x + i * k, k, offset, a.q + i * k, a.d + i * nb, a.c + i * nb);
    }
}

int mk_gemm_bf16_native(void) { return MK_K->gemm_bf16_native; }

void mk_gemm_with(const mk_kernels *t, mk_wfmt fmt, const void *act, size_t m, size_t k, const void *w, size_t r0,
                  size_t r1, float *y, size_t ldy) {
    if (m == 0 || r1 <= r0) return;
    switch (fmt) {
    case MK_W_BF16: t->gemm_bf16(act, m, k, w, r0, r1, y, ldy); break;
    case MK_W_Q8_0_X16: t->gemm_x16(act, m, k, w, r0, r1, y, ldy); break;
    default: t->gemm_q(fmt == MK_W_Q4_0, act, m, k, w, r0, r1, y, ldy); break;
    }
}

void mk_gemm(mk_wfmt fmt, const void *act, size_t m, size_t k, const void *w, size_t r0, size_t r1, float *y,
             size_t ldy) {
    mk_gemm_with(MK_K, fmt, act, m, k, w, r0, r1, y, ldy);
}
