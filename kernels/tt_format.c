/* Canonical formats, quantizer and scalar oracles. Layouts (docs/FORMATS.md):
 *  I2_S  code c = T+1 (2 bits); 128-weight blocks of 32 bytes; weight j of a block sits in byte j%32 at bit
 *        6-2*(j/32). Rows K/4 bytes. [compat: bitnet.cpp x86]
 *  TL1   pair (w0,w1) -> 3*w0+w1+4 in [0,8]; byte j of a row: pair 2j in the low nibble, 2j+1 in the high.
 *        Rows K/4 bytes (K % 4 == 0).
 *  TL2   per row: triple plane (|v|, v = 9w0+3w1+w2, two per byte, low nibble first), sign plane (bit t%8 of
 *        byte t/8 set when v < 0), then a TL1 pair plane for the K - K3 tail columns. 5 bits / 3 weights.
 *  B3    base 3, five trits per byte in 64-byte groups of 320 columns (tt_format.h); rows 64·ceil(K/320) bytes.
 * Every tensor ends with a 32-byte tail holding the f32 scale first. */
#include "tt_format.h"

#include <math.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const fmt_names[TT_FMT_COUNT] = {"i2s", "tl1", "tl2", "b3"};

const char *tt_fmt_name(tt_fmt f) { return (unsigned)f < TT_FMT_COUNT ? fmt_names[f] : "?"; }

int tt_fmt_from_name(const char *s)
{
    if (!s) return -1;
    for (int i = 0; i < TT_FMT_COUNT; i++)
        if (!strcmp(s, fmt_names[i])) return i;
    return -1;
}

/* K granularity per format: I2_S 128-weight blocks; TL1 two pairs per byte; TL2 pair tail of 32s; B3 one digit of a
 * 64-byte group. */
static const int fmt_k_multiple[TT_FMT_COUNT] = {128, 4, 32, 64};

tt_status tt_fmt_check_shape(tt_fmt f, int m, int k)
{
    if ((unsigned)f >= TT_FMT_COUNT) return tt_fail(TT_ERR_VALUE, "unknown format %d", (int)f);
    if (m < 1 || m > TT_M_MAX)
        return tt_fail(TT_ERR_SHAPE, "%s needs 1 <= M <= %d, got M = %d", fmt_names[f], TT_M_MAX, m);
    if (k < 1 || k > TT_K_MAX)
        return tt_fail(TT_ERR_SHAPE, "%s needs 1 <= K <= %d, got K = %d", fmt_names[f], TT_K_MAX, k);
    if (k % fmt_k_multiple[f])
        return tt_fail(TT_ERR_SHAPE, "%s needs K %% %d == 0, got K = %d", fmt_names[f], fmt_k_multiple[f], k);
    return TT_OK;
}

int tt_tl2_k3(int k) { return (k / 96) * 96; }

static size_t tl2_row_bytes(int k)
{
    int k3 = tt_tl2_k3(k);
    return (size_t)(k3 / 6 + k3 / 24 + (k - k3) / 4);
}

static size_t b3_row_bytes(int k) { return (size_t)(k + TT_B3_GROUP_COLS - 1) / TT_B3_GROUP_COLS * TT_B3_GROUP_BYTES; }

static size_t fmt_row_bytes(tt_fmt f, int k)
{
    return f == TT_FMT_TL2 ? tl2_row_bytes(k) : f == TT_FMT_B3 ? b3_row_bytes(k) : (size_t)k / 4;
}

size_t tt_fmt_size(tt_fmt f, int m, int k)
{
    if (tt_fmt_check_shape(f, m, k) != TT_OK) return 0;
    return (size_t)m * fmt_row_bytes(f, k) + TT_TAIL_BYTES;
}

static tt_status check_tern(const tt_tern *w, tt_fmt f)
{
    if (!w || !w->t) return tt_fail(TT_ERR_NULL, "ternary matrix or its data is NULL");
    return tt_fmt_check_shape(f, w->m, w->k);
}

static void put_scale(uint8_t *tail, float s)
{
    memset(tail, 0, TT_TAIL_BYTES);
    memcpy(tail, &s, sizeof s); /* little endian on every supported target */
}

