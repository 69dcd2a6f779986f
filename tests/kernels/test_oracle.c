/* Oracles: canonical vs float, format oracles vs canonical, worst-case overflow inputs at K = 16384. */
#include "tt_format.h"
#include "tt_test.h"

#include <math.h>

int main(void)
{
    uint64_t s = 42;
    /* random: canonical oracle vs a double computation, and each format oracle vs canonical */
    static const int shapes[][2] = {{1, 128}, {7, 384}, {33, 2560}, {5, 6912}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        int m = shapes[i][0], k = shapes[i][1];
        tt_tern w;
        tt_tern_alloc(&w, m, k);
        tt_tern_random(&w, 100 + i);
        w.scale = 0.37f;
        float *x = malloc(sizeof(float) * k);
        int8_t *q = malloc(k);
        for (int j = 0; j < k; j++) x[j] = (float)((double)(tt_rand_next(&s) % 20001) / 1000.0 - 10.0);
        float a_s;
        int32_t sq, *dot = malloc(4 * m), *dot2 = malloc(4 * m);
        CHECK(tt_quant_act(x, k, q, &a_s, &sq) == TT_OK);
        CHECK(tt_oracle_dot(&w, q, dot) == TT_OK);
        float *y = malloc(4 * m);
        tt_dot_to_float(dot, m, a_s, w.scale, y);
        for (int r = 0; r < m; r++) {
            double ref = 0, refq = 0;
            for (int j = 0; j < k; j++) {
                ref += w.t[(size_t)r * k + j] * (double)x[j];
                refq += w.t[(size_t)r * k + j] * (double)q[j];
            }
            CHECK((double)dot[r] == refq);
            /* quantization error bound: |Σ T (x - q/a_s)| <= K * 0.5 / a_s */
            double err = fabs(y[r] / w.scale - ref);
            CHECKF(err <= 0.5 * k / a_s + 1e-3, "row %d err %g bound %g", r, err, 0.5 * k / a_s);
        }
        for (int f = 0; f < TT_FMT_COUNT; f++) {
            if (tt_fmt_check_shape((tt_fmt)f, m, k)) continue;
            size_t n = tt_fmt_size((tt_fmt)f, m, k);
            uint8_t *buf = malloc(n);
            CHECK(tt_fmt_pack((tt_fmt)f, &w, buf, n) == TT_OK);
            CHECK(tt_fmt_oracle_dot((tt_fmt)f, buf, n, m, k, q, dot2) == TT_OK);
            CHECKF(!memcmp(dot, dot2, 4 * (size_t)m), "%s oracle differs from canonical", tt_fmt_name((tt_fmt)f));
            CHECK(tt_fmt_scale((tt_fmt)f, buf, m, k) == w.scale);
            free(buf);
        }
        free(x), free(q), free(dot), free(dot2), free(y);
        tt_tern_free(&w);
    }
    /* worst case: all q = -128 or 127 with all T = +1 or -1 at K = 16384: |dot| = 16384 * 128 = 2^21 */
    const int k = 16384;
    tt_tern w;
    tt_tern_alloc(&w, 2, k);
    int8_t *q = malloc(k);
    int32_t dot[2], dot2[2];
    for (int qv = -128; qv <= 127; qv += 255)
        for (int tv = -1; tv <= 1; tv += 2) {
            memset(q, qv, k);
            memset(w.t, tv, 2 * (size_t)k);
            CHECK(tt_oracle_dot(&w, q, dot) == TT_OK);
            CHECKF(dot[0] == (int32_t)k * qv * tv && dot[1] == dot[0], "q=%d T=%d dot=%d", qv, tv, dot[0]);
            for (int f = 0; f < TT_FMT_COUNT; f++) {
                size_t n = tt_fmt_size((tt_fmt)f, 2, k);
                uint8_t *buf = malloc(n);
                CHECK(tt_fmt_pack((tt_fmt)f, &w, buf, n) == TT_OK);
                CHECK(tt_fmt_oracle_dot((tt_fmt)f, buf, n, 2, k, q, dot2) == TT_OK);
                CHECK(dot2[0] == dot[0] && dot2[1] == dot[1]);
                free(buf);
            }
        }
    free(q);
    tt_tern_free(&w);
    return tt_test_end("oracle");
}
