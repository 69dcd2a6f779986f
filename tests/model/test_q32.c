/* test_q32: ggml's Q4_0 and Q8_0 blocks and their products with q8_0 input blocks (model/tt_q32.h).
 *
 * The decoder is checked against ggml's dequantize_row_q4_0 loop as ggml writes it (x0 = (qs[j] & 0x0F) - 8 to
 * y[j], x1 = (qs[j] >> 4) - 8 to y[j + 16], times d) rewritten here on random blocks; the writer against ggml's rule
 * on chosen values; the product against ggml's AVX2 order (written out here) over its exact integer products; every
 * usable SIMD form against the portable loop. */
#include "tt_dense.h"
#include "tt_half.h"
#include "tt_q32.h"
#include "tt_test.h"
#include "tt_verify.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static uint64_t g_rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd(void)
{
    g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 11);
}

static void ggml_shape_dequant(const uint8_t *blk, float *y)
{
    const float d = tt_half_to_float((uint16_t)(blk[0] | blk[1] << 8));
    for (int j = 0; j < 16; ++j) {
        const int x0 = (blk[2 + j] & 0x0F) - 8;
        const int x1 = (blk[2 + j] >> 4) - 8;
        y[j] = x0 * d;
        y[j + 16] = x1 * d;
    }
}

/* A positive finite f16 block scale: normal, or (one block in four) subnormal, as small block scales are in real
 * heads. */
static uint16_t random_scale(void) { return (uint16_t)(rnd() % 4 ? 0x1000 + rnd() % 0x2000 : 1 + rnd() % 0x3ff); }

static void random_block(uint8_t *blk)
{
    for (int i = 2; i < TT_Q40_BYTES; i++) blk[i] = (uint8_t)rnd();
    uint16_t d = random_scale(); /* of either sign */
    if (rnd() & 1) d |= 0x8000;
    blk[0] = (uint8_t)d, blk[1] = (uint8_t)(d >> 8);
}

static void check_decoder(void)
{
    uint8_t blk[4 * TT_Q40_BYTES];
    float got[128], want[128];
    int bad = 0;
    for (int it = 0; it < 300; it++) {
        for (int b = 0; b < 4; b++) random_block(blk + b * TT_Q40_BYTES);
        tt_q40_dequant(blk, 128, got);
        for (int b = 0; b < 4; b++) ggml_shape_dequant(blk + b * TT_Q40_BYTES, want + 32 * b);
        bad += memcmp(got, want, sizeof got) != 0;
    }
    CHECKF(!bad, "%d of 300 random 4-block rows decode differently from ggml's loop", bad);
    memset(blk, 0, TT_Q40_BYTES);
    blk[1] = 0x3c;     /* d = 1 */
    blk[2 + 3] = 0xA2; /* value 3: low nibble 2 -> -6; value 19: high nibble 10 -> 2 */
    tt_q40_dequant(blk, 32, got);
    CHECKF(got[3] == -6.0f && got[19] == 2.0f && got[0] == -8.0f, "hand block: %g %g %g", got[3], got[19], got[0]);
}

/* How many of the kind's usable ISA members (LM-head family, kernels/tt_dense.h) differ from the portable bits got on
 * one row of 2560; and what ran. */
static int simd_mismatches(tt_dense_kind kind, const uint8_t *blk, const int8_t *q, const float *dx, float got)
{
    int nv, bad = 0;
    const tt_dense_variant *vs = tt_dense_variants(&nv);
    for (int fi = 0; fi < nv; fi++)
        if (vs[fi].kind == kind && vs[fi].needs && tt_dense_variant_usable(&vs[fi])) {
            float f;
            /* an interleaving member reads the row in its layout (a group padded with zero rows) */
            uint8_t *pk = malloc(tt_dense_packed_bytes(&vs[fi], 1, 2560));
            if (!pk) return 1;
            tt_dense_pack(&vs[fi], blk, 1, 2560, pk);
            tt_dense_run(&vs[fi], pk, NULL, NULL, &(tt_qin){(int8_t *)q, (float *)dx, NULL}, 2560, &f, 0, 1);
            free(pk);
            bad += memcmp(&f, &got, sizeof f) != 0;
        }
    return bad;
}

static void print_members(tt_dense_kind kind)
{
    int nv;
    const tt_dense_variant *vs = tt_dense_variants(&nv);
    for (int fi = 0; fi < nv; fi++)
        if (vs[fi].kind == kind && vs[fi].needs)
            printf("test_q32: %s: %s\n", vs[fi].name, tt_dense_variant_usable(&vs[fi])
                                                          ? "= portable on 200 rows of 2560 (extremes included)"
                                                          : "SKIP: this CPU (or TRITUNE_ISA) does not allow it");
}