float tt_fmt_scale(tt_fmt f, const uint8_t *src, int m, int k)
{
    float s;
    memcpy(&s, src + (size_t)m * fmt_row_bytes(f, k), sizeof s);
    return s;
}

/* ---- I2_S ---- */
static void i2s_pack_row(const int8_t *t, int k, uint8_t *row)
{
    memset(row, 0, (size_t)k / 4);
    for (int j = 0; j < k; j++) {
        int blk = j / 128, jj = j % 128;
        row[blk * 32 + jj % 32] |= (uint8_t)((t[j] + 1) << (6 - 2 * (jj / 32)));
    }
}

static int i2s_code(const uint8_t *row, int j)
{
    int blk = j / 128, jj = j % 128;
    return (row[blk * 32 + jj % 32] >> (6 - 2 * (jj / 32))) & 3;
}

/* ---- TL1 ---- */
static int tl1_index(int w0, int w1) { return 3 * w0 + w1 + 4; }

static void tl1_pack_pairs(const int8_t *t, int k, uint8_t *out)
{
    for (int j = 0; j < k / 4; j++)
        out[j] = (uint8_t)(tl1_index(t[4 * j], t[4 * j + 1]) | tl1_index(t[4 * j + 2], t[4 * j + 3]) << 4);
}

static int tl1_get(const uint8_t *plane, int p) { return (plane[p / 2] >> (4 * (p & 1))) & 15; }

/* ---- TL2 ---- */
static void tl2_pack_row(const int8_t *t, int k, uint8_t *row)
{
    int k3 = tt_tl2_k3(k), nt = k3 / 3;
    uint8_t *mag = row, *sgn = row + k3 / 6, *tail = sgn + k3 / 24;
    memset(row, 0, (size_t)(k3 / 6 + k3 / 24));
    for (int i = 0; i < nt; i++) {
        int v = 9 * t[3 * i] + 3 * t[3 * i + 1] + t[3 * i + 2];
        int a = v < 0 ? -v : v;
        mag[i / 2] |= (uint8_t)(a << (4 * (i & 1)));
        if (v < 0) sgn[i / 8] |= (uint8_t)(1u << (i % 8));
    }
    tl1_pack_pairs(t + k3, k - k3, tail);
}

/* ---- B3 ---- */
static const int pow3[6] = {1, 3, 9, 27, 81, 243};

static uint8_t b3_of_value(int v, int n) { return (uint8_t)(((v * 256 + pow3[n] - 1) / pow3[n]) ^ 0x80); }

uint8_t tt_b3_encode(const int8_t *trits, int n, size_t stride)
{
    int v = 0;
    for (int i = 0; i < n; i++) v = 3 * v + trits[(size_t)i * stride] + 1;
    return b3_of_value(v, n);
}

int tt_b3_digit(uint8_t s, int i)
{
    int8_t x = (int8_t)s;
    while (i-- > 0) x = (int8_t)(uint8_t)(3u * (uint8_t)x);
    return (x > -43) + (x > 42);
}

/* The n digits of byte s into d (one pass of the advance), and whether s is the code of exactly those digits. */
static bool b3_decode(uint8_t s, int n, int *d)
{
    int8_t x = (int8_t)s;
    int v = 0;
    for (int i = 0; i < n; i++, x = (int8_t)(uint8_t)(3u * (uint8_t)x)) {
        d[i] = (x > -43) + (x > 42);
        v = 3 * v + d[i];
    }
    return b3_of_value(v, n) == s;
}

int tt_b3_valid(uint8_t s, int n)
{
    int d[5];
    return b3_decode(s, n, d);
}

/* Digits in group g of a K-column row (5, or fewer in the last group). */
static int b3_digits(int k, int g)
{
    int left = (k - g * TT_B3_GROUP_COLS) / 64;
    return left < 5 ? left : 5;
}

/* Packing runs over every weight of a model at load: the byte of each 5-digit value comes from a table, not a
 * division. */
