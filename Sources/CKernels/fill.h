#ifndef MIMO_CKERNELS_FILL_H
#define MIMO_CKERNELS_FILL_H

// Each instruction set's file fills the table slots it has kernels for (dispatch.c calls them in
// order, so a later, faster one overrides an earlier one).
#include "kernels.h"

void mk_fill_scalar(mk_kernels *t);
#if defined(__x86_64__) && defined(__clang__)
void mk_fill_avx2(mk_kernels *t);
void mk_fill_avx512(mk_kernels *t, int vnni, int bf16);
#endif
#if defined(__aarch64__)
void mk_fill_neon(mk_kernels *t, int dotprod);
#endif

#endif
