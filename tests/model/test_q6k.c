/* test_q6k: ggml's Q6_K blocks and Q8_K activations (model/tt_q6k.h).
 *
 * The decoder is checked against ggml's dequantize_row_q6_K loop as ggml writes it (per half-block: l = 0..31,
 * is = l/16, four values from ql[l], ql[l+32], qh[l] with sc[is + 0/2/4/6]; ql += 64, qh += 32, sc += 8), rewritten
 * here in that shape on random blocks, so a layout slip in tt_q6k_codes or in the i/16 scale rule shows. Then:
 * pack/codes round trip, the Q8_K rounding rule, the exact integer form of the product, and the writer's error. */
#include "tt_test.h"
#include "tt_half.h"
#include "tt_dense.h"
#include "tt_q6k.h"
#include "tt_verify.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 11);
}

/* ggml's loop shape (dequantize_row_q6_K), for one block */
static void ggml_shape_dequant(const uint8_t *blk, float *y)
{
    const uint8_t *ql = blk, *qh = blk + 128;
    const int8_t *sc = (const int8_t *)(blk + 192);
    float d = tt_half_to_float((uint16_t)(blk[208] | blk[209] << 8));
    for (int n = 0; n < 256; n += 128) {
        for (int l = 0; l < 32; ++l) {
            int is = l / 16;
            int q1 = (int)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            int q2 = (int)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l + 0] = d * sc[is + 0] * q1;
            y[l + 32] = d * sc[is + 2] * q2;
            y[l + 64] = d * sc[is + 4] * q3;
            y[l + 96] = d * sc[is + 6] * q4;
        }
        y += 128, ql += 64, qh += 32, sc += 8;
    }
}

static void random_block(uint8_t *blk)
{
    for (int i = 0; i < TT_Q6K_BYTES; i++) blk[i] = (uint8_t)rnd();
    /* a finite f16 of either sign: normal, or (one block in four) subnormal, as small block scales are in real heads */
    uint16_t d = (uint16_t)(rnd() % 4 ? 0x1000 + rnd() % 0x2000 : 1 + rnd() % 0x3ff);
    if (rnd() & 1) d |= 0x8000;
    blk[208] = (uint8_t)d, blk[209] = (uint8_t)(d >> 8);
}

static void check_decoder(void)
{
    uint8_t blk[3 * TT_Q6K_BYTES];
    float got[768], want[768];
    int bad = 0;
    for (int it = 0; it < 200; it++) {
        for (int b = 0; b < 3; b++) random_block(blk + b * TT_Q6K_BYTES);
        tt_q6k_dequant(blk, 768, got);
        for (int b = 0; b < 3; b++) ggml_shape_dequant(blk + b * TT_Q6K_BYTES, want + 256 * b);
        bad += memcmp(got, want, sizeof got) != 0;
    }
    CHECKF(!bad, "%d of 200 random 3-block rows decode differently from ggml's loop", bad);
    /* one hand-built block: value 0 = code 0x21 (low 1, high 2) with scale 3, value 200 = code 5 with scale -7 */
    memset(blk, 0, TT_Q6K_BYTES);
    blk[0] = 0x01, blk[128] = 0x02;    /* value 0: ql[0] low nibble 1, qh[0] bits 1:0 = 2 -> code 33 -> q = 1 */
    blk[64 + 40 - 32] |= 0x50;         /* value 200 = 128 + 72: half 1, l = 8, the ql[l] high nibble (l + 64) */
    ((int8_t *)blk)[192] = 3;          /* scales[0]: values 0..15 */
    ((int8_t *)blk)[192 + 12] = -7;    /* scales[200 / 16 = 12] */
    blk[208] = 0x00, blk[209] = 0x3c;  /* d = 1.0 */
    tt_q6k_dequant(blk, 256, got);
    CHECKF(got[0] == 3.0f && got[200] == -7.0f * (5 - 32) && got[1] == 3.0f * -32, "hand block: %g %g %g", got[0],
           got[200], got[1]);
}