static void check_writer(void)
{
    float x[64], y[64];
    uint8_t blk[2 * TT_Q40_BYTES];
    for (int i = 0; i < 64; i++) x[i] = (float)((int)(rnd() % 2001) - 1000) / 1000.0f;
    x[5] = -1.6f;  /* block 0: negative max -> d = 0.2, the max itself at code 0 */
    x[40] = 2.4f;  /* block 1: positive max -> d = -0.3 */
    tt_q40_quantize(x, 64, blk);
    tt_q40_dequant(blk, 64, y);
    float d0 = tt_half_to_float((uint16_t)(blk[0] | blk[1] << 8)), d1 = tt_half_to_float((uint16_t)(blk[18] | blk[19] << 8));
    CHECKF(d0 == tt_half_to_float(tt_float_to_half(-1.6f / -8.0f)) && (blk[2 + 5] & 0xF) == 0, "block 0: d %g code %d", d0,
           blk[2 + 5] & 0xF);
    CHECKF(d1 == tt_half_to_float(tt_float_to_half(2.4f / -8.0f)) && (blk[18 + 2 + 8] & 0xF) == 0, "block 1: d %g code %d",
           d1, blk[18 + 2 + 8] & 0xF);
    double worst = 0;
    for (int i = 0; i < 64; i++) worst = fmax(worst, fabs(x[i] - y[i]) / fabs(i < 32 ? d0 : d1));
    /* ggml's writer truncates x/d + 8.5 (round half up) and clamps at 15: one step at most where it clamps */
    CHECKF(worst <= 1.0 + 1e-3, "writer: worst error %.3f steps", worst);
}

/* The order of ggml's AVX2 loop written out here: 8 lanes, lane j of block b gets fmaf(d_b, sum of the block's
 * integer products 4j..4j+3, lane), then ggml's hsum_float_8. prod[b][i] are the exact integer products. */
static float ggml_avx2_order(const int32_t (*prod)[32], const float *d, int nb)
{
    float lane[8] = {0};
    for (int b = 0; b < nb; b++)
        for (int j = 0; j < 8; j++)
            lane[j] = fmaf(d[b], (float)(prod[b][4 * j] + prod[b][4 * j + 1] + prod[b][4 * j + 2] + prod[b][4 * j + 3]),
                           lane[j]);
    float h0 = lane[0] + lane[4], h1 = lane[1] + lane[5], h2 = lane[2] + lane[6], h3 = lane[3] + lane[7];
    return (h0 + h2) + (h1 + h3);
}

static void check_dot(void)
{
    uint8_t blk[80 * TT_Q40_BYTES];
    int8_t q[2560];
    float dx[80];
    int bad = 0, badf = 0;
    for (int it = 0; it < 200; it++) {
        for (int b = 0; b < 80; b++) random_block(blk + b * TT_Q40_BYTES);
        for (int i = 0; i < 2560; i++) q[i] = (int8_t)((int)(rnd() % 255) - 127);
        for (int b = 0; b < 80; b++) dx[b] = (float)(rnd() % 1000 + 1) / 4096.0f;
        if (it < 2) { /* extremes: every nibble 0 (-8) or 15 (+7) against q8 = -127 / +127 */
            for (int b = 0; b < 80; b++) memset(blk + b * TT_Q40_BYTES + 2, it ? 0xFF : 0x00, 16);
            memset(q, it ? 0x81 : 0x7F, sizeof q);
        }
        int32_t prod[80][32];
        float d[80];
        for (int b = 0; b < 80; b++) {
            uint8_t cp[TT_Q40_BYTES];
            float y[32];
            memcpy(cp, blk + b * TT_Q40_BYTES, TT_Q40_BYTES);
            cp[0] = 0x00, cp[1] = 0x3c; /* d = 1: the dequantized values are the integers */
            ggml_shape_dequant(cp, y);
            for (int i = 0; i < 32; i++) prod[b][i] = (int32_t)y[i] * q[32 * b + i];
            d[b] = tt_half_to_float((uint16_t)(blk[b * TT_Q40_BYTES] | blk[b * TT_Q40_BYTES + 1] << 8)) * dx[b];
        }
        float want = ggml_avx2_order(prod, d, 80);
        float got = tt_q40_dot_q80(blk, q, dx, 2560);
        bad += memcmp(&got, &want, sizeof got) != 0;
        badf += simd_mismatches(TT_DENSE_Q40, blk, q, dx, got);
    }
    CHECKF(!bad, "%d of 200 products differ from ggml's AVX2 order over the exact integer products", bad);
    CHECKF(!badf, "%d SIMD products differ from the portable loop", badf);
    print_members(TT_DENSE_Q40);
}

