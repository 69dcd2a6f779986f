/* LM-head dots: the ISA path gives bit-identical floats to the portable summation order; the half conversion is
 * exact on all 65,536 values (checked against a double computation); TRITUNE_ISA=scalar falls back. */
#include "tt_dense.h"
#include "tt_format.h"
#include "tt_test.h"
#include "tt_verify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A wrong member: one accumulator in plain row order, not ggml's four-accumulator order every member must keep. */
static void bad_order_f16(const uint16_t *w, const float *x, int k, float *y, int r0, int r1)
{
    for (int r = r0; r < r1; r++) {
        float a = 0;
        for (int j = 0; j < k; j++) a += tt_dense_half_to_float(w[(size_t)r * k + j]) * x[j];
        y[r] = a;
    }
}
static const tt_dense_variant bad_f16 = {"head_f16_bad_order", TT_DENSE_F16, 0, 1, 0, bad_order_f16, NULL, NULL, NULL, NULL, 0, 0, 0};

static double half_ref(uint16_t h)
{
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

int main(void)
{
    for (uint32_t h = 0; h < 65536; h++) {
        float f = tt_dense_half_to_float((uint16_t)h);
        double r = half_ref((uint16_t)h);
        if (isnan(r)) CHECK(isnan(f));
        else CHECKF((double)f == r, "half 0x%04x -> %g want %g", h, f, r);
    }
    const int k = 2560, m = 37;
    uint16_t *w = malloc(sizeof(uint16_t) * m * k);
    int8_t *w8 = malloc((size_t)m * k);
    float *x = malloc(sizeof(float) * k), *y = malloc(sizeof(float) * m), *sc = malloc(sizeof(float) * m);
    uint64_t s = 3;
    for (int i = 0; i < m * k; i++) {
        uint16_t h = (uint16_t)(tt_rand_next(&s) & 0xffff);
        if (((h >> 10) & 31) == 31) h &= 0xbfff; /* no inf/nan weights */
        w[i] = h;
        w8[i] = (int8_t)(tt_rand_next(&s) & 0xff);
    }
    for (int j = 0; j < k; j++) x[j] = (float)((double)(tt_rand_next(&s) % 2001) / 1000.0 - 1.0);
    for (int r = 0; r < m; r++) sc[r] = 0.01f * (r + 1);
    tt_dense_f16_rows(w, x, k, y, 0, m);
    for (int r = 0; r < m; r++) {
        float ref = tt_dense_f16_dot_ref(w + (size_t)r * k, x, k);
        CHECKF(memcmp(&ref, &y[r], 4) == 0, "f16 row %d (%s): %g vs %g", r, tt_dense_impl(), y[r], ref);
    }
    /* every usable member of the head family (rows per block, prefetch distance, ISA) gives the portable bits,
     * including the rows past the last full block (37 rows) and a range that starts mid-block */
    {
        int nv, tried = 0;
        const tt_dense_variant *vs = tt_dense_variants(&nv);
        char detail[300];
        for (int i = 0; i < nv; i++) {
            if (!tt_dense_variant_usable(&vs[i]) || tt_dense_kind_quantized(vs[i].kind)) continue; /* test_q6k/_q32 */
            const void *wm = vs[i].kind == TT_DENSE_F16 ? (const void *)w : (const void *)w8;
            tt_status st = tt_verify_dense(&vs[i], wm, sc, x, m, k, detail, sizeof detail);
            CHECKF(st == TT_OK, "%s", detail);
            tried++;
        }
        /* the verifier can fail: a kernel that sums in another order (one accumulator) is caught */
        CHECK(tt_verify_dense(&bad_f16, w, NULL, x, m, k, detail, sizeof detail) == TT_ERR_MISMATCH &&
              strstr(detail, "head_f16_bad_order"));
        CHECK(tried >= 2);
        CHECK(tt_dense_variant_find("head_f16_portable") && !tt_dense_variant_find("head_f16_r3_p9__avx2"));
        printf("dense: %d head kernels usable here, all bit-identical\n", tried);
    }
    /* the f16 order itself, worked by hand, through every usable member (9 equal rows: blocks of 1..4 and a rest).
     * A (k = 64): products 2^24 at element 2, -2^24 at element 3, 1 at element 40 (ggml's s2, lane 8). s0 += s2 puts
     * the 1 in lane 8; the tree adds lane 8 into lane 0 (1), then lane 2 into lane 0: 1 + 2^24 rounds to 2^24, and
     * lane 3 into lane 1 (-2^24); the sum is 0. A sum in index order, the AVX2 build's order (32 lanes) and the
     * former 16-lane order all give 1. B (k = 66): 2^24 in the steps of 64, then a tail of 1 and 1 added in double:
     * 2^24 + 2; in float each +1 would round back to 2^24. */
    {
        static uint16_t hw[9 * 66];
        static float hx[66], hy[9];
        const uint16_t H2048 = 0x6800, H1 = 0x3c00, HM2048 = 0xe800;
        struct { int k; float want; } cs[2] = {{64, 0.0f}, {66, 16777218.0f}};
        int nv, tried = 0;
        const tt_dense_variant *vs = tt_dense_variants(&nv);
        for (int c = 0; c < 2; c++) {
            int kk = cs[c].k;
            memset(hw, 0, sizeof hw);
            for (int j = 0; j < kk; j++) hx[j] = 1.0f;
            hx[0] = hx[2] = hx[3] = 8192.0f;
            for (int r = 0; r < 9; r++) {
                uint16_t *row = hw + (size_t)r * kk;
                if (c == 0) row[2] = H2048, row[3] = HM2048, row[40] = H1;
                else row[0] = H2048, row[64] = H1, row[65] = H1;
            }
            CHECKF(tt_dense_f16_dot_ref(hw, hx, kk) == cs[c].want, "f16 order, case %c: %.1f, want %.1f", 'A' + c,
                   tt_dense_f16_dot_ref(hw, hx, kk), cs[c].want);
            for (int i = 0; i < nv; i++) {
                if (vs[i].kind != TT_DENSE_F16 || !tt_dense_variant_usable(&vs[i])) continue;
                vs[i].f16(hw, hx, kk, hy, 0, 9);
                for (int r = 0; r < 9; r++)
                    CHECKF(hy[r] == cs[c].want, "%s case %c row %d: %.1f, want %.1f", vs[i].name, 'A' + c, r, hy[r],
                           cs[c].want);
                tried++;
            }
        }
        CHECK(tried >= 2);
    }
    /* a split range gives the same rows */
    float y2[37];
    tt_dense_f16_rows(w, x, k, y2, 3, 30);
    CHECK(!memcmp(y2 + 3, y + 3, 27 * sizeof(float)));
    tt_dense_i8_rows(w8, sc, x, k, y, 0, m);
    for (int r = 0; r < m; r++) {
        float l[16] = {0}, t = 0;
        for (int i = 0; i < k; i += 16)
            for (int j = 0; j < 16; j++) {
                float p = (float)w8[(size_t)r * k + i + j] * x[i + j];
                l[j] += p;
            }
        for (int j = 0; j < 16; j++) t += l[j];
        t *= sc[r];
        CHECKF(memcmp(&t, &y[r], 4) == 0, "i8 row %d: %g vs %g", r, y[r], t);
    }
    /* f32 dots (norms, attention scores): every length 0..300 (full blocks and every tail), signed zeros, values
     * of very different magnitudes (so a different summation order shows), bit-identical to the portable order */
    {
        float a[300], b[300];
        for (int i = 0; i < 300; i++) {
            uint64_t v = tt_rand_next(&s);
            a[i] = (float)ldexp((double)(int)(v % 2001) - 1000.0, (int)(v >> 20) % 40 - 20);
            b[i] = (v >> 40) % 7 == 0 ? -0.0f : (float)((double)(tt_rand_next(&s) % 2001) / 1000.0 - 1.0);
        }
        for (int n = 0; n <= 300; n++) {
            float got = tt_dense_dot_f32(a, b, n), want = tt_dense_dot_f32_ref(a, b, n);
            CHECKF(memcmp(&got, &want, 4) == 0, "dot_f32 n=%d: %a vs %a", n, got, want);
        }
        /* the order itself, worked by hand: lane 0 sums 2^24 + 1 + 1 = 2^24 (each +1 rounds back to 2^24), lane 8
         * holds -2^24, lane 1 holds 1; the tree adds lane 8 into lane 0 (-> 0), and lane 1 last (-> 1). A sum in
         * index order gives 2 (2^24 + 1 -> 2^24, - 2^24 -> 0, + 1 + 1 -> 2). */
        float u[33] = {0}, one[33];
        for (int i = 0; i < 33; i++) one[i] = 1.0f;
        u[0] = 16777216.0f, u[16] = 1.0f, u[32] = 1.0f, u[8] = -16777216.0f, u[1] = 1.0f;
        float got = tt_dense_dot_f32(u, one, 33);
        CHECKF(got == 1.0f, "dot_f32 order: got %g, want 1 (lanes, then the tree)", got);
    }
    /* attention: scores and the weighted sum of values against their portable definitions, bit for bit, over
     * head sizes around the vector widths and position counts around the 4-key blocks; rows at a stride */
    {
        enum { NMAX = 70, HMAX = 130, STRIDE = 131 };
        static float kc[NMAX * STRIDE], vc[NMAX * STRIDE], q[HMAX], att[NMAX], got[HMAX], want[HMAX];
        for (int i = 0; i < NMAX * STRIDE; i++) {
            kc[i] = (float)ldexp((double)(int)(tt_rand_next(&s) % 2001) - 1000.0, (int)(tt_rand_next(&s) % 20) - 14);
            vc[i] = (float)((double)(tt_rand_next(&s) % 2001) / 1000.0 - 1.0);
        }
        for (int i = 0; i < HMAX; i++) q[i] = (float)((double)(tt_rand_next(&s) % 2001) / 500.0 - 2.0);
        static const int hds[] = {1, 15, 16, 17, 64, 100, 128, 130}, ns[] = {0, 1, 3, 4, 5, 8, 33, 70};
        for (size_t h = 0; h < sizeof hds / sizeof *hds; h++)
            for (size_t c = 0; c < sizeof ns / sizeof *ns; c++) {
                int hd = hds[h], n = ns[c];
                tt_dense_scores(q, kc, STRIDE, n, hd, 0.0883883f, att);
                for (int t = 0; t < n; t++) {
                    float w = tt_dense_dot_f32_ref(q, kc + (size_t)t * STRIDE, hd) * 0.0883883f;
                    CHECKF(!memcmp(&w, &att[t], 4), "scores hd=%d n=%d t=%d: %a vs %a", hd, n, t, att[t], w);
                }
                for (int t = 0; t < n; t++) att[t] = 1.0f / (float)(t + 3);
                for (int i = 0; i < hd; i++) {
                    want[i] = 0.0f;
                    for (int t = 0; t < n; t++) {
                        float p = att[t] * vc[(size_t)t * STRIDE + i];
                        want[i] += p;
                    }
                }
                tt_dense_weighted_sum(att, vc, STRIDE, n, hd, got);
                CHECKF(!memcmp(got, want, (size_t)hd * 4), "weighted sum hd=%d n=%d differs", hd, n);
            }
        /* the f16 cache: rows of halves (the same values rounded; subnormals, ±0, the largest half among them) give
         * the bits of the f32 calls on the rows converted to float, for queries and weights that hold f16 values */
        static uint16_t kh[NMAX * STRIDE], vh[NMAX * STRIDE];
        static float kf[NMAX * STRIDE], vf[NMAX * STRIDE], att2[NMAX];
        for (int i = 0; i < NMAX * STRIDE; i++) {
            if (i % 53 == 7) kc[i] = i % 2 ? 0x1p-20f : -0.0f;
            if (i % 61 == 3) vc[i] = i % 2 ? -65504.0f : 3 * 0x1p-25f;
        }
        tt_dense_to_f16_ref(kh, kc, NMAX * STRIDE);
        tt_dense_to_f16_ref(vh, vc, NMAX * STRIDE);
        for (int i = 0; i < NMAX * STRIDE; i++)
            kf[i] = tt_dense_half_to_float(kh[i]), vf[i] = tt_dense_half_to_float(vh[i]);
        tt_dense_round_f16_ref(q, HMAX);
        int fbad = 0;
        for (size_t h = 0; h < sizeof hds / sizeof *hds; h++)
            for (size_t c = 0; c < sizeof ns / sizeof *ns; c++) {
                int hd = hds[h], n = ns[c];
                tt_dense_scores(q, kf, STRIDE, n, hd, 0.0883883f, att);
                tt_dense_scores_f16(q, kh, STRIDE, n, hd, 0.0883883f, att2);
                fbad += n && memcmp(att, att2, (size_t)n * 4) != 0;
                for (int t = 0; t < n; t++) att[t] = 1.0f / (float)(t + 3);
                tt_dense_round_f16_ref(att, n);
                tt_dense_weighted_sum(att, vf, STRIDE, n, hd, want);
                tt_dense_weighted_sum_f16(att, vh, STRIDE, n, hd, got);
                fbad += memcmp(got, want, (size_t)hd * 4) != 0;
            }
        CHECKF(!fbad, "%d f16-cache attention calls differ from the f32 calls on the converted rows (%s)", fbad,
               tt_dense_impl());
        /* grouped-query calls: G heads (2..6, past the kernels' groups of 4) over one key/value head give each head
         * the single-head call's bits (the single-head call is the grouped call with G = 1, checked above against
         * the f32 definitions) */
        enum { GMAX = 6, LDATT = NMAX + 3 };
        static float qg[GMAX * HMAX], attg[GMAX * LDATT], att1[GMAX * LDATT], outg[GMAX * HMAX], out1[GMAX * HMAX];
        for (int i = 0; i < GMAX * HMAX; i++) qg[i] = (float)((double)(tt_rand_next(&s) % 2001) / 500.0 - 2.0);
        tt_dense_round_f16_ref(qg, GMAX * HMAX);
        int gbad = 0;
        for (int G = 2; G <= GMAX; G++)
            for (size_t h = 0; h < sizeof hds / sizeof *hds; h++)
                for (size_t c = 0; c < sizeof ns / sizeof *ns; c++) {
                    int hd = hds[h], n = ns[c];
                    tt_dense_scores_f16_g(qg, G, kh, STRIDE, n, hd, 0.0883883f, attg, LDATT);
                    for (int g = 0; g < G; g++) {
                        tt_dense_scores_f16(qg + g * hd, kh, STRIDE, n, hd, 0.0883883f, att1 + g * LDATT);
                        gbad += n && memcmp(attg + g * LDATT, att1 + g * LDATT, (size_t)n * 4) != 0;
                        for (int t = 0; t < n; t++) att1[g * LDATT + t] = 1.0f / (float)(t + 3 + g);
                        tt_dense_round_f16_ref(att1 + g * LDATT, n);
                        tt_dense_weighted_sum_f16(att1 + g * LDATT, vh, STRIDE, n, hd, out1 + g * hd);
                    }
                    tt_dense_weighted_sum_f16_g(att1, LDATT, G, vh, STRIDE, n, hd, outg);
                    gbad += memcmp(outg, out1, (size_t)G * hd * 4) != 0;
                }
        CHECKF(!gbad, "%d grouped-query attention calls differ from the single-head calls (%s)", gbad, tt_dense_impl());
    }
    /* elementwise ops (norm scaling, residual add, ReLU² gate, RoPE pairs) and the int32 dot -> float conversion
     * against their portable definitions, bit for bit: every length 0..300 (odd ones, vector blocks and tails) and
     * 6912, at unaligned offsets, with NaN, ±inf, ±0, negatives and values of very different magnitudes */
    {
        enum { N = 6912 + 3 };
        static float x[N], y[N], w2[N], a[N], b[N];
        static int32_t d[N];
        uint64_t st = 5;
        for (int i = 0; i < N; i++) {
            uint64_t v = tt_rand_next(&st);
            switch (v % 13) {
            case 0: x[i] = (v >> 8) & 1 ? -0.0f : 0.0f; break;
            case 1: x[i] = (v >> 8) % 3 == 0 ? NAN : (v >> 8) % 3 == 1 ? INFINITY : -INFINITY; break;
            default: x[i] = (float)ldexp((double)(int)((v >> 8) % 20001) - 10000.0, (int)(v >> 40) % 30 - 20);
            }
            y[i] = (float)((double)(tt_rand_next(&st) % 20001) / 1000.0 - 10.0);
            w2[i] = (float)((double)(tt_rand_next(&st) % 2001) / 1000.0 - 1.0);
            d[i] = (int32_t)(tt_rand_next(&st) % 4000001) - 2000000;
            if (i % 97 == 5) d[i] = i % 2 ? INT32_MAX : INT32_MIN;
        }
        int bad = 0;
        for (int n = 0; n <= 6912; n = n < 300 ? n + 1 : 6912 + (n == 6912)) {
            int off = n % 3; /* unaligned starts */
            memcpy(a, x, sizeof x), memcpy(b, x, sizeof x);
            tt_dense_scale_mul(a + off, x + off, 0.37f, w2 + off, n);
            tt_dense_scale_mul_ref(b + off, x + off, 0.37f, w2 + off, n);
            bad += memcmp(a, b, sizeof a) != 0;
            tt_dense_add(a + off, y + off, n); /* a == b here: both get the same add */
            tt_dense_add_ref(b + off, y + off, n);
            bad += memcmp(a, b, sizeof a) != 0;
            memcpy(a, x, sizeof x), memcpy(b, x, sizeof x);
            tt_dense_relu2_mul(a + off, y + off, n);
            tt_dense_relu2_mul_ref(b + off, y + off, n);
            bad += memcmp(a, b, sizeof a) != 0;
            memcpy(a, x, sizeof x), memcpy(b, x, sizeof x);
            tt_dense_rope(a + off, w2 + off, n / 2);
            tt_dense_rope_ref(b + off, w2 + off, n / 2);
            bad += memcmp(a, b, sizeof a) != 0;
            memcpy(a, x, sizeof x), memcpy(b, x, sizeof x);
            tt_dot_to_float(d + off, n, 93.7f, 0.71f, a + off);
            tt_dot_to_float_ref(d + off, n, 93.7f, 0.71f, b + off);
            bad += memcmp(a, b, sizeof a) != 0;
            CHECKF(!bad, "elementwise ops differ from the portable definition at n=%d (%s)", n, tt_dense_impl());
            if (bad) break;
        }
        /* f16 rounding: every ISA's conversion against the portable one over a sweep of bit patterns (normal,
         * subnormal, ties, overflow, inf; NaN compared as NaN) */
        {
            enum { NR = 4096 };
            static float ra[NR], rb[NR];
            int rbad = 0;
            for (uint32_t base = 0; base < 0x80000000u && !rbad; base += 0x00100000u - 0x1357u) {
                for (int i = 0; i < NR; i++) {
                    uint32_t u = base + (uint32_t)i * 0x2f1u + (i & 1 ? 0x80000000u : 0);
                    if (i % 7 == 0) u = (u & ~0x1fffu) | 0x1000u; /* exact ties at 13 dropped bits */
                    memcpy(&ra[i], &u, 4);
                }
                memcpy(rb, ra, sizeof ra);
                tt_dense_round_f16(ra + 1, NR - 1); /* odd length and offset: vector tails */
                tt_dense_round_f16_ref(rb + 1, NR - 1);
                for (int i = 1; i < NR; i++)
                    if (!(isnan(ra[i]) && isnan(rb[i])) && memcmp(&ra[i], &rb[i], 4)) rbad++;
            }
            CHECKF(!rbad, "tt_dense_round_f16 differs from the portable rounding (%s)", tt_dense_impl());
            /* into halves: the ISA path's bits are the portable path's, and each half read back is the float that
             * tt_dense_round_f16 leaves (a NaN stays a NaN) */
            static uint16_t ha[NR], hb[NR];
            int hbad = 0;
            for (uint32_t base = 0; base < 0x80000000u && !hbad; base += 0x00100000u - 0x1357u) {
                for (int i = 0; i < NR; i++) {
                    uint32_t u = base + (uint32_t)i * 0x2f1u + (i & 1 ? 0x80000000u : 0);
                    if (i % 7 == 0) u = (u & ~0x1fffu) | 0x1000u;
                    memcpy(&ra[i], &u, 4);
                }
                memcpy(rb, ra, sizeof ra);
                tt_dense_to_f16(ha + 1, ra + 1, NR - 1);
                tt_dense_to_f16_ref(hb + 1, ra + 1, NR - 1);
                tt_dense_round_f16_ref(rb + 1, NR - 1);
                for (int i = 1; i < NR; i++) {
                    float back = tt_dense_half_to_float(hb[i]);
                    hbad += ha[i] != hb[i] || (!(isnan(back) && isnan(rb[i])) && memcmp(&back, &rb[i], 4));
                }
            }
            CHECKF(!hbad, "tt_dense_to_f16: %d halves differ from the portable ones or from tt_dense_round_f16 (%s)",
                   hbad, tt_dense_impl());
            float h[6] = {1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 65504.0f, 65520.0f, 0x1p-25f, 3 * 0x1p-26f};
            tt_dense_round_f16(h, 6); /* ties to even, the largest half, overflow, subnormal ties */
            CHECK(h[0] == 1.0f && h[1] == 1.0f + 4 * 0x1p-11f && h[2] == 65504.0f && isinf(h[3]) && h[4] == 0.0f &&
                  h[5] == 0x1p-24f);
        }
        /* the definitions themselves, on values worked by hand */
        float g[4] = {-2.0f, -0.0f, NAN, 3.0f}, u[4] = {5.0f, 5.0f, 5.0f, 0.5f};
        tt_dense_relu2_mul(g, u, 4);
        CHECK(g[0] == 0.0f && !signbit(g[0]) && g[1] == 0.0f && !signbit(g[1]) && g[2] == 0.0f && g[3] == 4.5f);
        float v[2] = {1.0f, 2.0f}, cs[2] = {0.0f, 1.0f}; /* a quarter turn: (1, 2) -> (-2, 1) */
        tt_dense_rope(v, cs, 1);
        CHECK(v[0] == -2.0f && v[1] == 1.0f);
        /* NEOX pairing: element i turns with element i + half (pair (v0, v2) a quarter turn, pair (v1, v3) none);
         * adjacent pairing would give {-10, 1, -20, 2} here */
        float w4[4] = {1.0f, 10.0f, 2.0f, 20.0f}, cs4[4] = {0.0f, 1.0f, 1.0f, 0.0f};
        tt_dense_rope(w4, cs4, 2);
        CHECK(w4[0] == -2.0f && w4[1] == 10.0f && w4[2] == 1.0f && w4[3] == 20.0f);
    }
    {   /* the attention's exponential: within 2 ulp of e^x (a double computation) over the normal range, within
         * one subnormal step below it; the edges exact */
        double worst = 0;
        int far = 0;
        for (int i = 0; i <= 4000000; i++) {
            float xv = -103.9f + (float)i * (192.6f / 4000000.0f);
            float f = tt_dense_expf(xv);
            double e = exp((double)xv);
            if (e >= 0x1p-126) {
                double ulp = ldexp(1.0, ilogb(e) - 23), err = fabs(f - e) / ulp;
                worst = err > worst ? err : worst;
                far += err > 2.0;
            } else
                far += fabs(f - e) > 0x1p-149;
        }
        CHECKF(!far, "tt_dense_expf: %d inputs beyond 2 ulp (or one subnormal step) of e^x; worst %.2f ulp", far,
               worst);
        printf("dense: tt_dense_expf worst error %.3f ulp over [-87.3, 88.7]\n", worst);
        CHECK(tt_dense_expf(0.0f) == 1.0f && tt_dense_expf(-0.0f) == 1.0f && tt_dense_expf(-INFINITY) == 0.0f &&
              !signbit(tt_dense_expf(-200.0f)) && tt_dense_expf(-200.0f) == 0.0f && isinf(tt_dense_expf(INFINITY)) &&
              isinf(tt_dense_expf(88.8f)) && isnan(tt_dense_expf(NAN)) && tt_dense_expf(88.7f) < INFINITY &&
              tt_dense_expf(-103.0f) > 0.0f);
        /* the softmax at every ISA against the portable definition, bit for bit (the double sum included): lengths
         * across the vector block and tail, scores spread so that the order of the sum shows (e^-60 beside 1),
         * ties at the maximum, ±0, -inf, and a NaN first (everything NaN) */
        enum { SM = 2100 };
        float *a = malloc(SM * sizeof(float)), *b = malloc(SM * sizeof(float)), *c0 = malloc(SM * sizeof(float));
        uint64_t st = 77;
        int sbad = 0, tried = 0;
        const int lens[] = {1, 2, 7, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 100, 129, 255, 256, 257, 1000, 2049, 2100};
        for (int li = 0; li < (int)(sizeof lens / sizeof *lens); li++)
            for (int kind = 0; kind < 4; kind++) {
                int n = lens[li];
                for (int i = 0; i < n; i++) {
                    st = st * 6364136223846793005ull + 1442695040888963407ull;
                    float u = (float)(st >> 40) * 0x1p-24f; /* [0, 1) */
                    c0[i] = kind == 0 ? 60.0f * u - 30.0f : kind == 1 ? 4.0f * u : (float)((st >> 33) % 5) - 2.0f;
                }
                if (kind == 3 && n > 3) c0[1] = -INFINITY, c0[2] = -0.0f, c0[3] = 0.0f;
                memcpy(a, c0, (size_t)n * sizeof(float));
                memcpy(b, c0, (size_t)n * sizeof(float));
                double sa = tt_dense_softmax(a, n), sb = tt_dense_softmax_ref(b, n);
                sbad += memcmp(&sa, &sb, sizeof sa) || memcmp(a, b, (size_t)n * sizeof(float));
                /* and it is a softmax: weights summing to 1, each near the double computation on the same float
                 * differences x[i] − m */
                double tot = 0, se = 0;
                float mx = c0[0];
                for (int i = 1; i < n; i++) mx = c0[i] > mx ? c0[i] : mx;
                for (int i = 0; i < n; i++) se += exp((double)(c0[i] - mx));
                for (int i = 0; i < n; i++) {
                    double w = exp((double)(c0[i] - mx)) / se;
                    tot += a[i];
                    sbad += fabs(a[i] - w) > 4e-7 * w + 1e-30;
                }
                sbad += fabs(tot - 1.0) > 1e-5;
                tried++;
            }
        a[0] = NAN, a[1] = 1.0f, a[2] = 2.0f;
        tt_dense_softmax(a, 3);
        CHECK(isnan(a[0]) && isnan(a[1]) && isnan(a[2]));
        CHECKF(!sbad && tried == 84, "tt_dense_softmax: %d of %d cases differ from the portable definition or from a "
               "softmax (%s)", sbad, tried, tt_dense_impl());
        free(a), free(b), free(c0);
    }
    printf("dense: implementation %s\n", tt_dense_impl());
    free(w), free(w8), free(x), free(y), free(sc);
    return tt_test_end("dense");
}