static uint8_t b3_lut5[243];
static pthread_once_t b3_lut5_once = PTHREAD_ONCE_INIT;
static void b3_lut5_init(void)
{
    for (int v = 0; v < 243; v++) b3_lut5[v] = b3_of_value(v, 5);
}

static void b3_pack_row(const int8_t *t, int k, uint8_t *row)
{
    pthread_once(&b3_lut5_once, b3_lut5_init);
    const uint8_t *lut5 = b3_lut5;
    for (int g = 0; g * TT_B3_GROUP_COLS < k; g++) {
        int n = b3_digits(k, g);
        const int8_t *c = t + g * TT_B3_GROUP_COLS;
        uint8_t *o = row + g * 64;
        if (n == 5) {
            for (int j = 0; j < 64; j++)
                o[j] = lut5[81 * (c[j] + 1) + 27 * (c[64 + j] + 1) + 9 * (c[128 + j] + 1) + 3 * (c[192 + j] + 1) +
                              (c[256 + j] + 1)];
        } else {
            for (int j = 0; j < 64; j++) o[j] = tt_b3_encode(c + j, n, 64);
        }
    }
}

tt_status tt_fmt_pack(tt_fmt f, const tt_tern *w, uint8_t *dst, size_t dst_len)
{
    tt_status st = check_tern(w, f);
    if (st) return st;
    if (!dst) return tt_fail(TT_ERR_NULL, "destination buffer is NULL");
    size_t need = tt_fmt_size(f, w->m, w->k);
    if (dst_len < need) return tt_fail(TT_ERR_SIZE, "%s %dx%d needs %zu bytes, buffer has %zu", fmt_names[f],
                                       w->m, w->k, need, dst_len);
    for (size_t i = 0; i < (size_t)w->m * w->k; i++)
        if (w->t[i] < -1 || w->t[i] > 1)
            return tt_fail(TT_ERR_VALUE, "trit %d at index %zu is not in {-1,0,1}", w->t[i], i);
    size_t rb = fmt_row_bytes(f, w->k);
    for (int r = 0; r < w->m; r++) {
        const int8_t *t = w->t + (size_t)r * w->k;
        uint8_t *row = dst + (size_t)r * rb;
        switch (f) {
        case TT_FMT_I2S: i2s_pack_row(t, w->k, row); break;
        case TT_FMT_TL1: tl1_pack_pairs(t, w->k, row); break;
        case TT_FMT_B3: b3_pack_row(t, w->k, row); break;
        default: tl2_pack_row(t, w->k, row); break;
        }
    }
    put_scale(dst + (size_t)w->m * rb, w->scale);
    return TT_OK;
}

/* Row decoders: fill t[0..k) from packed bytes; return TT_ERR_VALUE on an impossible code. */
static tt_status i2s_unpack_row(const uint8_t *row, int k, int8_t *t)
{
    for (int j = 0; j < k; j++) {
        int c = i2s_code(row, j);
        if (c == 3) return tt_fail(TT_ERR_VALUE, "I2_S code 0b11 at column %d", j);
        t[j] = (int8_t)(c - 1);
    }
    return TT_OK;
}

static tt_status tl1_unpack_pairs(const uint8_t *plane, int k, int8_t *t)
{
    for (int p = 0; p < k / 2; p++) {
        int idx = tl1_get(plane, p);
        if (idx > 8) return tt_fail(TT_ERR_VALUE, "TL1 index %d > 8 at pair %d", idx, p);
        t[2 * p] = (int8_t)(idx / 3 - 1);
        t[2 * p + 1] = (int8_t)(idx % 3 - 1);
    }
    return TT_OK;
}

