#ifndef MIMO_CKERNELS_HALF_H
#define MIMO_CKERNELS_HALF_H

#include <stdint.h>
#include <string.h>

// IEEE half ⇄ float in plain C (the f16 block scales and f16 weights), subnormals included.
static inline float mk_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) bits = sign | 0x7f800000u | (man << 13);
    else if (exp == 0) { float v = (float)man * 5.9604644775390625e-8f; return sign ? -v : v; }
    else bits = sign | ((exp + 112) << 23) | (man << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/// The (possibly unaligned) f16 at `p`, as float.
static inline float mk_load_half(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return mk_half_to_float(h);
}

#endif
