#ifndef MIMO_CKERNELS_LAYOUT_H
#define MIMO_CKERNELS_LAYOUT_H

// How weights are stored, in one place: every kernel that reads a quantized row, an f16 scale or a
// bf16 value decodes it with these helpers, and the quantizer (loops.h) writes what they read.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------
// Half and bfloat16 scalars.

/// IEEE half to float in plain C, subnormals included (the f16 block scales and f16 weights).
static inline float mk_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) bits = sign | 0x7f800000u | (man << 13);
    else if (exp == 0) {
        float v = (float)man * 5.9604644775390625e-8f;
        return sign ? -v : v;
    } else bits = sign | ((exp + 112) << 23) | (man << 13);
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

/// A bfloat16 is the top half of a float32, so widening is exact: a 16-bit shift.
static inline float mk_bf16_to_float(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// ---------------------------------------------------------------------------------------------
// Block-quantized rows: 32 weights per block with an f16 scale (weight = scale · level), a row of
// k weights (k a multiple of 32, nb = k / 32 blocks) stored as its nb scales followed by the
// values, so the scales of a row load as a vector and no block straddles a scale:
// - q8_0: nb·2 bytes of scales, then nb·32 int8 (34 bytes per block, 8.5 bits per weight);
// - q4_0: nb·2 bytes of scales, then the blocks in pairs of 32 bytes, byte t of pair p holding
//   block 2p's value t (low nibble) and block 2p + 1's value t (high nibble), each stored + 8;
//   an odd last block takes 16 bytes, byte t holding its values t (low) and t + 16 (high)
//   (18 bytes per block, 4.5 bits per weight).
#define MK_QBLOCK 32
#define MK_Q8_BLOCK_BYTES 34
#define MK_Q4_BLOCK_BYTES 18

/// Bytes of one stored row of k weights.
static inline size_t mk_quant_row_bytes(size_t k, int q4) {
    return k / MK_QBLOCK * (q4 ? MK_Q4_BLOCK_BYTES : MK_Q8_BLOCK_BYTES);
}

/// Where block b's f16 scale is (the scales of consecutive blocks are consecutive), its value, and
/// where a row's values start.
static inline const uint8_t *mk_qrow_scale_at(const uint8_t *row, size_t b) { return row + 2 * b; }
static inline float mk_qrow_scale(const uint8_t *row, size_t b) { return mk_load_half(mk_qrow_scale_at(row, b)); }
static inline const uint8_t *mk_qrow_values(const uint8_t *row, size_t nb) { return row + 2 * nb; }

/// How a block's 32 values are packed where mk_qblock points: int8 as they are; NIB16: 16 bytes,
/// value t in byte t's low nibble and value t + 16 in its high nibble (q4's lone last block);
/// NIB_LO / NIB_HI: 32 bytes, value t in byte t's low / high nibble (q4's pairs).
enum { MK_VALS_I8, MK_VALS_NIB16, MK_VALS_NIB_LO, MK_VALS_NIB_HI };

/// Where q4 block b's values are among a row's values (mk_qrow_values), and how they are packed.
static inline const uint8_t *mk_q4_block_values(const uint8_t *values, size_t nb, size_t b, int *mode) {
    if (b + 1 == nb && nb % 2 == 1) {
        *mode = MK_VALS_NIB16;
        return values + 16 * b;
    }
    *mode = (b & 1) ? MK_VALS_NIB_HI : MK_VALS_NIB_LO;
    return values + 16 * (b & ~(size_t)1);
}

/// Block b of a row of nb blocks: its scale, where its values start, and how they are packed.
static inline const uint8_t *mk_qblock(int q4, const uint8_t *row, size_t nb, size_t b, float *scale, int *mode) {
    *scale = mk_qrow_scale(row, b);
    const uint8_t *values = mk_qrow_values(row, nb);
    if (q4) return mk_q4_block_values(values, nb, b, mode);
    *mode = MK_VALS_I8;
    return values + MK_QBLOCK * b;
}

/// Values 4g ..< 4g + 4 of a block as 4 bytes: q4 as the stored nibble (level + 8), q8 as stored.
static inline uint32_t mk_qgroup(const uint8_t *v, int mode, int g) {
    uint32_t u;
    switch (mode) {
    case MK_VALS_I8: memcpy(&u, v + 4 * g, 4); return u;
    case MK_VALS_NIB16: memcpy(&u, v + 4 * (g & 3), 4); return g < 4 ? u & 0x0f0f0f0fu : (u >> 4) & 0x0f0f0f0fu;
    case MK_VALS_NIB_LO: memcpy(&u, v + 4 * g, 4); return u & 0x0f0f0f0fu;
    default: memcpy(&u, v + 4 * g, 4); return (u >> 4) & 0x0f0f0f0fu;
    }
}

/// Value j of block b as stored: q8's int8, or q4's nibble (level + 8).
static inline int mk_qvalue(int q4, const uint8_t *row, size_t nb, size_t b, int j) {
    float scale;
    int mode;
    const uint8_t *v = mk_qblock(q4, row, nb, b, &scale, &mode);
    switch (mode) {
    case MK_VALS_I8: return (int8_t)v[j];
    case MK_VALS_NIB16: return j < 16 ? (v[j] & 0x0f) : (v[j - 16] >> 4);
    case MK_VALS_NIB_LO: return v[j] & 0x0f;
    default: return v[j] >> 4;
    }
}

#endif
