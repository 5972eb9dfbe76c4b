#ifndef MIMO_CKERNELS_TARGET_H
#define MIMO_CKERNELS_TARGET_H

// How every kernel file is compiled, without per-target compiler flags (a package that sets them
// through SwiftPM's unsafeFlags cannot be depended on): floating-point contraction across
// statements, so `a * b + c` split over lines still becomes one FMA where the target has FMA, as
// the hand-written kernels assume (clang's default contracts only within one expression).
#if defined(__clang__)
#pragma clang fp contract(fast)
#endif

// x86 files compile every function between MK_TARGET_BEGIN(...) and MK_TARGET_END for their
// instruction set (system headers must come before, or their functions would be retargeted).
#if defined(__clang__)
#define MK_PRAGMA(x) _Pragma(#x)
#define MK_TARGET_BEGIN(features) MK_PRAGMA(clang attribute push(__attribute__((target(features))), apply_to = function))
#define MK_TARGET_END MK_PRAGMA(clang attribute pop)
#endif

#endif