static tt_status tl2_unpack_row(const uint8_t *row, int k, int8_t *t)
{
    int k3 = tt_tl2_k3(k), nt = k3 / 3;
    const uint8_t *mag = row, *sgn = row + k3 / 6, *tail = sgn + k3 / 24;
    for (int i = 0; i < nt; i++) {
        int a = (mag[i / 2] >> (4 * (i & 1))) & 15;
        if (a > 13) return tt_fail(TT_ERR_VALUE, "TL2 magnitude %d > 13 at triple %d", a, i);
        int v = (sgn[i / 8] >> (i % 8)) & 1 ? -a : a;
        int w0 = (v + 13) / 9 - 1, rem = v - 9 * w0; /* rem in [-4, 4] */
        int w1 = (rem + 4) / 3 - 1, w2 = rem - 3 * w1;
        t[3 * i] = (int8_t)w0;
        t[3 * i + 1] = (int8_t)w1;
        t[3 * i + 2] = (int8_t)w2;
    }
    return tl1_unpack_pairs(tail, k - k3, t + k3);
}

static tt_status b3_unpack_row(const uint8_t *row, int k, int8_t *t)
{
    for (int g = 0; g * TT_B3_GROUP_COLS < k; g++) {
        int n = b3_digits(k, g);
        for (int j = 0; j < 64; j++) {
            uint8_t s = row[g * 64 + j];
            int d[5];
            if (!b3_decode(s, n, d)) return tt_fail(TT_ERR_VALUE, "B3 byte 0x%02x is not a %d-digit code (group %d byte %d)", s, n, g, j);
            for (int i = 0; i < n; i++) t[g * TT_B3_GROUP_COLS + i * 64 + j] = (int8_t)(d[i] - 1);
        }
    }
    return TT_OK;
}

static tt_status check_src(tt_fmt f, const uint8_t *src, size_t src_len, int m, int k)
{
    tt_status st = tt_fmt_check_shape(f, m, k);
    if (st) return st;
    if (!src) return tt_fail(TT_ERR_NULL, "source buffer is NULL");
    size_t need = tt_fmt_size(f, m, k);
    if (src_len < need)
        return tt_fail(TT_ERR_SIZE, "%s %dx%d needs %zu bytes, buffer has %zu", fmt_names[f], m, k, need, src_len);
    return TT_OK;
}

tt_status tt_fmt_unpack(tt_fmt f, const uint8_t *src, size_t src_len, tt_tern *w)
{
    if (!w || !w->t) return tt_fail(TT_ERR_NULL, "ternary matrix or its data is NULL");
    tt_status st = check_src(f, src, src_len, w->m, w->k);
    if (st) return st;
    size_t rb = fmt_row_bytes(f, w->k);
    for (int r = 0; r < w->m; r++) {
        const uint8_t *row = src + (size_t)r * rb;
        int8_t *t = w->t + (size_t)r * w->k;
        st = f == TT_FMT_I2S ? i2s_unpack_row(row, w->k, t)
           : f == TT_FMT_TL1 ? tl1_unpack_pairs(row, w->k, t)
           : f == TT_FMT_B3  ? b3_unpack_row(row, w->k, t)
                             : tl2_unpack_row(row, w->k, t);
        if (st) return st;
    }
    w->scale = tt_fmt_scale(f, src, w->m, w->k);
    return TT_OK;
}

/* ---- quantizer ---- */
/* One activation: round half to even (the default rounding mode), clamp to int8; NaN maps to -128. */
static inline int8_t quant_one(float x, float s)
{
    float v = nearbyintf(x * s);
    if (!(v >= -128.0f)) v = -128.0f; /* also maps NaN to -128 deterministically */
    if (v > 127.0f) v = 127.0f;
    return (int8_t)v;
}

void tt_quant_act_ref(const float *x, int k, int8_t *q, float *a_s, int32_t *sum_q)
{
    float amax = 0.0f;
    for (int i = 0; i < k; i++) {
        float a = fabsf(x[i]);
        if (a > amax) amax = a; /* NaN never compares greater: it is ignored for the scale */
    }
    float s = 127.0f / fmaxf(amax, 1e-5f);
    int32_t sum = 0;
    for (int i = 0; i < k; i++) {
        q[i] = quant_one(x[i], s);
        sum += q[i];
    }
    *a_s = s;
    *sum_q = sum;
}

/* Vector forms of tt_quant_act_ref, same results bit for bit: the maximum does not depend on order (and maxps(a, m)
 * returns m when a is NaN, as the scalar compare skips it), x*s is the same product, rounding is half to even, and
 * maxps(v, -128) returns -128 for NaN as the scalar clamp does. The activations are quantized 4 times per layer per
 * token; scalar (nearbyintf is a call) this took ~1 ms per 2B4T token. */