/* Q8_0 rows: the product against its exact integer form, every usable form against the portable loop (w = -128,
 * which no ggml writer stores but a file may hold, included), and the input rule. */
static void check_q80(void)
{
    uint8_t blk[80 * TT_Q80_BYTES];
    int8_t q[2560];
    float dx[80];
    int bad = 0, badf = 0;
    for (int it = 0; it < 200; it++) {
        for (int b = 0; b < 80; b++) {
            uint8_t *p = blk + b * TT_Q80_BYTES;
            for (int i = 2; i < TT_Q80_BYTES; i++) p[i] = (uint8_t)rnd();
            uint16_t d = random_scale();
            p[0] = (uint8_t)d, p[1] = (uint8_t)(d >> 8);
            if (it < 2) memset(p + 2, it ? 0x80 : 0x7F, 32);
        }
        for (int i = 0; i < 2560; i++) q[i] = (int8_t)((int)(rnd() % 255) - 127);
        if (it < 2) memset(q, it ? 0x7F : 0x81, sizeof q);
        for (int b = 0; b < 80; b++) dx[b] = (float)(rnd() % 1000 + 1) / 4096.0f;
        int32_t prod[80][32];
        float d[80];
        for (int b = 0; b < 80; b++) {
            const uint8_t *p = blk + b * TT_Q80_BYTES;
            for (int i = 0; i < 32; i++) prod[b][i] = (int8_t)p[2 + i] * q[32 * b + i];
            d[b] = tt_half_to_float((uint16_t)(p[0] | p[1] << 8)) * dx[b];
        }
        float want = ggml_avx2_order(prod, d, 80);
        float got = tt_q80_dot_q80(blk, q, dx, 2560);
        bad += memcmp(&got, &want, sizeof got) != 0;
        badf += simd_mismatches(TT_DENSE_Q80, blk, q, dx, got);
    }
    CHECKF(!bad, "q8_0: %d of 200 products differ from ggml's AVX2 order over the exact integer products", bad);
    CHECKF(!badf, "q8_0: %d SIMD products differ from the portable loop", badf);
    print_members(TT_DENSE_Q80);
    float x[64];
    int8_t qq[64];
    float d[2];
    for (int i = 0; i < 64; i++) x[i] = (float)i - 20.5f;
    x[10] = -63.5f; /* block 0: max|x| = 63.5 -> id = 2: -20.5 * 2 = -41 exactly; 0.5 steps round to even */
    tt_q80_quantize(x, 64, qq, d);
    CHECKF(qq[10] == -127 && qq[0] == -41 && d[0] == tt_half_to_float(tt_float_to_half(63.5f / 127.0f)),
           "q8_0 input: %d %d %g", qq[10], qq[0], d[0]);
}

/* Every usable member of the q4_0 and q8_0 head kinds (1, 2 and 4 rows at a time) gives its portable member's bits on
 * a 149-row head (nine groups of 16 and 5 rows: the _il16 members' streams take two groups each) through the family's
 * runner, row ranges and all (tt_verify_dense). */
static void check_family(void)
{
    enum { M = 149, K = 2560 };
    static uint8_t w[M * (K / 32) * TT_Q80_BYTES];
    float x[K];
    for (int i = 0; i < K; i++) x[i] = (float)((int)(rnd() % 4001) - 2000) / 997.0f;
    int nv, tried = 0;
    const tt_dense_variant *vs = tt_dense_variants(&nv);
    for (int kind = TT_DENSE_Q80; kind <= TT_DENSE_Q40; kind++) {
        size_t bb = kind == TT_DENSE_Q80 ? TT_Q80_BYTES : TT_Q40_BYTES;
        for (size_t b = 0; b < (size_t)M * (K / 32); b++) {
            uint8_t *p = w + b * bb;
            for (size_t i = 2; i < bb; i++) p[i] = (uint8_t)rnd();
            uint16_t d = random_scale();
            p[0] = (uint8_t)d, p[1] = (uint8_t)(d >> 8);
        }
        for (int i = 0; i < nv; i++) {
            if ((int)vs[i].kind != kind || !tt_dense_variant_usable(&vs[i])) continue;
            char detail[300];
            CHECKF(tt_verify_dense(&vs[i], w, NULL, x, M, K, detail, sizeof detail) == TT_OK, "%s", detail);
            tried++;
        }
    }
    CHECK(tried >= 2);
    printf("test_q32: %d q8_0/q4_0 head members = portable on a %d-row head, row ranges included\n", tried, M);
}

int main(void)
{
    check_decoder();
    check_family();
    check_writer();
    check_dot();
    check_q80();
    return tt_test_end("test_q32");
}
