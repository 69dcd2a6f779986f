/* Formats: round trips, golden bytes written by hand from docs/FORMATS.md, shape refusal, bad buffers. */
#include "tt_format.h"
#include "tt_test.h"

#include <stdbool.h>

static void fill(tt_tern *w, int mode, uint64_t seed)
{
    size_t n = (size_t)w->m * w->k;
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        switch (mode) {
        case 0: w->t[i] = (int8_t)(tt_rand_next(&s) % 3) - 1; break;
        case 1: w->t[i] = 1; break;
        case 2: w->t[i] = -1; break;
        case 3: w->t[i] = 0; break;
        case 4: w->t[i] = (i & 1) ? 1 : -1; break;
        default: w->t[i] = (i == n / 2) ? -1 : 0; break; /* single nonzero */
        }
    }
}

static void round_trip(tt_fmt f, int m, int k)
{
    for (int mode = 0; mode < 6; mode++) {
        tt_tern w, back;
        CHECK(tt_tern_alloc(&w, m, k) == TT_OK);
        CHECK(tt_tern_alloc(&back, m, k) == TT_OK);
        fill(&w, mode, (uint64_t)(m * 1000003 + k * 7 + mode));
        w.scale = 0.25f + mode;
        size_t n = tt_fmt_size(f, m, k);
        CHECKF(n > TT_TAIL_BYTES, "%s %dx%d size %zu", tt_fmt_name(f), m, k, n);
        uint8_t *buf = malloc(n);
        CHECK(tt_fmt_pack(f, &w, buf, n) == TT_OK);
        CHECK(tt_fmt_unpack(f, buf, n, &back) == TT_OK);
        CHECKF(!memcmp(w.t, back.t, (size_t)m * k), "%s %dx%d mode %d round trip", tt_fmt_name(f), m, k, mode);
        CHECK(back.scale == w.scale);
        free(buf);
        tt_tern_free(&w);
        tt_tern_free(&back);
    }
}

