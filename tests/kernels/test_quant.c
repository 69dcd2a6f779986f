/* Activation quantization golden values (docs/FORMATS.md §1). */
#include "tt_format.h"
#include "tt_test.h"

#include <math.h>
#include <string.h>

int main(void)
{
    int8_t q[16];
    float a_s;
    int32_t sq;
    /* max |x| = 127 -> a_s = 1: values are rounded half to even. */
    float x1[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.49f, 127.0f, -127.0f, 126.5f, -126.5f, 0.0f};
    CHECK(tt_quant_act(x1, 12, q, &a_s, &sq) == TT_OK);
    CHECK(a_s == 1.0f);
    int8_t want1[] = {0, 2, 2, 0, -2, -2, 3, 127, -127, 126, -126, 0};
    int s = 0;
    for (int i = 0; i < 12; i++) {
        CHECKF(q[i] == want1[i], "x=%g q=%d want %d", x1[i], q[i], want1[i]);
        s += want1[i];
    }
    CHECK(sq == s);
    /* all-zero input: scale from the 1e-5 floor, q all zero, Σq = 0 */
    float x2[8] = {0};
    CHECK(tt_quant_act(x2, 8, q, &a_s, &sq) == TT_OK);
    CHECK(fabsf(a_s - 127.0f / 1e-5f) <= 1e-3f * a_s);
    for (int i = 0; i < 8; i++) CHECK(q[i] == 0);
    CHECK(sq == 0);
    /* ±max maps to ±127, never -128 */
    float x3[] = {-3.0f, 3.0f, 1.5f, -3.0f};
    CHECK(tt_quant_act(x3, 4, q, &a_s, &sq) == TT_OK);
    CHECK(q[0] == -127 && q[1] == 127 && q[3] == -127);
    CHECK(q[2] == 64); /* 1.5 * 127/3 = 63.5 -> 64 (half to even) */
    CHECK(sq == -127 + 127 + 64 - 127);
    /* tiny values below the floor stay tiny */
    float x4[] = {1e-7f, -1e-7f};
    CHECK(tt_quant_act(x4, 2, q, &a_s, &sq) == TT_OK);
    CHECK(q[0] == 1 && q[1] == -1); /* 1e-7 * 1.27e7 = 1.27 -> 1 */
    /* the ISA path (tt_quant_act) against the portable definition, bit for bit: every length 1..300 (vector blocks
     * and tails) and 6912, ties at half-integers, NaN, ±inf, ±0, values past ±128 after scaling */
    {
        static float xr[6912];
        static int8_t qa[6912], qb[6912];
        uint64_t st = 11;
        for (int round = 0; round < 4; round++) {
            for (int i = 0; i < 6912; i++) {
                uint64_t v = tt_rand_next(&st);
                switch (v % 16) {
                case 0: xr[i] = (float)((int)(v >> 8) % 255 - 127) + 0.5f; break; /* ties when a_s == 1 */
                case 1: xr[i] = (v >> 8) & 1 ? -0.0f : 0.0f; break;
                case 2: xr[i] = round == 1 ? NAN : 1.0f; break;
                case 3: xr[i] = round == 2 ? ((v >> 8) & 1 ? INFINITY : -INFINITY) : -2.5f; break;
                default: xr[i] = (float)ldexp((double)(int)((v >> 8) % 20001) - 10000.0, round == 3 ? -6 : -8);
                }
            }
            if (round == 0) xr[5] = 127.0f; /* a_s == 1: the .5 values are exact ties */
            for (int k = 1; k <= 6912; k = k < 300 ? k + 1 : 6912 + (k == 6912)) {
                float sa, sb;
                int32_t ta, tb;
                CHECK(tt_quant_act(xr, k, qa, &sa, &ta) == TT_OK);
                tt_quant_act_ref(xr, k, qb, &sb, &tb);
                CHECKF(memcmp(&sa, &sb, 4) == 0 && ta == tb && !memcmp(qa, qb, (size_t)k),
                       "round %d k=%d: scale %a/%a sum %d/%d", round, k, sa, sb, ta, tb);
                if (k == 6912) break;
            }
        }
    }
    /* errors */
    CHECK(tt_quant_act(NULL, 4, q, &a_s, &sq) == TT_ERR_NULL);
    CHECK(tt_quant_act(x3, 0, q, &a_s, &sq) == TT_ERR_SHAPE);
    return tt_test_end("quant");
}
