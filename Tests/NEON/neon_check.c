// Every NEON path of CKernels against its scalar path (mk_kernels_scalar), on aarch64 (Tools/
// neon-check.sh builds this for it and runs it under qemu-user): the decode products mk_qdot
// and mk_qdot_q4_i8, and the prefill GEMM in its four weight formats, on random data of awkward
// shapes — odd block counts (the q4 lone last block), partial groups of four blocks, row ranges
// starting off zero, ending off the 4-row groups and the GEMM's panels and at the last row —
// plus one block of zero activations per row and a case at the integer extremes (every
// product at its maximum). Every input ends where an unreadable page begins, so a read past
// its end (a kernel's padding lanes, the lone last block) faults.
//
// The bars are those of Tests/TensorTests/QuantizationTests.swift: the decode kernels sum the
// exact integer block sums in another order than the scalar path, so they may differ by a few
// ulps of the output, at most 1e-4 for outputs of magnitude ≲ 20 (the random data is scaled to
// that; the extreme case scales the bar with its outputs); the integer GEMMs use the scalar
// path's sequence of FMAs and must agree bit for bit; bf16 sums in its own order, within the
// rounding bound 2k·2⁻²⁴·Σ|x·w|. Each check also requires the default entry point to pick the
// best NEON path, nothing outside the asked rows to be written, and non-trivial outputs.
//
// Usage: neon_check [--dotprod yes|no] — the dot-product extension this CPU must report, so a
// run meant for one mk_qdot_q4_i8 / GEMM variant cannot pass by testing only the other.
#include "ckernels.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SENTINEL (-7777.0f)

// The kernel tables under test (kernels.h), set up in main.
static mk_kernels scalar, neon, neon_dotprod;

static int passed, failed;

static void check(int ok, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs(ok ? "ok    " : "FAIL  ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    if (ok) passed++;
    else failed++;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

// n bytes that end where a PROT_NONE page begins.
static void *guarded(size_t n) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), span = (n + page - 1) / page * page;
    uint8_t *base = mmap(NULL, span + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED || mprotect(base + span, page, PROT_NONE) != 0) {
        perror("mmap");
        exit(1);
    }
    return base + span - n;
}

static void unguard(void *p, size_t n) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), span = (n + page - 1) / page * page;
    munmap((uint8_t *)p + n - span, span + page);
}

// The Swift tests' generator: uniform in [−amp, amp).
static void fill(float *x, size_t n, uint64_t seed, float amp) {
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = ((float)(s >> 40) / (float)(1 << 24) * 2 - 1) * amp;
    }
}

// Activations of rows × k: random, scaled by √(512 / k) past k = 512 so outputs stay ≲ 20, with
// block 1 of every row zero (a zero block scale). `extreme`: x and w share a ±1 sign pattern, so
// every level is at its maximum and every product positive.
static void make_x(float *x, size_t rows, size_t k, uint64_t seed, int extreme) {
    if (extreme) {
        for (size_t i = 0; i < rows * k; i++) x[i] = ((i % k) * 7 % 3) ? 1.0f : -1.0f;
        return;
    }
    fill(x, rows * k, seed, k > 512 ? sqrtf(512.0f / (float)k) : 1.0f);
    if (k >= 64)
        for (size_t i = 0; i < rows; i++) memset(x + i * k + 32, 0, 32 * sizeof(float));
}

static void make_w(float *w, size_t rows, size_t k, uint64_t seed, int extreme) {
    if (extreme) {
        for (size_t i = 0; i < rows * k; i++) w[i] = ((i % k) * 7 % 3) ? 1.0f : -1.0f;
        return;
    }
    fill(w, rows * k, seed, 1.0f);
}

static uint8_t *quantize_rows(const float *w, size_t rows, size_t k, int q4) {
    size_t rb = mk_quant_row_bytes(k, q4);
    uint8_t *q = guarded(rows * rb);
    for (size_t r = 0; r < rows; r++) {
        if (q4) mk_quantize_q4_0(w + r * k, k, q + r * rb);
        else mk_quantize_q8_0(w + r * k, k, q + r * rb);
    }
    return q;
}

static float *outputs(size_t n) {
    float *y = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) y[i] = SENTINEL;
    return y;
}

// Over an output buffer of `rows` × ldy of which rows < m, columns r0 ..< r1 are the product:
// max |fast − slow| there, max |slow| there, and whether everything else is still SENTINEL.
typedef struct {
    float diff, ymax;
    int untouched, same_bits;
} cmp;