static void hex(const char *s, uint8_t *out)
{
    for (size_t i = 0; s[2 * i]; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

/* docs/FORMATS.md §3 test vector: bytes produced by bitnet.cpp's own quantizer. */
static void i2s_bitnet_vector(void)
{
    static const char *rows =
        "2aa9544aa9554225550005940029a4402aa8506aa5540a25540225940029a040"
        "940029a040aaa4522a95560a155002a59000a9a002aa9442aa955a2a55520a95"
        "0a555001954002a5800aa9504aaa545a29554209954009a5400aa8506aa9544a"
        "506aa9544a25550205940009a4002aa8502aa5542aa5540a15540225940029a0"
        "0000403f00000000000000000000000000000000000000000000000000000000";
    uint8_t want[160], got[160];
    hex(rows, want);
    tt_tern w;
    tt_tern_alloc(&w, 2, 256);
    w.scale = 0.75f;
    for (uint32_t idx = 0; idx < 512; idx++) {
        uint32_t x = (1103515245u * idx + 12345u) >> 16;
        w.t[idx] = (int8_t)(x % 3) - 1;
    }
    CHECK(tt_fmt_size(TT_FMT_I2S, 2, 256) == 160);
    CHECK(tt_fmt_pack(TT_FMT_I2S, &w, got, sizeof got) == TT_OK);
    CHECKF(!memcmp(want, got, 160), "I2_S bytes differ from bitnet.cpp's test vector");
    tt_tern_free(&w);
}

/* Hand-worked: K = 128, T[0] = +1, T[33] = -1, rest 0. Byte b holds weights b, b+32, b+64, b+96 at bits 7:6, 5:4,
 * 3:2, 1:0 with code T+1. byte 0 = 10 01 01 01 = 0x95; byte 1 = 01 00 01 01 = 0x45; others 0x55. */
static void i2s_hand_example(void)
{
    tt_tern w;
    tt_tern_alloc(&w, 1, 128);
    memset(w.t, 0, 128);
    w.t[0] = 1;
    w.t[33] = -1;
    w.scale = -2.5f;
    uint8_t got[32 + 32];
    CHECK(tt_fmt_pack(TT_FMT_I2S, &w, got, sizeof got) == TT_OK);
    CHECK(got[0] == 0x95);
    CHECK(got[1] == 0x45);
    int rest = 1;
    for (int i = 2; i < 32; i++) rest &= got[i] == 0x55;
    CHECK(rest);
    /* tail: f32 -2.5 = 0xC0200000 little endian, then zeros */
    CHECK(got[32] == 0x00 && got[33] == 0x00 && got[34] == 0x20 && got[35] == 0xC0);
    int z = 1;
    for (int i = 36; i < 64; i++) z &= got[i] == 0;
    CHECK(z);
    tt_tern_free(&w);
}

/* TL1 by hand: pairs (w0,w1) -> 3*w0 + w1 + 4; pair 0 = (-1,-1) -> 0, pair 1 = (1,1) -> 8 => byte 0x80;
 * pair 2 = (0,1) -> 5, pair 3 = (1,-1) -> 6 => byte 0x65. */
static void tl1_hand_example(void)
{
    tt_tern w;
    tt_tern_alloc(&w, 1, 8);
    int8_t t[8] = {-1, -1, 1, 1, 0, 1, 1, -1};
    memcpy(w.t, t, 8);
    uint8_t got[2 + 32];
    CHECK(tt_fmt_size(TT_FMT_TL1, 1, 8) == 34);
    CHECK(tt_fmt_pack(TT_FMT_TL1, &w, got, sizeof got) == TT_OK);
    CHECK(got[0] == 0x80 && got[1] == 0x65);
    tt_tern_free(&w);
}

/* TL2 by hand, K = 96 + 32: triple 0 = (1,-1,-1) -> v = 5 (mag 5, +); triple 1 = (-1,0,1) -> v = -8 (mag 8, sign);
 * mag byte 0 = 0x85; sign byte 0 bit 1 set = 0x02; remaining triples 0. Tail pairs: pair 0 = (1,1) -> 8. */
static void tl2_hand_example(void)
{
    tt_tern w;
    tt_tern_alloc(&w, 1, 128);
    memset(w.t, 0, 128);
    int8_t t[6] = {1, -1, -1, -1, 0, 1};
    memcpy(w.t, t, 6);
    w.t[96] = 1;
    w.t[97] = 1;
    CHECK(tt_tl2_k3(128) == 96);
    size_t n = tt_fmt_size(TT_FMT_TL2, 1, 128);
    CHECK(n == 16 + 4 + 8 + 32);
    uint8_t got[16 + 4 + 8 + 32];
    CHECK(tt_fmt_pack(TT_FMT_TL2, &w, got, sizeof got) == TT_OK);
    CHECK(got[0] == 0x85);
    CHECK(got[16] == 0x02);
    CHECK(got[20] == (uint8_t)(8 | 4 << 4)); /* pair 0 -> 8, pair 1 = (0,0) -> 4 */
    tt_tern_free(&w);
}

/* B3 by hand and exhaustively. Every code of n = 1..5 digits decodes to its digits (tt_b3_digit is the arithmetic
 * every kernel decoder does), exactly 3^n bytes are valid codes, and the byte values: all-zero trits -> 0x00
 * (v = 121, ceil(121·256/243) = 128, ^0x80), all +1 -> 0x7f (v = 242 -> 255), all -1 -> 0x80 (v = 0). The column of
 * a trit: group g, digit i, byte j hold column 320g + 64i + j; the last group of K = 384 has one digit. */
static void b3_hand_example(void)
{
    for (int n = 1; n <= 5; n++) {
        int pw = 1, valid = 0;
        for (int i = 0; i < n; i++) pw *= 3;
        for (int v = 0; v < pw; v++) {
            int8_t t[5];
            for (int i = n - 1, x = v; i >= 0; i--, x /= 3) t[i] = (int8_t)(x % 3 - 1);
            uint8_t b = tt_b3_encode(t, n, 1);
            CHECK(tt_b3_valid(b, n));
            for (int i = 0; i < n; i++) CHECKF(tt_b3_digit(b, i) == t[i] + 1, "n %d v %d digit %d", n, v, i);
        }
        for (int b = 0; b < 256; b++) valid += tt_b3_valid((uint8_t)b, n);
        CHECKF(valid == pw, "%d valid %d-digit bytes, want %d", valid, n, pw);
    }
    tt_tern w;
    tt_tern_alloc(&w, 3, 384);
    memset(w.t, 0, 3 * 384);
    for (int j = 0; j < 384; j++) w.t[384 + j] = 1, w.t[768 + j] = -1;
    w.t[64 * 3 + 5] = 1;  /* row 0: group 0, digit 3, byte 5 */
    w.t[320 + 7] = -1;    /* row 0: group 1 (one digit), byte 7 */
    size_t n = tt_fmt_size(TT_FMT_B3, 3, 384);
    CHECK(n == 3 * 128 + 32 && tt_fmt_size(TT_FMT_B3, 1, 6912) == 22 * 64 + 32 && tt_fmt_size(TT_FMT_B3, 1, 2560) == 512 + 32);
    uint8_t got[3 * 128 + 32];
    CHECK(tt_fmt_pack(TT_FMT_B3, &w, got, sizeof got) == TT_OK);
    bool ok = true;
    for (int j = 0; j < 64; j++) {
        ok &= got[j] == (j == 5 ? (uint8_t)(((121 + 3) * 256 + 242) / 243 ^ 0x80) : 0x00); /* digit 3 of 5: +3 */
        ok &= got[64 + j] == (j == 7 ? (uint8_t)(0 ^ 0x80) : (uint8_t)(((1 * 256 + 2) / 3) ^ 0x80));
        ok &= got[128 + j] == 0x7f && got[256 + j] == 0x80;                                   /* row 1 all +1, row 2 -1 */
        ok &= got[192 + j] == (uint8_t)(((2 * 256 + 2) / 3) ^ 0x80) && got[320 + j] == 0x80; /* one-digit groups */
    }
    CHECK(ok);
    int8_t q[384];
    for (int j = 0; j < 384; j++) q[j] = (int8_t)(j % 7 - 3);
    int32_t dot[3], want[3];
    CHECK(tt_fmt_oracle_dot(TT_FMT_B3, got, sizeof got, 3, 384, q, dot) == TT_OK);
    CHECK(tt_oracle_dot(&w, q, want) == TT_OK);
    CHECK(!memcmp(dot, want, sizeof dot));
    got[64 + 9] = 0x7f; /* not a one-digit code */
    tt_tern back = {3, 384, 0, w.t};
    CHECK(tt_fmt_unpack(TT_FMT_B3, got, sizeof got, &back) == TT_ERR_VALUE && strstr(tt_last_error(), "B3 byte 0x7f"));
    CHECK(tt_fmt_oracle_dot(TT_FMT_B3, got, sizeof got, 3, 384, q, dot) == TT_ERR_VALUE);
    CHECK(tt_fmt_check_shape(TT_FMT_B3, 1, 96) == TT_ERR_SHAPE && strstr(tt_last_error(), "K % 64"));
    tt_tern_free(&w);
}

static void bad_inputs(void)
{
    tt_tern w;
    tt_tern_alloc(&w, 2, 256);
    tt_tern_random(&w, 1);
    uint8_t buf[1024];
    /* shapes each format cannot represent */
    CHECK(tt_fmt_check_shape(TT_FMT_I2S, 2, 100) == TT_ERR_SHAPE);
    CHECK(strstr(tt_last_error(), "K % 128") != NULL);
    CHECK(tt_fmt_check_shape(TT_FMT_TL1, 2, 6) == TT_ERR_SHAPE);
    CHECK(tt_fmt_check_shape(TT_FMT_TL2, 2, 48) == TT_ERR_SHAPE);
    CHECK(tt_fmt_check_shape(TT_FMT_I2S, 0, 128) == TT_ERR_SHAPE);
    CHECK(tt_fmt_check_shape(TT_FMT_I2S, 1, -128) == TT_ERR_SHAPE);
    CHECK(tt_fmt_check_shape(TT_FMT_I2S, 1, TT_K_MAX + 128) == TT_ERR_SHAPE);
    CHECK(tt_fmt_size(TT_FMT_I2S, 3, 100) == 0);
    CHECK(tt_fmt_check_shape((tt_fmt)7, 1, 128) == TT_ERR_VALUE);
    /* null and short buffers */
    CHECK(tt_fmt_pack(TT_FMT_I2S, NULL, buf, sizeof buf) == TT_ERR_NULL);
    CHECK(tt_fmt_pack(TT_FMT_I2S, &w, NULL, 0) == TT_ERR_NULL);
    CHECK(tt_fmt_pack(TT_FMT_I2S, &w, buf, 100) == TT_ERR_SIZE);
    CHECK(tt_fmt_pack(TT_FMT_TL2, &w, buf, 10) == TT_ERR_SIZE);
    CHECK(tt_fmt_unpack(TT_FMT_I2S, buf, 10, &w) == TT_ERR_SIZE);
    CHECK(tt_fmt_unpack(TT_FMT_I2S, NULL, 1000, &w) == TT_ERR_NULL);
    int32_t dot[2];
    int8_t q[256] = {0};
    CHECK(tt_fmt_oracle_dot(TT_FMT_TL1, buf, 5, 2, 256, q, dot) == TT_ERR_SIZE);
    CHECK(tt_fmt_oracle_dot(TT_FMT_TL1, buf, sizeof buf, 2, 256, NULL, dot) == TT_ERR_NULL);
    /* values out of domain */
    w.t[3] = 2;
    CHECK(tt_fmt_pack(TT_FMT_I2S, &w, buf, sizeof buf) == TT_ERR_VALUE);
    memset(buf, 0xff, sizeof buf); /* I2_S code 0b11, TL1 index 15, TL2 magnitude 15 */
    CHECK(tt_fmt_unpack(TT_FMT_I2S, buf, sizeof buf, &w) == TT_ERR_VALUE);
    CHECK(tt_fmt_unpack(TT_FMT_TL1, buf, sizeof buf, &w) == TT_ERR_VALUE);
    CHECK(tt_fmt_unpack(TT_FMT_TL2, buf, sizeof buf, &w) == TT_ERR_VALUE);
    CHECK(tt_fmt_oracle_dot(TT_FMT_I2S, buf, sizeof buf, 2, 256, q, dot) == TT_ERR_VALUE);
    CHECK(tt_fmt_oracle_dot(TT_FMT_TL2, buf, sizeof buf, 2, 256, q, dot) == TT_ERR_VALUE);
    tt_tern_free(&w);
    CHECK(tt_tern_alloc(&w, 0, 5) == TT_ERR_SHAPE);
    CHECK(tt_tern_alloc(NULL, 1, 5) == TT_ERR_NULL);
}

int main(void)
{
    static const int ks_i2s[] = {128, 256, 384, 640, 2560};
    static const int ks_tl1[] = {4, 8, 124, 128, 132, 252, 256, 260, 2560};
    static const int ks_tl2[] = {32, 64, 96, 128, 160, 192, 224, 288, 2560, 6912};
    static const int ks_b3[] = {64, 128, 192, 256, 320, 384, 640, 704, 2560, 6912};
    static const int ms[] = {1, 2, 3, 17};
    for (size_t a = 0; a < sizeof ms / sizeof *ms; a++) {
        for (size_t b = 0; b < sizeof ks_i2s / sizeof *ks_i2s; b++) round_trip(TT_FMT_I2S, ms[a], ks_i2s[b]);
        for (size_t b = 0; b < sizeof ks_tl1 / sizeof *ks_tl1; b++) round_trip(TT_FMT_TL1, ms[a], ks_tl1[b]);
        for (size_t b = 0; b < sizeof ks_tl2 / sizeof *ks_tl2; b++) round_trip(TT_FMT_TL2, ms[a], ks_tl2[b]);
        for (size_t b = 0; b < sizeof ks_b3 / sizeof *ks_b3; b++) round_trip(TT_FMT_B3, ms[a], ks_b3[b]);
    }
    i2s_bitnet_vector();
    i2s_hand_example();
    tl1_hand_example();
    tl2_hand_example();
    b3_hand_example();
    bad_inputs();
    return tt_test_end("formats");
}