static void check_pack(void)
{
    uint8_t codes[256], back[256], blk[TT_Q6K_BYTES];
    int8_t sc[16];
    int bad = 0;
    for (int it = 0; it < 100; it++) {
        for (int i = 0; i < 256; i++) codes[i] = (uint8_t)(rnd() % 64);
        for (int s = 0; s < 16; s++) sc[s] = (int8_t)rnd();
        tt_q6k_pack(codes, sc, 0x3c00, blk);
        tt_q6k_codes(blk, back);
        float y[256], w[256];
        tt_q6k_dequant(blk, 256, y);
        ggml_shape_dequant(blk, w);
        bad += memcmp(codes, back, 256) || memcmp(blk + 192, sc, 16) || memcmp(y, w, sizeof y);
        for (int i = 0; i < 256; i++) bad += y[i] != (float)sc[i / 16] * (float)((int)codes[i] - 32);
    }
    CHECKF(!bad, "%d pack/codes/dequant mismatches", bad);
}

static void check_q8k(void)
{
    float x[512];
    int8_t q[512];
    float d[2];
    int32_t bs[32];
    for (int i = 0; i < 512; i++) x[i] = (float)((int)(rnd() % 2001) - 1000) / 997.0f;
    x[17] = -3.5f; /* block 0: the largest magnitude is negative; it maps to -127 (ggml: iscale = -127 / max) */
    x[300] = 2.0f, x[301] = -2.0f; /* block 1: a tie; the first one (positive) sets the sign */
    tt_q8k_quantize(x, 512, q, d, bs);
    CHECKF(q[17] == -127 && d[0] == 1.0f / (-127.0f / -3.5f), "block 0: q %d d %g", q[17], d[0]);
    CHECKF(q[300] == -127 && q[301] == 127 && d[1] == 1.0f / (-127.0f / 2.0f), "block 1: q %d %d d %g", q[300],
           q[301], d[1]);
    int bad = 0;
    for (int i = 0; i < 512; i++) {
        float is = i < 256 ? -127.0f / -3.5f : -127.0f / 2.0f;
        bad += q[i] != (int8_t)nearbyintf(is * x[i]);
    }
    for (int r = 0; r < 32; r++) {
        int s = 0;
        for (int i = 0; i < 16; i++) s += q[16 * r + i];
        bad += bs[r] != s;
    }
    CHECKF(!bad, "%d Q8_K values or run sums off the rule", bad);
    memset(x, 0, 256 * sizeof(float));
    tt_q8k_quantize(x, 256, q, d, bs);
    CHECK(d[0] == 0.0f && q[0] == 0 && q[255] == 0 && bs[0] == 0 && bs[15] == 0);
}

static void check_dot(void)
{
    uint8_t blk[4 * TT_Q6K_BYTES];
    int8_t q[1024];
    float d[4];
    int32_t bs[64];
    int bad = 0;
    for (int it = 0; it < 100; it++) {
        float x[1024];
        for (int b = 0; b < 4; b++) random_block(blk + b * TT_Q6K_BYTES);
        for (int i = 0; i < 1024; i++) x[i] = (float)((int)(rnd() % 4001) - 2000);
        if (it == 0) /* the extremes: every code 0 (q6 = -32) and scale -128 against q8 = ±127 */
            for (int b = 0; b < 4; b++) memset(blk + b * TT_Q6K_BYTES, 0, 192), memset(blk + b * TT_Q6K_BYTES + 192, 0x80, 16);
        tt_q8k_quantize(x, 1024, q, d, bs);
        float want = 0.0f;
        for (int b = 0; b < 4; b++) { /* the integer form from ggml's loop shape: isum = Σ (dequant / d6) · q8 */
            const uint8_t *p = blk + b * TT_Q6K_BYTES;
            float y[256];
            uint8_t cp[TT_Q6K_BYTES];
            memcpy(cp, p, TT_Q6K_BYTES);
            cp[208] = 0x00, cp[209] = 0x3c; /* d = 1: the dequantized values are scale · q6, exact integers */
            ggml_shape_dequant(cp, y);
            int64_t isum = 0;
            for (int i = 0; i < 256; i++) isum += (int64_t)y[i] * q[256 * b + i];
            bad += isum != (int32_t)isum;
            float dw = tt_half_to_float((uint16_t)(p[208] | p[209] << 8));
            want += (dw * d[b]) * (float)isum;
        }
        float got = tt_q6k_dot_q8k(blk, q, d, bs, 1024);
        bad += got != want;
    }
    CHECKF(!bad, "%d of 100 products differ from the exact integer form", bad);
}

/* Every form of the product this CPU can run gives the portable loop's bits, extremes included; the others are
 * skipped with the reason. */