static cmp compare(const float *fast, const float *slow, size_t rows, size_t ldy, size_t m, size_t r0, size_t r1) {
    cmp c = {0.0f, 0.0f, 1, 1};
    for (size_t i = 0; i < rows; i++)
        for (size_t r = 0; r < ldy; r++) {
            size_t at = i * ldy + r;
            if (i < m && r >= r0 && r < r1) {
                float d = fabsf(fast[at] - slow[at]);
                if (!(d <= c.diff)) c.diff = d;   // NaN shows as NaN
                if (fabsf(slow[at]) > c.ymax) c.ymax = fabsf(slow[at]);
                if (memcmp(&fast[at], &slow[at], sizeof(float)) != 0) c.same_bits = 0;
            } else if (fast[at] != SENTINEL) {
                c.untouched = 0;
            }
        }
    return c;
}

static int same(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

// The decode bar: 1e-4 for outputs ≲ 20, proportionally more above.
static float decode_bar(float ymax) { return 1e-4f * (ymax > 20.0f ? ymax / 20.0f : 1.0f); }

// ---------------------------------------------------------------------------------------------

static void check_qdot(size_t k, size_t rows, int extreme) {
    size_t r0 = 3, r1 = rows, ldy = rows + 3, nb = k / MK_QBLOCK;
    float *w = xmalloc(rows * k * sizeof(float)), *x = xmalloc(8 * k * sizeof(float));
    make_w(w, rows, k, 1000 + k, extreme);
    make_x(x, 8, k, 2000 + k, extreme);
    int16_t *qx = guarded(8 * k * sizeof(int16_t));
    float *dx = guarded(8 * nb * sizeof(float)), *sx = guarded(8 * nb * sizeof(float));
    for (size_t i = 0; i < 8; i++) mk_quantize_activations(x + i * k, k, qx + i * k, dx + i * nb, sx + i * nb);
    for (int q4 = 0; q4 <= 1; q4++) {
        uint8_t *qw = quantize_rows(w, rows, k, q4);
        for (size_t m = 1; m <= 8; m++) {
            float *slow = outputs(8 * ldy), *fast = outputs(8 * ldy), *best = outputs(8 * ldy);
            scalar.qdot(qx, dx, sx, m, k, qw, q4, r0, r1, slow, ldy);
            neon.qdot(qx, dx, sx, m, k, qw, q4, r0, r1, fast, ldy);
            mk_qdot(qx, dx, sx, m, k, qw, q4, r0, r1, best, ldy);
            cmp c = compare(fast, slow, 8, ldy, m, r0, r1);
            float bar = decode_bar(c.ymax);
            check(c.diff <= bar && c.untouched && c.ymax > 1.0f && same(best, fast, 8 * ldy),
                  "qdot %s%s k=%zu m=%zu rows %zu..<%zu: max|diff| %.2g (bar %.2g), max|y| %.3g%s%s%s",
                  q4 ? "q4_0" : "q8_0", extreme ? " extreme" : "", k, m, r0, r1, c.diff, bar, c.ymax,
                  c.untouched ? "" : ", WROTE OUTSIDE ITS ROWS", c.ymax > 1.0f ? "" : ", TRIVIAL OUTPUTS",
                  same(best, fast, 8 * ldy) ? "" : ", mk_qdot DID NOT PICK NEON");
            free(slow);
            free(fast);
            free(best);
        }
        unguard(qw, rows * mk_quant_row_bytes(k, q4));
    }
    free(w);
    free(x);
    unguard(qx, 8 * k * sizeof(int16_t));
    unguard(dx, 8 * nb * sizeof(float));
    unguard(sx, 8 * nb * sizeof(float));
}

static void check_qdot_q4_i8(size_t k, size_t rows, int extreme, int dotprod) {
    size_t r0 = 2, r1 = rows, nb = k / MK_QBLOCK;
    float *w = xmalloc(rows * k * sizeof(float)), *x = xmalloc(k * sizeof(float));
    make_w(w, rows, k, 3000 + k, extreme);
    make_x(x, 1, k, 4000 + k, extreme);
    int8_t *qx = guarded(k);
    float *dx = guarded(nb * sizeof(float)), *sx = guarded(nb * sizeof(float));
    mk_quantize_activations_i8(x, k, qx, dx, sx);
    uint8_t *qw = quantize_rows(w, rows, k, 1);
    float *slow = outputs(rows), *best = outputs(rows);
    scalar.qdot_q4_i8(qx, dx, sx, k, qw, r0, r1, slow);
    mk_qdot_q4_i8(qx, dx, sx, k, qw, r0, r1, best);
    for (int v = 0; v <= dotprod; v++) {
        float *fast = outputs(rows);
        (v ? &neon_dotprod : &neon)->qdot_q4_i8(qx, dx, sx, k, qw, r0, r1, fast);
        cmp c = compare(fast, slow, 1, rows, 1, r0, r1);
        float bar = decode_bar(c.ymax);
        // The default must be the best variant this CPU has.
        int picked = v == dotprod ? same(best, fast, rows) : 1;
        check(c.diff <= bar && c.untouched && c.ymax > 0.5f && picked,
              "qdot_q4_i8 %s%s k=%zu rows %zu..<%zu: max|diff| %.2g (bar %.2g), max|y| %.3g%s%s%s",
              v ? "sdot" : "mull", extreme ? " extreme" : "", k, r0, r1, c.diff, bar, c.ymax,
              c.untouched ? "" : ", WROTE OUTSIDE ITS ROWS", c.ymax > 0.5f ? "" : ", TRIVIAL OUTPUTS",
              picked ? "" : ", mk_qdot_q4_i8 DID NOT PICK IT");
        free(fast);
    }
    free(slow);
    free(best);
    unguard(qw, rows * mk_quant_row_bytes(k, 1));
    free(w);
    free(x);
    unguard(qx, k);
    unguard(dx, nb * sizeof(float));
    unguard(sx, nb * sizeof(float));
}

static const char *fmt_name(mk_wfmt fmt) {
    switch (fmt) {
    case MK_W_Q8_0: return "q8_0";
    case MK_W_Q4_0: return "q4_0";
    case MK_W_BF16: return "bf16";
    case MK_W_Q8_0_X16: return "q8_0_x16";
    }
    return "?";
}

static uint16_t bf16_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)(u >> 16);
}

