#include "ckernels.h"
#include <string.h>

#include "dispatch.h"

#define MK_LANES 16
#define MK_MAX_ROWS 8

static inline float mk_bf16(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// 16 independent accumulators per row of x: the inner loop is one vector FMA per row, and the
// weight chunk is widened once for all rows.
MK_MULTIVERSION
void mk_gemm_bf16_small(const float *x, size_t m, size_t k, const uint16_t *w, size_t r0, size_t r1,
                        float *y, size_t ldy) {
    if (m > MK_MAX_ROWS) m = MK_MAX_ROWS;
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *wr = w + r * k;
        float acc[MK_MAX_ROWS][MK_LANES];
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < MK_LANES; j++) acc[i][j] = 0.0f;
        size_t c = 0;
        for (; c + MK_LANES <= k; c += MK_LANES) {
            float wv[MK_LANES];
            for (size_t j = 0; j < MK_LANES; j++) wv[j] = mk_bf16(wr[c + j]);
            for (size_t i = 0; i < m; i++) {
                const float *xi = x + i * k + c;
                for (size_t j = 0; j < MK_LANES; j++) acc[i][j] += xi[j] * wv[j];
            }
        }
        for (size_t i = 0; i < m; i++) {
            float s = 0.0f;
            for (size_t j = 0; j < MK_LANES; j++) s += acc[i][j];
            for (size_t t = c; t < k; t++) s += x[i * k + t] * mk_bf16(wr[t]);
            y[i * ldy + r] = s;
        }
    }
}