#if defined(__x86_64__)
#include "tt_cpu.h"
#include <immintrin.h>

__attribute__((target("avx512f"))) static void quant_avx512(const float *x, int k, int8_t *q, float *a_s,
                                                            int32_t *sum_q)
{
    __m512 mx = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= k; i += 16) mx = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i)), mx);
    __mmask16 tail = (__mmask16)((1u << (k - i)) - 1);
    if (i < k) mx = _mm512_max_ps(_mm512_abs_ps(_mm512_maskz_loadu_ps(tail, x + i)), mx);
    float amax = _mm512_reduce_max_ps(mx);
    float s = 127.0f / fmaxf(amax, 1e-5f);
    __m512 sv = _mm512_set1_ps(s), lo = _mm512_set1_ps(-128.0f), hi = _mm512_set1_ps(127.0f);
    __m512i sum = _mm512_setzero_si512();
    for (i = 0; i < k; i += 16) {
        __mmask16 m = k - i >= 16 ? (__mmask16)0xffff : tail;
        __m512 v = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), sv),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m512i n = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, lo), hi));
        n = _mm512_maskz_mov_epi32(m, n);
        sum = _mm512_add_epi32(sum, n);
        _mm512_mask_cvtepi32_storeu_epi8(q + i, m, n);
    }
    *a_s = s;
    *sum_q = _mm512_reduce_add_epi32(sum);
}

__attribute__((target("avx2"))) static void quant_avx2(const float *x, int k, int8_t *q, float *a_s, int32_t *sum_q)
{
    __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)), mx = _mm256_setzero_ps();
    int i = 0, k8 = k / 8 * 8;
    for (; i < k8; i += 8) mx = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i), absm), mx);
    float l[8], amax = 0.0f;
    _mm256_storeu_ps(l, mx);
    for (int j = 0; j < 8; j++) amax = l[j] > amax ? l[j] : amax;
    for (; i < k; i++) {
        float a = fabsf(x[i]);
        if (a > amax) amax = a;
    }
    float s = 127.0f / fmaxf(amax, 1e-5f);
    __m256 sv = _mm256_set1_ps(s), lo = _mm256_set1_ps(-128.0f), hi = _mm256_set1_ps(127.0f);
    __m256i sum = _mm256_setzero_si256();
    for (i = 0; i < k8; i += 8) {
        __m256 v = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), sv),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256i n = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, lo), hi));
        sum = _mm256_add_epi32(sum, n);
        __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(n), _mm256_extracti128_si256(n, 1));
        _mm_storel_epi64((__m128i *)(q + i), _mm_packs_epi16(p16, p16));
    }
    int32_t t[8], total = 0;
    _mm256_storeu_si256((__m256i *)t, sum);
    for (int j = 0; j < 8; j++) total += t[j];
    for (; i < k; i++) {
        q[i] = quant_one(x[i], s);
        total += q[i];
    }
    *a_s = s;
    *sum_q = total;
}
#endif

tt_status tt_quant_act(const float *x, int k, int8_t *q, float *a_s, int32_t *sum_q)
{
    if (!x || !q || !a_s || !sum_q) return tt_fail(TT_ERR_NULL, "tt_quant_act: NULL argument");
    if (k < 1 || k > TT_K_MAX) return tt_fail(TT_ERR_SHAPE, "tt_quant_act: K = %d out of range", k);
#if defined(__x86_64__)
    uint32_t u = tt_cpu_get()->usable;
    if (u & TT_F_AVX512F) {
        quant_avx512(x, k, q, a_s, sum_q);
        return TT_OK;
    }
    if (u & TT_F_AVX2) {
        quant_avx2(x, k, q, a_s, sum_q);
        return TT_OK;
    }
#endif
    tt_quant_act_ref(x, k, q, a_s, sum_q);
    return TT_OK;
}