static float bf16_value(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// The bf16 bar of every output: 2k·2⁻²⁴·Σ|x·w| over the values both paths multiply.
static float bf16_bar(const uint16_t *xa, const uint16_t *wb, size_t m, size_t k, size_t r0, size_t r1,
                      const float *fast, const float *slow, size_t ldy) {
    float worst = 0.0f;   // the largest |diff| / bar, ≤ 1 when every output is within its bar
    for (size_t i = 0; i < m; i++)
        for (size_t r = r0; r < r1; r++) {
            double s = 0.0;
            for (size_t j = 0; j < k; j++) s += fabs((double)bf16_value(xa[i * k + j]) * bf16_value(wb[r * k + j]));
            float bar = (float)(2.0 * (double)k * 0x1p-24 * s), d = fabsf(fast[i * ldy + r] - slow[i * ldy + r]);
            float ratio = d == 0.0f ? 0.0f : d / bar;
            if (!(ratio <= worst)) worst = ratio;
        }
    return worst;
}

static void check_gemm(mk_wfmt fmt, size_t k, size_t rows, size_t m, int extreme, int dotprod) {
    size_t r0 = 3, r1 = rows, ldy = rows + 2;
    float *w = xmalloc(rows * k * sizeof(float)), *x = xmalloc(m * k * sizeof(float));
    make_w(w, rows, k, 5000 + k + fmt, extreme);
    make_x(x, m, k, 6000 + k * m, extreme);
    void *weights;
    size_t wbytes = fmt == MK_W_BF16 ? rows * k * sizeof(uint16_t) : rows * mk_quant_row_bytes(k, fmt == MK_W_Q4_0);
    if (fmt == MK_W_BF16) {
        uint16_t *b = guarded(wbytes);
        for (size_t i = 0; i < rows * k; i++) b[i] = bf16_bits(w[i]);
        weights = b;
    } else {
        weights = quantize_rows(w, rows, k, fmt == MK_W_Q4_0);
    }
    size_t abytes = mk_gemm_act_bytes(fmt, m, k);
    void *act = guarded(abytes);
    // Prepared in two calls, as threads split it.
    mk_gemm_prepare(fmt, x, m, k, 0, m / 2, act);
    mk_gemm_prepare(fmt, x, m, k, m / 2, m, act);
    float *slow = outputs(m * ldy), *best = outputs(m * ldy);
    mk_gemm_with(&scalar, fmt, act, m, k, weights, r0, r1, slow, ldy);
    mk_gemm(fmt, act, m, k, weights, r0, r1, best, ldy);
    int integer = fmt != MK_W_BF16, variants = integer && fmt != MK_W_Q8_0_X16 ? 1 + dotprod : 1;
    for (int v = 0; v < variants; v++) {
        float *fast = outputs(m * ldy);
        mk_gemm_with(v ? &neon_dotprod : &neon, fmt, act, m, k, weights, r0, r1, fast, ldy);
        cmp c = compare(fast, slow, m, ldy, m, r0, r1);
        int picked = v == variants - 1 ? same(best, fast, m * ldy) : 1;
        const char *name = variants == 1 ? "neon" : v ? "sdot" : "mull";
        if (integer) {
            check(c.same_bits && c.untouched && c.ymax > 1.0f && picked,
                  "gemm %s %s%s k=%zu m=%zu rows %zu..<%zu: %s (max|diff| %.2g), max|y| %.3g%s%s%s", fmt_name(fmt), name,
                  extreme ? " extreme" : "", k, m, r0, r1, c.same_bits ? "bit for bit" : "NOT BIT FOR BIT", c.diff, c.ymax,
                  c.untouched ? "" : ", WROTE OUTSIDE ITS ROWS", c.ymax > 1.0f ? "" : ", TRIVIAL OUTPUTS",
                  picked ? "" : ", mk_gemm DID NOT PICK IT");
        } else {
            float ratio = bf16_bar(act, weights, m, k, r0, r1, fast, slow, ldy);
            check(ratio <= 1.0f && c.untouched && c.ymax > 1.0f && picked,
                  "gemm %s %s%s k=%zu m=%zu rows %zu..<%zu: max|diff| %.2g, %.2g of the rounding bar, max|y| %.3g%s%s%s",
                  fmt_name(fmt), name, extreme ? " extreme" : "", k, m, r0, r1, c.diff, ratio, c.ymax,
                  c.untouched ? "" : ", WROTE OUTSIDE ITS ROWS", c.ymax > 1.0f ? "" : ", TRIVIAL OUTPUTS",
                  picked ? "" : ", mk_gemm DID NOT PICK IT");
        }
        free(fast);
    }
    free(slow);
    free(best);
    unguard(act, abytes);
    unguard(weights, wbytes);
    free(w);
    free(x);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);   // a crash still shows the checks before it
    int expect = -1;
    if (argc == 3 && strcmp(argv[1], "--dotprod") == 0 && (strcmp(argv[2], "yes") == 0 || strcmp(argv[2], "no") == 0)) {
        expect = strcmp(argv[2], "yes") == 0;
    } else if (argc != 1) {
        fprintf(stderr, "usage: %s [--dotprod yes|no]\n", argv[0]);
        return 2;
    }
#if !defined(__aarch64__)
    fprintf(stderr, "neon_check tests the aarch64 kernels: build it for aarch64 (Tools/neon-check.sh)\n");
    return 2;
#endif
    mk_x86_features x86 = mk_cpu_x86();
    mk_arm_features arm = mk_cpu_arm();
    int dotprod = arm.dotprod;
    mk_kernels probe;
    check(arm.neon && !x86.avx2 && !x86.avx512 && !mk_kernels_x86(x86, &probe),
          "mk_cpu_arm: NEON; mk_cpu_x86: no x86 features, and no x86 table");
    check(expect < 0 || dotprod == expect, "mk_cpu_arm().dotprod = %d%s", dotprod,
          expect < 0 ? "" : expect ? " (expected 1)" : " (expected 0)");
    mk_kernels_scalar(&scalar);
    check(mk_kernels_arm((mk_arm_features){1, 0}, &neon) && strcmp(neon.name, "neon") == 0, "NEON table: %s", neon.name);
    int has_dotprod_table = mk_kernels_arm((mk_arm_features){1, 1}, &neon_dotprod);
    check(has_dotprod_table == dotprod, "a dot-product table exactly when the CPU has SDOT");
    if (!dotprod) neon_dotprod = neon;
    check(strcmp(mk_kernels_active()->name, dotprod ? "neon+dotprod" : "neon") == 0, "active table: %s",
          mk_kernels_active()->name);

    static const size_t ks[] = {32, 96, 512, 544, 1056, 11008};
    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) check_qdot(ks[t], ks[t] > 2048 ? 23 : 41, 0);
    check_qdot(544, 21, 1);

    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) check_qdot_q4_i8(ks[t], ks[t] > 2048 ? 23 : 37, 0, dotprod);
    check_qdot_q4_i8(544, 21, 1, dotprod);

    // At k = 11008 the panels hold fewer rows (8–28) than the 42 asked, so panel edges fall
    // inside the range too. m = 1, 5, 12, 13 and 40 give the int8 tiles (8 rows, 4 for a short
    // last one) and the 4-row int16 / bf16 tiles full and padded last tiles.
    static const mk_wfmt fmts[] = {MK_W_Q8_0, MK_W_Q4_0, MK_W_Q8_0_X16, MK_W_BF16};
    static const size_t gks[] = {32, 96, 544, 1056, 11008}, ms[] = {1, 5, 12, 13, 40};
    for (size_t f = 0; f < 4; f++) {
        for (size_t t = 0; t < sizeof gks / sizeof gks[0]; t++)
            for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
                check_gemm(fmts[f], gks[t], gks[t] > 2048 ? 45 : 50, ms[i], 0, dotprod);
        check_gemm(fmts[f], 544, 21, 13, 1, dotprod);
    }

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