static void check_forms(void)
{
    int nv;
    const tt_dense_variant *vs = tt_dense_variants(&nv);
    for (int fi = 0; fi < nv; fi++) {
        if (vs[fi].kind != TT_DENSE_Q6K || !vs[fi].needs) continue; /* the ISA members of the q6_K head kind */
        const char *name = vs[fi].name;
        bool usable = tt_dense_variant_usable(&vs[fi]);
        if (!usable) {
            printf("test_q6k: SKIP %s: this CPU (or TRITUNE_ISA) does not allow it\n", name);
            continue;
        }
        /* a 37-row head (row groups of every member end inside it), all rows or rows [5, 36) */
        enum { NR = 37, K = 2560, NB = K / 256 };
        static uint8_t blk[NR * NB * TT_Q6K_BYTES];
        int8_t q[K];
        float d[NB], x[K], want[NR], got[NR];
        int32_t bs[K / 16];
        int bad = 0, rows = 0;
        for (int it = 0; it < 40; it++) {
            for (int b = 0; b < NR * NB; b++) random_block(blk + b * TT_Q6K_BYTES);
            for (int i = 0; i < K; i++) x[i] = (float)((int)(rnd() % 4001) - 2000) * (it % 3 ? 1.0f : 1e-3f);
            tt_q8k_quantize(x, K, q, d, bs);
            if (it < 4) { /* codes all 0 or all 63, scales all -128 or 127, q8 all +127 or -127 */
                for (int b = 0; b < NR * NB; b++) {
                    memset(blk + b * TT_Q6K_BYTES, it & 1 ? 0xFF : 0x00, 192);
                    memset(blk + b * TT_Q6K_BYTES + 192, it & 2 ? 0x7F : 0x80, 16);
                }
                memset(q, it & 1 ? 0x81 : 0x7F, sizeof q);
                for (int r = 0; r < K / 16; r++) bs[r] = 16 * (it & 1 ? -127 : 127);
            }
            const int r0 = it & 1 ? 5 : 0, r1 = it & 1 ? 36 : NR;
            for (int r = 0; r < NR; r++) {
                want[r] = tt_q6k_dot_q8k(blk + (size_t)r * NB * TT_Q6K_BYTES, q, d, bs, K);
                got[r] = -1.0f;
            }
            if (vs[fi].q6rows) vs[fi].q6rows(blk, q, d, bs, K, got, r0, r1);
            else
                for (int r = r0; r < r1; r++) got[r] = vs[fi].q(blk + (size_t)r * NB * TT_Q6K_BYTES, q, d, bs, K);
            for (int r = 0; r < NR; r++) {
                bool in = r >= r0 && r < r1;
                bad += in ? memcmp(&got[r], &want[r], sizeof got[r]) != 0 : got[r] != -1.0f;
            }
            rows += r1 - r0;
        }
        CHECKF(!bad, "%s: %d of %d rows differ from the portable product (or rows outside the range written)", name,
               bad, rows);
        /* and through the family's runner and verifier */
        char detail[300];
        CHECKF(tt_verify_dense(&vs[fi], blk, NULL, x, NR, K, detail, sizeof detail) == TT_OK, "%s", detail);
        if (!bad) printf("test_q6k: %s = portable on %d rows of 2560 (extremes included)\n", name, rows);
    }
    printf("test_q6k: the static default here is %s\n", tt_dense_variant_default(TT_DENSE_Q6K)->name);
}

static void check_writer(void)
{
    float x[512], y[512];
    uint8_t blk[2 * TT_Q6K_BYTES];
    double worst = 0;
    for (int i = 0; i < 512; i++) x[i] = (float)((int)(rnd() % 20001) - 10000) / 10000.0f * (i < 256 ? 1.0f : 0.01f);
    tt_q6k_quantize(x, 512, blk);
    tt_q6k_dequant(blk, 512, y);
    for (int b = 0; b < 2; b++) {
        float amax = 0;
        for (int i = 0; i < 256; i++) amax = fmaxf(amax, fabsf(x[256 * b + i]));
        for (int i = 0; i < 256; i++) worst = fmax(worst, fabs(x[256 * b + i] - y[256 * b + i]) / amax);
    }
    CHECKF(worst < 0.03, "writer: worst error %.4f of the block's max", worst);
}

int main(void)
{
    check_decoder();
    check_pack();
    check_q8k();
    check_dot();
    check_forms();
    check_writer();
    return tt_test_end("test_q6k");
}