/* ---- oracles ---- */
tt_status tt_oracle_dot(const tt_tern *w, const int8_t *q, int32_t *dot)
{
    if (!w || !w->t || !q || !dot) return tt_fail(TT_ERR_NULL, "tt_oracle_dot: NULL argument");
    if (w->m < 1 || w->k < 1 || w->k > TT_K_MAX || w->m > TT_M_MAX)
        return tt_fail(TT_ERR_SHAPE, "tt_oracle_dot: bad shape %dx%d", w->m, w->k);
    for (int r = 0; r < w->m; r++) {
        const int8_t *t = w->t + (size_t)r * w->k;
        int32_t s = 0;
        for (int j = 0; j < w->k; j++) s += t[j] * q[j];
        dot[r] = s;
    }
    return TT_OK;
}

/* TL2 table entry for magnitude index a (docs/FORMATS.md §5 order), computed from q directly. */
static int32_t tl2_entry(int a, int q0, int q1, int q2)
{
    static const int8_t coef[14][3] = {{0, 0, 0},  {0, 0, 1},  {0, 1, -1}, {0, 1, 0},   {0, 1, 1},
                                       {1, -1, -1}, {1, -1, 0}, {1, -1, 1}, {1, 0, -1}, {1, 0, 0},
                                       {1, 0, 1},  {1, 1, -1}, {1, 1, 0},  {1, 1, 1}};
    return coef[a][0] * q0 + coef[a][1] * q1 + coef[a][2] * q2;
}

/* TL1 table entry in index order: -q0-q1, -q0, -q0+q1, -q1, 0, q1, q0-q1, q0, q0+q1. */
static int32_t tl1_entry(int idx, int q0, int q1) { return (idx / 3 - 1) * q0 + (idx % 3 - 1) * q1; }

static tt_status tl1_dot_pairs(const uint8_t *plane, int k, const int8_t *q, int32_t *acc)
{
    for (int p = 0; p < k / 2; p++) {
        int idx = tl1_get(plane, p);
        if (idx > 8) return tt_fail(TT_ERR_VALUE, "TL1 index %d > 8 at pair %d", idx, p);
        *acc += tl1_entry(idx, q[2 * p], q[2 * p + 1]);
    }
    return TT_OK;
}

tt_status tt_fmt_oracle_dot(tt_fmt f, const uint8_t *src, size_t src_len, int m, int k, const int8_t *q,
                            int32_t *dot)
{
    tt_status st = check_src(f, src, src_len, m, k);
    if (st) return st;
    if (!q || !dot) return tt_fail(TT_ERR_NULL, "tt_fmt_oracle_dot: NULL argument");
    size_t rb = fmt_row_bytes(f, k);
    for (int r = 0; r < m; r++) {
        const uint8_t *row = src + (size_t)r * rb;
        int32_t s = 0;
        if (f == TT_FMT_I2S) {
            for (int j = 0; j < k; j++) {
                int c = i2s_code(row, j);
                if (c == 3) return tt_fail(TT_ERR_VALUE, "I2_S code 0b11 at row %d column %d", r, j);
                s += (c - 1) * q[j];
            }
        } else if (f == TT_FMT_TL1) {
            if ((st = tl1_dot_pairs(row, k, q, &s))) return st;
        } else if (f == TT_FMT_B3) { /* digit by digit from the bytes, as every decoder does */
            for (int g = 0; g * TT_B3_GROUP_COLS < k; g++) {
                int n = b3_digits(k, g);
                for (int j = 0; j < 64; j++) {
                    uint8_t b = row[g * 64 + j];
                    int d[5];
                    if (!b3_decode(b, n, d))
                        return tt_fail(TT_ERR_VALUE, "B3 byte 0x%02x at row %d group %d is not a %d-digit code", b, r, g, n);
                    for (int i = 0; i < n; i++) s += (d[i] - 1) * q[g * TT_B3_GROUP_COLS + i * 64 + j];
                }
            }
        } else {
            int k3 = tt_tl2_k3(k), nt = k3 / 3;
            const uint8_t *mag = row, *sgn = row + k3 / 6;
            for (int i = 0; i < nt; i++) {
                int a = (mag[i / 2] >> (4 * (i & 1))) & 15;
                if (a > 13) return tt_fail(TT_ERR_VALUE, "TL2 magnitude %d > 13 at row %d triple %d", a, r, i);
                int32_t e = tl2_entry(a, q[3 * i], q[3 * i + 1], q[3 * i + 2]);
                s += (sgn[i / 8] >> (i % 8)) & 1 ? -e : e;
            }
            if ((st = tl1_dot_pairs(sgn + k3 / 24, k - k3, q + k3, &s))) return st;
        }
        dot[r] = s;
    }
    return TT_OK;
}

