#ifndef MIMO_CKERNELS_NEON_H
#define MIMO_CKERNELS_NEON_H

// The aarch64 kernels of neon.c, which qdot.c and gemm.c dispatch to; activations arrive
// unpacked from the buffers that gemm.c lays out.
#if defined(__aarch64__)
#include <stddef.h>
#include <stdint.h>

/// Whether this CPU has the dot-product extension (SDOT), which neon.c uses where it helps.
int mk_neon_has_dotprod(void);

void mk_qdot_neon(const int16_t *qx, const float *dx, size_t m, size_t k, const uint8_t *w, int q4, size_t r0,
                  size_t r1, float *y, size_t ldy);
void mk_qdot_q4_i8_neon(int dotprod, const int8_t *qx, const float *dx, const float *sx, size_t k, const uint8_t *w,
                        size_t r0, size_t r1, float *y);

/// q8_0 / q4_0 against int8 levels q [m][k] with scales d and offset corrections c [m][nb].
void mk_gemm_q_neon(int q4, int dotprod, const int8_t *q, const float *d, const int32_t *c, size_t m, size_t k,
                    const uint8_t *w, size_t r0, size_t r1, float *y, size_t ldy);
/// q8_0 against int16 levels q [m][k] with scales d [m][nb].
void mk_gemm_x16_neon(const int16_t *q, const float *d, size_t m, size_t k, const uint8_t *w, size_t r0, size_t r1,
                      float *y, size_t ldy);
void mk_gemm_bf16_neon(const uint16_t *x, size_t m, size_t k, const uint16_t *w, size_t r0, size_t r1, float *y,
                       size_t ldy);
#endif

#endif