static void dot_to_float_ref(const int32_t *dot, int m, float a_s, float s_w, float *y)
{
    for (int r = 0; r < m; r++) y[r] = (float)dot[r] / a_s * s_w;
}

/* The same conversion, division and product per element (IEEE division is exact-rounded on every ISA): the same
 * bits. Baseline x86-64 code divides 4 floats per instruction; this runs after every GEMV, on every output row. */
#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void dot_to_float_avx512(const int32_t *dot, int m, float a_s, float s_w,
                                                                   float *y)
{
    __m512 av = _mm512_set1_ps(a_s), sv = _mm512_set1_ps(s_w);
    int r = 0;
    for (; r + 16 <= m; r += 16) {
        __m512 d = _mm512_cvtepi32_ps(_mm512_loadu_si512((const void *)(dot + r)));
        _mm512_storeu_ps(y + r, _mm512_mul_ps(_mm512_div_ps(d, av), sv));
    }
    if (r < m) {
        __mmask16 k = (__mmask16)((1u << (m - r)) - 1);
        __m512 d = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(k, dot + r));
        _mm512_mask_storeu_ps(y + r, k, _mm512_mul_ps(_mm512_div_ps(d, av), sv));
    }
}

__attribute__((target("avx2"))) static void dot_to_float_avx2(const int32_t *dot, int m, float a_s, float s_w, float *y)
{
    __m256 av = _mm256_set1_ps(a_s), sv = _mm256_set1_ps(s_w);
    int r = 0;
    for (; r + 8 <= m; r += 8) {
        __m256 d = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(dot + r)));
        _mm256_storeu_ps(y + r, _mm256_mul_ps(_mm256_div_ps(d, av), sv));
    }
    dot_to_float_ref(dot + r, m - r, a_s, s_w, y + r);
}
#endif

void tt_dot_to_float(const int32_t *dot, int m, float a_s, float s_w, float *y)
{
#if defined(__x86_64__)
    uint32_t u = tt_cpu_get()->usable;
    if (u & TT_F_AVX512F) {
        dot_to_float_avx512(dot, m, a_s, s_w, y);
        return;
    }
    if (u & TT_F_AVX2) {
        dot_to_float_avx2(dot, m, a_s, s_w, y);
        return;
    }
#endif
    dot_to_float_ref(dot, m, a_s, s_w, y);
}

void tt_dot_to_float_ref(const int32_t *dot, int m, float a_s, float s_w, float *y)
{
    dot_to_float_ref(dot, m, a_s, s_w, y);
}

/* ---- helpers ---- */
tt_status tt_tern_alloc(tt_tern *w, int m, int k)
{
    if (!w) return tt_fail(TT_ERR_NULL, "tt_tern_alloc: NULL");
    if (m < 1 || k < 1 || m > TT_M_MAX || k > TT_K_MAX)
        return tt_fail(TT_ERR_SHAPE, "tt_tern_alloc: bad shape %dx%d", m, k);
    w->m = m;
    w->k = k;
    w->scale = 1.0f;
    w->t = malloc((size_t)m * k);
    return w->t ? TT_OK : tt_fail(TT_ERR_NOMEM, "tt_tern_alloc: %dx%d", m, k);
}

void tt_tern_free(tt_tern *w)
{
    if (!w) return;
    free(w->t);
    w->t = NULL;
}

uint64_t tt_rand_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void tt_tern_random(tt_tern *w, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < (size_t)w->m * w->k; i++) w->t[i] = (int8_t)(tt_rand_next(&s) % 3) - 1;
}
