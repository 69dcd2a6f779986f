/* LM-head row dots (see tt_dense.h). The ISA paths are per-function target attributes selected once at run time:
 * the rest of the binary stays baseline x86-64. Several rows at a time share each activation load and keep more
 * independent add chains in flight; each row's own chains are the portable order, so results are identical.
 * Each step of a multi-row member prefetches as many bytes of the next block of rows as it reads of this one, so the
 * prefetches run one block ahead (an earlier 4-row f16 loop streamed 23 GB/s on the hardware prefetchers alone and
 * 37 GB/s with them, of a 39 GB/s read, 1 thread, AMD Zen 5 VM). */
#include "tt_dense.h"

#include "tt_cpu.h"
#include "tt_half.h"
#include "tt_q32.h"
#include "tt_q6k.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define LANES 16

float tt_dense_half_to_float(uint16_t h)
{
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, bits;
    if (e == 0) {
        if (!m) bits = s;
        else { /* subnormal: value m * 2^-24 exactly */
            float f = (float)m * 0x1p-24f;
            memcpy(&bits, &f, 4);
            bits |= s;
        }
    } else if (e == 31) bits = s | 0x7f800000u | (m << 13);
    else bits = s | ((e + 112) << 23) | (m << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static float sum_lanes(const float *l)
{
    float s = 0.0f;
    for (int j = 0; j < LANES; j++) s += l[j];
    return s;
}

/* ggml_vec_dot_f16's order in an AVX-512 build (ggml-cpu: GGML_F16_STEP 64, GGML_F16_EPR 16): four 16-lane
 * accumulators s0..s3, s_j takes elements i + 16j .. i + 16j + 15 of each step of 64 (multiply, then add: the products
 * of two halves are exact in f32, so this equals ggml's fma on its f16 input); then GGML_F32x16_REDUCE: s0 += s2,
 * s1 += s3, s0 += s1, and _mm512_reduce_add_ps's tree (lane l += lane l + 8, then l + 4, l + 2, lane 0 + lane 1); the
 * elements past the last step of 64 are added in double, one product at a time, and the double is rounded to float
 * at the end. bitnet.cpp's logits on the golden files (tests/data/golden/, made on an AVX-512 machine with
 * -march=native) are these bits at position 0. */
static float f16_finish(float s[4][16], const uint16_t *w, const float *x, int n)
{
    for (int l = 0; l < 16; l++) {
        s[0][l] += s[2][l];
        s[1][l] += s[3][l];
    }
    for (int l = 0; l < 16; l++) s[0][l] += s[1][l];
    for (int h = 8; h >= 1; h /= 2)
        for (int l = 0; l < h; l++) s[0][l] += s[0][l + h];
    double d = (double)s[0][0];
    for (int i = 0; i < n; i++) {
        float p = tt_dense_half_to_float(w[i]) * x[i];
        d += (double)p;
    }
    return (float)d;
}

float tt_dense_f16_dot_ref(const uint16_t *w, const float *x, int k)
{
    float s[4][16] = {{0}};
    int np = k & ~63;
    for (int i = 0; i < np; i += 64)
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 16; l++) {
                float p = tt_dense_half_to_float(w[i + 16 * j + l]) * x[i + 16 * j + l];
                s[j][l] += p;
            }
    return f16_finish(s, w + np, x + np, k - np);
}

static float tree16(float *l)
{
    for (int w = 8; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) l[j] += l[j + w];
    return l[0];
}

float tt_dense_dot_f32_ref(const float *a, const float *b, int n)
{
    float l[LANES] = {0};
    for (int i = 0; i < n; i++) {
        float p = a[i] * b[i];
        l[i % LANES] += p;
    }
    return tree16(l);
}

static void axpy_portable(float *y, float a, const float *x, int n)
{
    for (int i = 0; i < n; i++) {
        float p = a * x[i];
        y[i] += p;
    }
}

static void scores_portable(const float *q, const float *k, size_t stride, int n, int hd, float scale, float *att)
{
    for (int t = 0; t < n; t++) att[t] = tt_dense_dot_f32(q, k + (size_t)t * stride, hd) * scale;
}

static void wsum_portable(const float *att, const float *v, size_t stride, int n, int hd, float *out)
{
    for (int i = 0; i < hd; i++) out[i] = 0.0f;
    for (int t = 0; t < n; t++) axpy_portable(out, att[t], v + (size_t)t * stride, hd);
}

/* The f16 cache's portable paths: the conversion (tt_half.h's branchless one, the same bits as
 * tt_dense_half_to_float, so the loops can vectorize at the baseline ISA) and then exactly the f32 definitions'
 * operations and order. */
static void scores_f16_portable(const float *q, const uint16_t *k, size_t stride, int n, int hd, float scale,
                                float *att)
{
    for (int t = 0; t < n; t++) {
        const uint16_t *r = k + (size_t)t * stride;
        float l[LANES] = {0};
        for (int i = 0; i < hd; i++) {
            float p = q[i] * tt_half_to_float_vec(r[i]);
            l[i % LANES] += p;
        }
        att[t] = tree16(l) * scale;
    }
}

static void wsum_f16_portable(const float *att, const uint16_t *v, size_t stride, int n, int hd, float *out)
{
    for (int i = 0; i < hd; i++) out[i] = 0.0f;
    for (int t = 0; t < n; t++) {
        const uint16_t *r = v + (size_t)t * stride;
        for (int i = 0; i < hd; i++) {
            float p = att[t] * tt_half_to_float_vec(r[i]);
            out[i] += p;
        }
    }
}

/* The bits of a float that is already a half value (tt_dense_round_f16_ref's output): nothing left to round. */
static uint16_t half_bits_of_half_value(float f)
{
    uint32_t u, sign, ax;
    memcpy(&u, &f, 4);
    sign = (u >> 16) & 0x8000u, ax = u & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | ((ax >> 13) & 0x3ffu)); /* inf, NaN (payload kept) */
    if (ax >= 0x38800000u) return (uint16_t)(sign | ((ax - 0x38000000u) >> 13));      /* normal */
    float a;
    memcpy(&a, &ax, 4);
    return (uint16_t)(sign | (uint32_t)(a * 0x1p24f)); /* subnormal or zero: a multiple of 2^-24, exact */
}

void tt_dense_to_f16_ref(uint16_t *h, const float *x, int n)
{
    for (int i = 0; i < n; i++) {
        float r = x[i];
        tt_dense_round_f16_ref(&r, 1);
        h[i] = half_bits_of_half_value(r);
    }
}

/* ---- elementwise ops (tt_dense.h): portable definitions ---- */
void tt_dense_scale_mul_ref(float *o, const float *x, float s, const float *w, int n)
{
    for (int i = 0; i < n; i++) {
        float a = x[i] * s;
        o[i] = a * w[i];
    }
}

void tt_dense_add_ref(float *x, const float *y, int n)
{
    for (int i = 0; i < n; i++) x[i] += y[i];
}

void tt_dense_relu2_mul_ref(float *g, const float *u, int n)
{
    for (int i = 0; i < n; i++) {
        float r = g[i] > 0 ? g[i] : 0.0f, r2 = r * r;
        g[i] = r2 * u[i];
    }
}

void tt_dense_rope_ref(float *v, const float *cs, int half)
{
    for (int i = 0; i < half; i++) {
        float x0 = v[i], x1 = v[half + i], c = cs[i], s = cs[half + i];
        float a = x0 * c, b = x1 * s, d = x0 * s, e = x1 * c;
        v[i] = a - b;
        v[half + i] = d + e;
    }
}

void tt_dense_round_f16_ref(float *x, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t u, ax, r;
        memcpy(&u, &x[i], 4);
        ax = u & 0x7fffffffu;
        if (ax >= 0x7f800000u) { /* inf stays; NaN keeps its top 10 payload bits and becomes quiet */
            r = ax > 0x7f800000u ? (ax & 0xffffe000u) | 0x00400000u : ax;
        } else if (ax >= 0x38800000u) { /* half normal range: round the mantissa to 10 bits, ties to even */
            r = (ax + 0xfffu + ((ax >> 13) & 1u)) & ~0x1fffu;
            if (r > 0x477fe000u) r = 0x7f800000u; /* beyond 65504 after rounding: inf */
        } else { /* half subnormals: multiples of 2^-24 (x · 2^24 is exact, nearbyintf rounds ties to even) */
            float f, a;
            memcpy(&a, &ax, 4);
            f = nearbyintf(a * 0x1p24f) * 0x1p-24f;
            memcpy(&r, &f, 4);
        }
        r |= u & 0x80000000u;
        memcpy(&x[i], &r, 4);
    }
}

/* tt_dense_expf's constants: log2(e); ln2 = LN2_HI + LN2_LO (LN2_HI the float nearest ln2); 1/i! for i = 7..2 */
#define EXP_LOG2E 0x1.715476p+0f
#define EXP_LN2_HI 0x1.62e430p-1f
#define EXP_LN2_LO -0x1.05c610p-29f
#define EXP_ROUND 0x1.8p23f /* added and taken away: rounds |v| < 2^22 to an integer, ties to even */
#define EXP_C7 0x1.a01a02p-13f
#define EXP_C6 0x1.6c16c2p-10f
#define EXP_C5 0x1.111112p-7f
#define EXP_C4 0x1.555556p-5f
#define EXP_C3 0x1.555556p-3f
#define EXP_C2 0x1p-1f

static float exp_pow2(int32_t e) /* 2^e for -126 <= e <= 127 */
{
    uint32_t b = (uint32_t)(e + 127) << 23;
    float f;
    memcpy(&f, &b, 4);
    return f;
}

float tt_dense_expf(float x)
{
    if (x != x) return x + x;
    float xc = x > -104.0f ? x : -104.0f;
    xc = xc < 89.0f ? xc : 89.0f;
    float kf = fmaf(xc, EXP_LOG2E, EXP_ROUND) - EXP_ROUND;
    float r = fmaf(-kf, EXP_LN2_HI, xc);
    r = fmaf(-kf, EXP_LN2_LO, r);
    float p = fmaf(EXP_C7, r, EXP_C6);
    p = fmaf(p, r, EXP_C5);
    p = fmaf(p, r, EXP_C4);
    p = fmaf(p, r, EXP_C3);
    p = fmaf(p, r, EXP_C2);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    int32_t k = (int32_t)kf, k1 = k >> 1, k2 = k - k1;
    return (p * exp_pow2(k1)) * exp_pow2(k2);
}

/* The softmax's max: m, then x[i] > m ? x[i] : m for i in [i0, n) (what the vector paths' max_ps does lane by lane:
 * a NaN is skipped unless it is the start, so any split of the elements gives the same m, but for the sign of a
 * zero maximum, which changes no e^(x[i] − m): only a zero difference differs, and e^±0 = 1) */
static float softmax_max_from(float m, const float *x, int i0, int n)
{
    for (int i = i0; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

/* The end of the softmax, shared by every ISA: the sixteen partial sums s (each over the first n16 elements'
 * lane), the tail added in order, then the scale. */
static double softmax_finish(float *x, int n, int n16, double *s)
{
    for (int st = 8; st >= 1; st /= 2)
        for (int j = 0; j < st; j++) s[j] += s[j + st];
    double sum = s[0];
    for (int i = n16; i < n; i++) sum += x[i];
    float r = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) x[i] *= r;
    return sum;
}

double tt_dense_softmax_ref(float *x, int n)
{
    float m = softmax_max_from(x[0], x, 1, n);
    int n16 = n - n % LANES;
    double s[LANES] = {0};
    for (int i = 0; i < n; i++) {
        x[i] = tt_dense_expf(x[i] - m);
        if (i < n16) s[i % LANES] += x[i];
    }
    return softmax_finish(x, n, n16, s);
}

static void f16_portable(const uint16_t *w, const float *x, int k, float *y, int r0, int r1)
{
    for (int r = r0; r < r1; r++) y[r] = tt_dense_f16_dot_ref(w + (size_t)r * k, x, k);
}

static void i8_portable(const int8_t *w, const float *scale, const float *x, int k, float *y, int r0, int r1)
{
    for (int r = r0; r < r1; r++) {
        float l[LANES] = {0};
        const int8_t *row = w + (size_t)r * k;
        for (int i = 0; i < k; i += LANES)
            for (int j = 0; j < LANES; j++) {
                float p = (float)row[i + j] * x[i + j];
                l[j] += p;
            }
        y[r] = sum_lanes(l) * scale[r];
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static float hsum16_512(__m512 v)
{
    float l[LANES];
    _mm512_storeu_ps(l, v);
    return sum_lanes(l);
}

/* R rows share each activation load; each row keeps its four registers (ggml's s0..s3), so 4R independent add chains;
 * each step prefetches as many bytes of the block of R rows P blocks ahead as it reads of this block (P = 0: the
 * hardware prefetchers alone), and (D > 0) the two lines D bytes past the two it reads of each row. A group's rows are
 * part apart: part = 0, R neighbouring rows, a group after the next, the rows past the last full group one at a time
 * by the portable loop; part > 0 (the streams members), row i of each of R parts of the range [r0, r0 + R·part) in
 * step i, the rows past the parts left to the caller. R, P and D are constants in each instance (always_inline), so
 * the accumulators stay in registers. Every instance gives the portable bits. */
#define TT_INLINE_512 __attribute__((target("avx512f"), always_inline)) static inline
TT_INLINE_512 void f16_rows_512(const uint16_t *w, const float *x, int k, float *y, int r0, int r1, const int R,
                                const int P, const int D, const int part)
{
    const int np = k & ~63;
    const size_t gap = part ? (size_t)part : 1;
    int r = r0;
    for (; part ? r < r0 + part : r + R <= r1; r += part ? 1 : R) {
        const uint16_t *a = w + (size_t)r * k;
        const char *pf = (const char *)(a + (size_t)P * R * k);
        __m512 s[6][4];
        for (int q = 0; q < R; q++) s[q][0] = s[q][1] = s[q][2] = s[q][3] = _mm512_setzero_ps();
        for (int i = 0; i < np; i += 64) {
            if (P)
                for (int l = 0; l < 128 * R; l += 64) _mm_prefetch(pf + 2 * (size_t)R * i + l, _MM_HINT_T0);
            if (D)
                for (int q = 0; q < R; q++) {
                    const char *d = (const char *)(a + (size_t)q * gap * k + i) + D;
                    _mm_prefetch(d, _MM_HINT_T0), _mm_prefetch(d + 64, _MM_HINT_T0);
                }
            __m512 xv[4];
            for (int j = 0; j < 4; j++) xv[j] = _mm512_loadu_ps(x + i + 16 * j);
            for (int q = 0; q < R; q++) {
                const uint16_t *row = a + (size_t)q * gap * k + i;
                for (int j = 0; j < 4; j++) {
                    __m512 wv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + 16 * j)));
                    s[q][j] = _mm512_add_ps(s[q][j], _mm512_mul_ps(wv, xv[j]));
                }
            }
        }
        for (int q = 0; q < R; q++) {
            float l[4][16];
            for (int j = 0; j < 4; j++) _mm512_storeu_ps(l[j], s[q][j]);
            y[r + q * gap] = f16_finish(l, a + (size_t)q * gap * k + np, x + np, k - np);
        }
    }
    if (!part) f16_portable(w, x, k, y, r, r1);
}

/* i8: one register per row; R, P, part as f16_rows_512, and (D > 0) each row prefetching D bytes ahead of itself once
 * per line. */
TT_INLINE_512 void i8_rows_512(const int8_t *w, const float *scale, const float *x, int k, float *y, int r0, int r1,
                               const int R, const int P, const int D, const int part)
{
    const size_t gap = part ? (size_t)part : 1;
    int r = r0;
    for (; part ? r < r0 + part : r + R <= r1; r += part ? 1 : R) {
        const int8_t *a = w + (size_t)r * k;
        const char *pf = (const char *)(a + (size_t)P * R * k);
        __m512 s[8];
        for (int q = 0; q < R; q++) s[q] = _mm512_setzero_ps();
        for (int i = 0; i < k; i += LANES) {
            if (P)
                for (int l = 0; l < 16 * R; l += 64) _mm_prefetch(pf + (size_t)R * i + l, _MM_HINT_T0);
            if (D && !(i & 63))
                for (int q = 0; q < R; q++) _mm_prefetch((const char *)(a + (size_t)q * gap * k + i) + D, _MM_HINT_T0);
            __m512 xv = _mm512_loadu_ps(x + i);
            for (int q = 0; q < R; q++) {
                __m128i b = _mm_loadu_si128((const __m128i *)(a + (size_t)q * gap * k + i));
                __m512 wv = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b));
                s[q] = _mm512_add_ps(s[q], _mm512_mul_ps(wv, xv));
            }
        }
        for (int q = 0; q < R; q++) y[r + q * gap] = hsum16_512(s[q]) * scale[r + q * gap];
    }
    if (!part) i8_portable(w, scale, x, k, y, r, r1);
}

#define F16_512(R, P)                                                                                                  \
    __attribute__((target("avx512f"))) static void f16_512_r##R##_p##P(const uint16_t *w, const float *x, int k,      \
                                                                       float *y, int r0, int r1)                       \
    {                                                                                                                  \
        f16_rows_512(w, x, k, y, r0, r1, R, P, 0, 0);                                                                  \
    }
#define I8_512(R, P)                                                                                                   \
    __attribute__((target("avx512f"))) static void i8_512_r##R##_p##P(const int8_t *w, const float *sc,               \
                                                                      const float *x, int k, float *y, int r0, int r1) \
    {                                                                                                                  \
        i8_rows_512(w, sc, x, k, y, r0, r1, R, P, 0, 0);                                                               \
    }
#define EACH_512(X) X(1, 0) X(1, 1) X(1, 2) X(2, 0) X(2, 1) X(2, 2) X(4, 0) X(4, 1) X(4, 2) X(8, 0) X(8, 1) X(8, 2)
/* i8 as S streams (F16_512S below says why): the range cut into S parts, row i of every part in the same step, each
 * row its own register and order (the portable bits), each stream prefetching D bytes ahead once per line; the rows
 * past S equal parts by the portable loop. */
#define I8_512S(S, D)                                                                                                  \
    __attribute__((target("avx512f"))) static void i8_512_s##S##_d##D(const int8_t *w, const float *sc,               \
                                                                      const float *x, int k, float *y, int r0, int r1) \
    {                                                                                                                  \
        const int part = (r1 - r0) / S;                                                                                \
        if (part) i8_rows_512(w, sc, x, k, y, r0, r1, S, 0, D, part);                                                  \
        i8_portable(w, sc, x, k, y, r0 + S * part, r1);                                                                \
    }
#define EACH_I8_512S(X) X(4, 512) X(4, 1024) X(8, 512) X(8, 1024)
EACH_I8_512S(I8_512S)
/* f16: four registers per row, so at most 4 rows (16 accumulators, 4 activations) */
#define EACH_F16_512(X) X(1, 0) X(1, 1) X(1, 2) X(2, 0) X(2, 1) X(2, 2) X(4, 0) X(4, 1) X(4, 2)
EACH_F16_512(F16_512)
EACH_512(I8_512)
/* D bytes ahead in each row's own stream (every step prefetches the two lines D bytes past the two it reads of each
 * row): short distances, inside the row or into the next row's start. On the 2-core Xeon VM a streaming read with
 * 0.5-3 KiB software prefetch reads ~1.25x a plain one; 4 KiB and more gain nothing (docs/MEASUREMENT.md). */
#define F16_512D(R, D)                                                                                                 \
    __attribute__((target("avx512f"))) static void f16_512_r##R##_d##D(const uint16_t *w, const float *x, int k,      \
                                                                       float *y, int r0, int r1)                       \
    {                                                                                                                  \
        f16_rows_512(w, x, k, y, r0, r1, R, 0, D, 0);                                                                  \
    }
#define EACH_F16_512D(X) X(1, 512) X(1, 1024) X(1, 2048) X(2, 512) X(2, 1024) X(2, 2048) X(4, 512) X(4, 1024) X(4, 2048)
EACH_F16_512D(F16_512D)

/* S streams: the rows [r0, r1) cut into S contiguous parts, row i of every part read together (each row's own
 * registers and order, so every member gives the portable bits), each stream prefetching D bytes ahead of itself; the
 * rows past S equal parts go one at a time. One stream of consecutive rows left a core's reads short of a plain
 * prefetching read on the 2-core Xeon VM (the f16 head's single-stream members 80-84 % of it, four streams 94-95 %;
 * docs/MEASUREMENT.md): independent streams keep more lines in flight while the conversions and adds run. */
#define F16_512S(S, D)                                                                                                 \
    __attribute__((target("avx512f"))) static void f16_512_s##S##_d##D(const uint16_t *w, const float *x, int k,      \
                                                                       float *y, int r0, int r1)                       \
    {                                                                                                                  \
        const int part = (r1 - r0) / S;                                                                                \
        if (part) f16_rows_512(w, x, k, y, r0, r1, S, 0, D, part);                                                     \
        f16_rows_512(w, x, k, y, r0 + S * part, r1, 1, 0, D, 0);                                                       \
    }
#define EACH_F16_512S(X) X(2, 512) X(2, 1024) X(2, 2048) X(4, 512) X(4, 1024) X(4, 2048) X(6, 512) X(6, 1024) X(6, 2048)
EACH_F16_512S(F16_512S)

/* l[j] += l[j+8], l[j] += l[j+4], l[j] += l[j+2], l[0] + l[1] (tree16's order) */
__attribute__((target("avx512f"))) static inline float tree512(__m512 s)
{
    __m256 upper = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)); /* lanes 8..15 */
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(s), upper);
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
}

__attribute__((target("avx512f"))) static float dot_f32_avx512(const float *a, const float *b, int n)
{
    __m512 s = _mm512_setzero_ps();
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        s = _mm512_add_ps(s, _mm512_mul_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
    if (i < n) { /* the tail adds to its lanes only: the others keep their value (and the sign of a zero) */
        __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
        __m512 p = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, a + i), _mm512_maskz_loadu_ps(k, b + i));
        s = _mm512_mask_add_ps(s, k, s, p);
    }
    return tree512(s);
}

/* four keys at a time: four independent add chains, each key summed exactly as dot_f32_avx512 sums it */
__attribute__((target("avx512f"))) static void scores_avx512(const float *q, const float *k, size_t stride, int n,
                                                             int hd, float scale, float *att)
{
    int t = 0, full = hd / LANES * LANES;
    __mmask16 tail = (__mmask16)((1u << (hd - full)) - 1);
    for (; t + 4 <= n; t += 4) {
        const float *k0 = k + (size_t)t * stride, *k1 = k0 + stride, *k2 = k1 + stride, *k3 = k2 + stride;
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (int i = 0; i < full; i += LANES) {
            __m512 qv = _mm512_loadu_ps(q + i);
            s0 = _mm512_add_ps(s0, _mm512_mul_ps(qv, _mm512_loadu_ps(k0 + i)));
            s1 = _mm512_add_ps(s1, _mm512_mul_ps(qv, _mm512_loadu_ps(k1 + i)));
            s2 = _mm512_add_ps(s2, _mm512_mul_ps(qv, _mm512_loadu_ps(k2 + i)));
            s3 = _mm512_add_ps(s3, _mm512_mul_ps(qv, _mm512_loadu_ps(k3 + i)));
        }
        if (tail) {
            __m512 qv = _mm512_maskz_loadu_ps(tail, q + full);
            s0 = _mm512_mask_add_ps(s0, tail, s0, _mm512_mul_ps(qv, _mm512_maskz_loadu_ps(tail, k0 + full)));
            s1 = _mm512_mask_add_ps(s1, tail, s1, _mm512_mul_ps(qv, _mm512_maskz_loadu_ps(tail, k1 + full)));
            s2 = _mm512_mask_add_ps(s2, tail, s2, _mm512_mul_ps(qv, _mm512_maskz_loadu_ps(tail, k2 + full)));
            s3 = _mm512_mask_add_ps(s3, tail, s3, _mm512_mul_ps(qv, _mm512_maskz_loadu_ps(tail, k3 + full)));
        }
        att[t] = tree512(s0) * scale, att[t + 1] = tree512(s1) * scale;
        att[t + 2] = tree512(s2) * scale, att[t + 3] = tree512(s3) * scale;
    }
    for (; t < n; t++) att[t] = dot_f32_avx512(q, k + (size_t)t * stride, hd) * scale;
}

/* The f16 cache's AVX-512 paths: each 16 halves converted in a register. The query (scores) and the weights
 * (weighted sums) hold f16 values (tt_dense.h), so every product of two halves is exact in f32 and a fused
 * multiply-add rounds once, as the multiply-then-add does. */
__attribute__((target("avx512f"))) static inline __m512 ld_h16(const uint16_t *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

/* The attention's kernels request the cache rows this many positions ahead: at 2048 positions on the 2-core Xeon VM
 * the attention of one decode token took 19.5-19.8 ms on the hardware prefetchers alone and 16.1-16.6 ms with
 * this (1 thread; 32 and 64 rows ahead: the same); docs/MEASUREMENT.md. */
#define ATT_PF_ROWS 16
/* tree512 of sixteen sums at once, in one register: s[4u + g] comes out in lane 4g + u. Each level pairs the lanes
 * tree512 pairs, with the same operand first (so the bits are tree512's): 15 adds and 30 shuffles for the sixteen,
 * against ~8 dependent operations for each one alone. */
__attribute__((target("avx512f"), always_inline)) static inline __m512 tree512_x16(const __m512 *s)
{
    __m512 h[8], q[4], r[2];
    for (int p = 0; p < 8; p++) /* lanes j and j + 8 of s[2p] and s[2p+1] */
        h[p] = _mm512_add_ps(_mm512_shuffle_f32x4(s[2 * p], s[2 * p + 1], 0x44),
                             _mm512_shuffle_f32x4(s[2 * p], s[2 * p + 1], 0xEE));
    for (int p = 0; p < 4; p++) /* j and j + 4 */
        q[p] = _mm512_add_ps(_mm512_shuffle_f32x4(h[2 * p], h[2 * p + 1], 0x88),
                             _mm512_shuffle_f32x4(h[2 * p], h[2 * p + 1], 0xDD));
    for (int p = 0; p < 2; p++) /* j and j + 2 */
        r[p] = _mm512_add_ps(_mm512_shuffle_ps(q[2 * p], q[2 * p + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(q[2 * p], q[2 * p + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    return _mm512_add_ps(_mm512_shuffle_ps(r[0], r[1], _MM_SHUFFLE(2, 0, 2, 0)), /* 0 and 1 */
                         _mm512_shuffle_ps(r[0], r[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

/* G heads (1..4) over the same keys (hd a multiple of 16), four keys at a time: 4G independent add chains, and four
 * rows in flight (a long context's rows come from DRAM: a first version with two keys and 32 outputs at a time
 * decoded 7-11 % slower than one head at a time, docs/MEASUREMENT.md).
 * Each (head, key) sums as scores_avx512 sums it: 16 lanes, then tree512. */
__attribute__((target("avx512f"), always_inline)) static inline void scores_f16_g_512(const float *q, const int G,
                                                                                     const uint16_t *k, size_t stride,
                                                                                     int n, int hd, float scale,
                                                                                     float *att, size_t ldatt)
{
    int t = 0;
    for (; t + 4 <= n; t += 4) {
        const uint16_t *k0 = k + (size_t)t * stride;
        if (t + 4 + ATT_PF_ROWS <= n)
            for (int u = 0; u < 4; u++) {
                const char *ahead = (const char *)(k0 + (size_t)(ATT_PF_ROWS + u) * stride);
                for (int b = 0; b < hd * 2; b += 64) _mm_prefetch(ahead + b, _MM_HINT_T0);
            }
        __m512 sc[4][4];
        for (int g = 0; g < G; g++) sc[g][0] = sc[g][1] = sc[g][2] = sc[g][3] = _mm512_setzero_ps();
        for (int i = 0; i < hd; i += LANES) {
            __m512 kv[4];
            for (int u = 0; u < 4; u++) kv[u] = ld_h16(k0 + (size_t)u * stride + i);
            for (int g = 0; g < G; g++) {
                __m512 qv = _mm512_loadu_ps(q + (size_t)g * hd + i);
                for (int u = 0; u < 4; u++) sc[g][u] = _mm512_fmadd_ps(qv, kv[u], sc[g][u]);
            }
        }
        if (G == 4) { /* the sixteen sums reduced together: head g's four scores in 128-bit lane g */
            __m512 all[16];
            for (int g = 0; g < 4; g++)
                for (int u = 0; u < 4; u++) all[4 * u + g] = sc[g][u];
            __m512 f = _mm512_mul_ps(tree512_x16(all), _mm512_set1_ps(scale));
            _mm_storeu_ps(att + t, _mm512_castps512_ps128(f));
            _mm_storeu_ps(att + ldatt + t, _mm512_extractf32x4_ps(f, 1));
            _mm_storeu_ps(att + 2 * ldatt + t, _mm512_extractf32x4_ps(f, 2));
            _mm_storeu_ps(att + 3 * ldatt + t, _mm512_extractf32x4_ps(f, 3));
        } else
            for (int g = 0; g < G; g++)
                for (int u = 0; u < 4; u++) att[g * ldatt + t + u] = tree512(sc[g][u]) * scale;
    }
    for (; t < n; t++) {
        const uint16_t *k0 = k + (size_t)t * stride;
        __m512 s0[4];
        for (int g = 0; g < G; g++) s0[g] = _mm512_setzero_ps();
        for (int i = 0; i < hd; i += LANES) {
            __m512 a = ld_h16(k0 + i);
            for (int g = 0; g < G; g++) s0[g] = _mm512_fmadd_ps(_mm512_loadu_ps(q + (size_t)g * hd + i), a, s0[g]);
        }
        for (int g = 0; g < G; g++) att[g * ldatt + t] = tree512(s0[g]) * scale;
    }
}

/* G heads (1..4) over the same values: blocks of 64 outputs (4G accumulators; each pass reads two lines of every
 * row), then of 16, the last hd % 16 by the portable loop. Each output is its own sum over the positions in order,
 * so blocking the columns changes no bit: every output sums as wsum_portable sums it. */
__attribute__((target("avx512f"), always_inline)) static inline void wsum_f16_g_512(const float *att, size_t ldatt,
                                                                                   const int G, const uint16_t *v,
                                                                                   size_t stride, int n, int hd,
                                                                                   float *out)
{
    int i = 0;
    for (; i + 64 <= hd; i += 64) {
        __m512 o[4][4];
        for (int g = 0; g < G; g++) o[g][0] = o[g][1] = o[g][2] = o[g][3] = _mm512_setzero_ps();
        for (int t = 0; t < n; t++) {
            const uint16_t *r = v + (size_t)t * stride + i;
            if (t + ATT_PF_ROWS < n) {
                _mm_prefetch((const char *)(r + (size_t)ATT_PF_ROWS * stride), _MM_HINT_T0);
                _mm_prefetch((const char *)(r + (size_t)ATT_PF_ROWS * stride) + 64, _MM_HINT_T0);
            }
            __m512 x[4];
            for (int u = 0; u < 4; u++) x[u] = ld_h16(r + 16 * u);
            for (int g = 0; g < G; g++) {
                __m512 w = _mm512_set1_ps(att[g * ldatt + t]);
                for (int u = 0; u < 4; u++) o[g][u] = _mm512_fmadd_ps(w, x[u], o[g][u]);
            }
        }
        for (int g = 0; g < G; g++)
            for (int u = 0; u < 4; u++) _mm512_storeu_ps(out + (size_t)g * hd + i + 16 * u, o[g][u]);
    }
    for (; i + 16 <= hd; i += 16) {
        __m512 o[4];
        for (int g = 0; g < G; g++) o[g] = _mm512_setzero_ps();
        for (int t = 0; t < n; t++) {
            __m512 x = ld_h16(v + (size_t)t * stride + i);
            for (int g = 0; g < G; g++) o[g] = _mm512_fmadd_ps(_mm512_set1_ps(att[g * ldatt + t]), x, o[g]);
        }
        for (int g = 0; g < G; g++) _mm512_storeu_ps(out + (size_t)g * hd + i, o[g]);
    }
    if (i < hd)
        for (int g = 0; g < G; g++)
            wsum_f16_portable(att + g * ldatt, v + i, stride, n, hd - i, out + (size_t)g * hd + i);
}

#define GQA_512(G)                                                                                                     \
    __attribute__((target("avx512f"))) static void scores_f16_g##G##_avx512(const float *q, const uint16_t *k,        \
                                                                           size_t stride, int n, int hd, float scale, \
                                                                           float *att, size_t ldatt)                  \
    {                                                                                                                  \
        scores_f16_g_512(q, G, k, stride, n, hd, scale, att, ldatt);                                                   \
    }                                                                                                                  \
    __attribute__((target("avx512f"))) static void wsum_f16_g##G##_avx512(const float *att, size_t ldatt,             \
                                                                         const uint16_t *v, size_t stride, int n,     \
                                                                         int hd, float *out)                          \
    {                                                                                                                  \
        wsum_f16_g_512(att, ldatt, G, v, stride, n, hd, out);                                                          \
    }
GQA_512(1)
GQA_512(2)
GQA_512(3)
GQA_512(4)

__attribute__((target("avx512f"))) static void to_f16_avx512(uint16_t *h, const float *x, int n)
{
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(h + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    tt_dense_to_f16_ref(h + i, x + i, n - i);
}

/* a block of 64 outputs in four registers across all positions: no store-to-load chain through out */
__attribute__((target("avx512f"))) static void wsum_avx512(const float *att, const float *v, size_t stride, int n,
                                                           int hd, float *out)
{
    int i = 0;
    for (; i + 64 <= hd; i += 64) {
        __m512 o0 = _mm512_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
        for (int t = 0; t < n; t++) {
            const float *r = v + (size_t)t * stride + i;
            __m512 a = _mm512_set1_ps(att[t]);
            o0 = _mm512_add_ps(o0, _mm512_mul_ps(a, _mm512_loadu_ps(r)));
            o1 = _mm512_add_ps(o1, _mm512_mul_ps(a, _mm512_loadu_ps(r + 16)));
            o2 = _mm512_add_ps(o2, _mm512_mul_ps(a, _mm512_loadu_ps(r + 32)));
            o3 = _mm512_add_ps(o3, _mm512_mul_ps(a, _mm512_loadu_ps(r + 48)));
        }
        _mm512_storeu_ps(out + i, o0), _mm512_storeu_ps(out + i + 16, o1);
        _mm512_storeu_ps(out + i + 32, o2), _mm512_storeu_ps(out + i + 48, o3);
    }
    for (; i < hd; i += 16) {
        __mmask16 k = hd - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (hd - i)) - 1);
        __m512 o = _mm512_setzero_ps();
        for (int t = 0; t < n; t++) {
            __m512 p = _mm512_mul_ps(_mm512_set1_ps(att[t]), _mm512_maskz_loadu_ps(k, v + (size_t)t * stride + i));
            o = _mm512_add_ps(o, p);
        }
        _mm512_mask_storeu_ps(out + i, k, o);
    }
}

__attribute__((target("avx2"))) static void wsum_avx2(const float *att, const float *v, size_t stride, int n, int hd,
                                                     float *out)
{
    int i = 0;
    for (; i + 32 <= hd; i += 32) {
        __m256 o0 = _mm256_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
        for (int t = 0; t < n; t++) {
            const float *r = v + (size_t)t * stride + i;
            __m256 a = _mm256_set1_ps(att[t]);
            o0 = _mm256_add_ps(o0, _mm256_mul_ps(a, _mm256_loadu_ps(r)));
            o1 = _mm256_add_ps(o1, _mm256_mul_ps(a, _mm256_loadu_ps(r + 8)));
            o2 = _mm256_add_ps(o2, _mm256_mul_ps(a, _mm256_loadu_ps(r + 16)));
            o3 = _mm256_add_ps(o3, _mm256_mul_ps(a, _mm256_loadu_ps(r + 24)));
        }
        _mm256_storeu_ps(out + i, o0), _mm256_storeu_ps(out + i + 8, o1);
        _mm256_storeu_ps(out + i + 16, o2), _mm256_storeu_ps(out + i + 24, o3);
    }
    if (i < hd) wsum_portable(att, v + i, stride, n, hd - i, out + i);
}

__attribute__((target("avx2,f16c"))) static void wsum_f16_f16c(const float *att, const uint16_t *v, size_t stride,
                                                               int n, int hd, float *out)
{
    int i = 0;
    for (; i + 32 <= hd; i += 32) {
        __m256 o0 = _mm256_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
        for (int t = 0; t < n; t++) {
            const uint16_t *r = v + (size_t)t * stride + i;
            __m256 a = _mm256_set1_ps(att[t]);
            o0 = _mm256_add_ps(o0, _mm256_mul_ps(a, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)r))));
            o1 = _mm256_add_ps(o1, _mm256_mul_ps(a, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r + 8)))));
            o2 = _mm256_add_ps(o2, _mm256_mul_ps(a, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r + 16)))));
            o3 = _mm256_add_ps(o3, _mm256_mul_ps(a, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r + 24)))));
        }
        _mm256_storeu_ps(out + i, o0), _mm256_storeu_ps(out + i + 8, o1);
        _mm256_storeu_ps(out + i + 16, o2), _mm256_storeu_ps(out + i + 24, o3);
    }
    if (i < hd) wsum_f16_portable(att, v + i, stride, n, hd - i, out + i);
}

/* scores over f16 keys in dot_f32_avx2's order (lanes 0-7 and 8-15 in two registers, the tail into its lanes, then
 * tree16), one key at a time */
__attribute__((target("avx2,f16c"))) static void scores_f16_f16c(const float *q, const uint16_t *k, size_t stride,
                                                                 int n, int hd, float scale, float *att)
{
    for (int t = 0; t < n; t++) {
        const uint16_t *r = k + (size_t)t * stride;
        __m256 lo = _mm256_setzero_ps(), hi = lo;
        int i = 0;
        for (; i + LANES <= hd; i += LANES) {
            lo = _mm256_add_ps(lo, _mm256_mul_ps(_mm256_loadu_ps(q + i),
                                                 _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r + i)))));
            hi = _mm256_add_ps(hi, _mm256_mul_ps(_mm256_loadu_ps(q + i + 8),
                                                 _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r + i + 8)))));
        }
        float l[LANES];
        _mm256_storeu_ps(l, lo);
        _mm256_storeu_ps(l + 8, hi);
        for (int j = 0; i + j < hd; j++) {
            float p = q[i + j] * tt_half_to_float_vec(r[i + j]);
            l[j] += p;
        }
        att[t] = tree16(l) * scale;
    }
}

/* The f16 cache's grouped paths below AVX-512 (AVX2, F16C, FMA; hd a multiple of 16): G heads (1..4) over the same
 * rows, so a key/value head's rows are read once per group, not once per head, and the rows ATT_PF_ROWS positions
 * ahead are requested. Products of two f16 values are exact in f32, so a fused multiply-add rounds as the
 * multiply-then-add of the definitions does. */
__attribute__((target("avx2,f16c"), always_inline)) static inline __m256 ld_h8(const uint16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

/* tree16 of eight sums at once, each given as its first level already (h = lanes 0-7 + lanes 8-15): the next three
 * levels pair the lanes tree16 pairs, the same operand first, two registers at a time (tree512_x16's scheme at half
 * the width); the sum of h[i] comes out in lane 4 (i % 2) + i / 2. */
__attribute__((target("avx2"), always_inline)) static inline __m256 tree256_x8(const __m256 *h)
{
    __m256 p[4], r[2];
    for (int i = 0; i < 4; i++) /* j and j + 4 */
        p[i] = _mm256_add_ps(_mm256_permute2f128_ps(h[2 * i], h[2 * i + 1], 0x20),
                             _mm256_permute2f128_ps(h[2 * i], h[2 * i + 1], 0x31));
    for (int i = 0; i < 2; i++) /* j and j + 2 */
        r[i] = _mm256_add_ps(_mm256_shuffle_ps(p[2 * i], p[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm256_shuffle_ps(p[2 * i], p[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    return _mm256_add_ps(_mm256_shuffle_ps(r[0], r[1], _MM_SHUFFLE(2, 0, 2, 0)), /* 0 and 1 */
                         _mm256_shuffle_ps(r[0], r[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

/* G heads over two keys at a time: lanes 0-7 and 8-15 of each (head, key) in two registers (2G accumulators), as
 * scores_f16_portable sums them; the 2G sums then reduced together (head g, key u in h[2g + u], lane 4u + g). */
__attribute__((target("avx2,f16c,fma"), always_inline)) static inline void scores_f16_g_256(const float *q, const int G,
                                                                                          const uint16_t *k,
                                                                                          size_t stride, int n, int hd,
                                                                                          float scale, float *att,
                                                                                          size_t ldatt)
{
    const __m256 sc = _mm256_set1_ps(scale);
    for (int t = 0; t < n; t += 2) {
        const int nu = n - t < 2 ? 1 : 2;
        if (t + 2 + ATT_PF_ROWS <= n)
            for (int u = 0; u < 2; u++) {
                const char *ahead = (const char *)(k + (size_t)(t + ATT_PF_ROWS + u) * stride);
                for (int b = 0; b < hd * 2; b += 64) _mm_prefetch(ahead + b, _MM_HINT_T0);
            }
        __m256 h[8];
        for (int i = 0; i < 8; i++) h[i] = _mm256_setzero_ps();
        for (int u = 0; u < nu; u++) {
            const uint16_t *r = k + (size_t)(t + u) * stride;
            __m256 lo[4], hi[4];
            for (int g = 0; g < G; g++) lo[g] = hi[g] = _mm256_setzero_ps();
            for (int i = 0; i < hd; i += LANES) {
                __m256 a = ld_h8(r + i), b = ld_h8(r + i + 8);
                for (int g = 0; g < G; g++) {
                    lo[g] = _mm256_fmadd_ps(_mm256_loadu_ps(q + (size_t)g * hd + i), a, lo[g]);
                    hi[g] = _mm256_fmadd_ps(_mm256_loadu_ps(q + (size_t)g * hd + i + 8), b, hi[g]);
                }
            }
            for (int g = 0; g < G; g++) h[2 * g + u] = _mm256_add_ps(lo[g], hi[g]);
        }
        float f[8];
        _mm256_storeu_ps(f, _mm256_mul_ps(tree256_x8(h), sc));
        for (int u = 0; u < nu; u++)
            for (int g = 0; g < G; g++) att[g * ldatt + t + u] = f[4 * u + g];
    }
}

/* G heads over the same values, NR registers (8 outputs each) per head: every output its own sum over the positions
 * in order, as wsum_f16_portable sums it; the row ATT_PF_ROWS ahead requested once per 32 outputs */
__attribute__((target("avx2,f16c,fma"), always_inline)) static inline void wsum_f16_block_256(const float *att,
                                                                                            size_t ldatt, const int G,
                                                                                            const uint16_t *v,
                                                                                            size_t stride, int n,
                                                                                            int hd, int i, const int NR,
                                                                                            float *out)
{
    __m256 o[4][4];
    for (int g = 0; g < G; g++)
        for (int u = 0; u < NR; u++) o[g][u] = _mm256_setzero_ps();
    for (int t = 0; t < n; t++) {
        const uint16_t *r = v + (size_t)t * stride + i;
        if ((i & 31) == 0 && t + ATT_PF_ROWS < n)
            _mm_prefetch((const char *)(r + (size_t)ATT_PF_ROWS * stride), _MM_HINT_T0);
        __m256 x[4];
        for (int u = 0; u < NR; u++) x[u] = ld_h8(r + 8 * u);
        for (int g = 0; g < G; g++) {
            __m256 w = _mm256_broadcast_ss(att + g * ldatt + t);
            for (int u = 0; u < NR; u++) o[g][u] = _mm256_fmadd_ps(w, x[u], o[g][u]);
        }
    }
    for (int g = 0; g < G; g++)
        for (int u = 0; u < NR; u++) _mm256_storeu_ps(out + (size_t)g * hd + i + 8 * u, o[g][u]);
}

/* blocks of 32 outputs for one or two heads, of 16 for three or four: at most 8 accumulators */
__attribute__((target("avx2,f16c,fma"), always_inline)) static inline void wsum_f16_g_256(const float *att, size_t ldatt,
                                                                                        const int G, const uint16_t *v,
                                                                                        size_t stride, int n, int hd,
                                                                                        float *out)
{
    int i = 0;
    if (G <= 2)
        for (; i + 32 <= hd; i += 32) wsum_f16_block_256(att, ldatt, G, v, stride, n, hd, i, 4, out);
    for (; i + 16 <= hd; i += 16) wsum_f16_block_256(att, ldatt, G, v, stride, n, hd, i, 2, out);
}

#define GQA_256(G)                                                                                                     \
    __attribute__((target("avx2,f16c,fma"))) static void scores_f16_g##G##_avx2(const float *q, const uint16_t *k,    \
                                                                               size_t stride, int n, int hd,           \
                                                                               float scale, float *att, size_t ldatt)  \
    {                                                                                                                  \
        scores_f16_g_256(q, G, k, stride, n, hd, scale, att, ldatt);                                                   \
    }                                                                                                                  \
    __attribute__((target("avx2,f16c,fma"))) static void wsum_f16_g##G##_avx2(const float *att, size_t ldatt,         \
                                                                             const uint16_t *v, size_t stride, int n, \
                                                                             int hd, float *out)                      \
    {                                                                                                                  \
        wsum_f16_g_256(att, ldatt, G, v, stride, n, hd, out);                                                          \
    }
GQA_256(1)
GQA_256(2)
GQA_256(3)
GQA_256(4)

__attribute__((target("avx2,f16c"))) static void to_f16_f16c(uint16_t *h, const float *x, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(h + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    tt_dense_to_f16_ref(h + i, x + i, n - i);
}

__attribute__((target("avx2"))) static float dot_f32_avx2(const float *a, const float *b, int n)
{
    __m256 lo = _mm256_setzero_ps(), hi = lo;
    int i = 0;
    for (; i + LANES <= n; i += LANES) {
        lo = _mm256_add_ps(lo, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
        hi = _mm256_add_ps(hi, _mm256_mul_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8)));
    }
    float l[LANES];
    _mm256_storeu_ps(l, lo);
    _mm256_storeu_ps(l + 8, hi);
    for (int j = 0; i + j < n; j++) {
        float p = a[i + j] * b[i + j];
        l[j] += p;
    }
    return tree16(l);
}

/* one row at a time in eight 8-lane registers (ggml's s_j is registers 2j and 2j + 1: sixteen registers hold one
 * row's accumulators, so AVX2 members take R = 1), the row P rows ahead prefetched in step; or (part > 0) row i of
 * each of S parts of the range in step i, each stream prefetching D bytes ahead of itself (2-4 streams: 16-32
 * accumulators, more than the sixteen registers, so some live in L1 — the loop waits on memory, not on those loads;
 * on the 2-core Zen 3 VM four streams read ~1.3x one stream, as a plain multi-stream reader reads ~1.2x a one-stream
 * reader there, docs/MEASUREMENT.md). Each row's accumulators and order are the one-row loop's: every instance gives
 * the portable bits. */
__attribute__((target("avx2,f16c"), always_inline)) static inline void f16_rows_256(const uint16_t *w, const float *x,
                                                                                   int k, float *y, int r0, int r1,
                                                                                   const int P, const int D,
                                                                                   const int S, const int part)
{
    const int np = k & ~63;
    const int R = part ? S : 1;
    const size_t gap = part ? (size_t)part : 1;
    for (int r = r0; part ? r < r0 + part : r < r1; r++) {
        const uint16_t *a = w + (size_t)r * k;
        const char *pf = (const char *)(a + (size_t)P * k);
        __m256 s[6][8];
        for (int q = 0; q < R; q++)
            for (int j = 0; j < 8; j++) s[q][j] = _mm256_setzero_ps();
        for (int i = 0; i < np; i += 64) {
            if (P) _mm_prefetch(pf + 2 * (size_t)i, _MM_HINT_T0), _mm_prefetch(pf + 2 * (size_t)i + 64, _MM_HINT_T0);
            if (D)
                for (int q = 0; q < R; q++) {
                    const char *d = (const char *)(a + (size_t)q * gap * k + i) + D;
                    _mm_prefetch(d, _MM_HINT_T0), _mm_prefetch(d + 64, _MM_HINT_T0);
                }
            for (int q = 0; q < R; q++) {
                const uint16_t *row = a + (size_t)q * gap * k + i;
                for (int j = 0; j < 8; j++) {
                    __m256 wv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 8 * j)));
                    s[q][j] = _mm256_add_ps(s[q][j], _mm256_mul_ps(wv, _mm256_loadu_ps(x + i + 8 * j)));
                }
            }
        }
        for (int q = 0; q < R; q++) {
            float l[4][16];
            for (int j = 0; j < 8; j++) _mm256_storeu_ps(&l[j / 2][8 * (j % 2)], s[q][j]);
            y[r + q * gap] = f16_finish(l, a + (size_t)q * gap * k + np, x + np, k - np);
        }
    }
}

/* i8 below AVX-512: each row's sixteen lanes in two 8-lane registers (the portable member's l[0..7], l[8..15]), R rows
 * sharing each activation load (at most four: eight accumulators), or (part > 0) row i of each of R parts of the range
 * in step i, each stream prefetching D bytes ahead of itself once per line; R, D, part as i8_rows_512. Multiply, then
 * add (the activations are not f16 values: a fused multiply-add would round differently). Every instance gives the
 * portable bits. */
__attribute__((target("avx2"), always_inline)) static inline void i8_rows_256(const int8_t *w, const float *scale,
                                                                             const float *x, int k, float *y, int r0,
                                                                             int r1, const int R, const int D,
                                                                             const int part)
{
    const size_t gap = part ? (size_t)part : 1;
    int r = r0;
    for (; part ? r < r0 + part : r + R <= r1; r += part ? 1 : R) {
        const int8_t *a = w + (size_t)r * k;
        __m256 s[4][2];
        for (int q = 0; q < R; q++) s[q][0] = s[q][1] = _mm256_setzero_ps();
        for (int i = 0; i < k; i += LANES) {
            if (D && !(i & 63))
                for (int q = 0; q < R; q++) _mm_prefetch((const char *)(a + (size_t)q * gap * k + i) + D, _MM_HINT_T0);
            __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
            for (int q = 0; q < R; q++) {
                /* each half widened straight from memory (vpmovsxbd ymm, m64), not a 16-byte load and a byte
                 * shift: the same bits, and the 2B4T head ~1.2x (one thread) to ~1.4x (two) faster in the model on
                 * the 2-core Zen 3 VM (docs/MEASUREMENT.md) */
                const int8_t *b = a + (size_t)q * gap * k + i;
                __m256 w0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)b)));
                __m256 w1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(b + 8))));
                s[q][0] = _mm256_add_ps(s[q][0], _mm256_mul_ps(w0, x0));
                s[q][1] = _mm256_add_ps(s[q][1], _mm256_mul_ps(w1, x1));
            }
        }
        for (int q = 0; q < R; q++) {
            float l[LANES];
            _mm256_storeu_ps(l, s[q][0]);
            _mm256_storeu_ps(l + 8, s[q][1]);
            y[r + q * gap] = sum_lanes(l) * scale[r + q * gap];
        }
    }
    if (!part) i8_portable(w, scale, x, k, y, r, r1);
}

#define I8_256(R)                                                                                                      \
    __attribute__((target("avx2"))) static void i8_256_r##R(const int8_t *w, const float *sc, const float *x, int k,   \
                                                           float *y, int r0, int r1)                                   \
    {                                                                                                                  \
        i8_rows_256(w, sc, x, k, y, r0, r1, R, 0, 0);                                                                  \
    }
#define I8_256S(S, D)                                                                                                  \
    __attribute__((target("avx2"))) static void i8_256_s##S##_d##D(const int8_t *w, const float *sc, const float *x,  \
                                                                   int k, float *y, int r0, int r1)                    \
    {                                                                                                                  \
        const int part = (r1 - r0) / S;                                                                                \
        if (part) i8_rows_256(w, sc, x, k, y, r0, r1, S, D, part);                                                     \
        i8_portable(w, sc, x, k, y, r0 + S * part, r1);                                                                \
    }
#define EACH_I8_256(X) X(1) X(2) X(4)
#define EACH_I8_256S(X) X(2, 512) X(4, 512) X(4, 1024)
EACH_I8_256(I8_256)
EACH_I8_256S(I8_256S)

#define F16_256(R, P)                                                                                                  \
    __attribute__((target("avx2,f16c"))) static void f16_256_r##R##_p##P(const uint16_t *w, const float *x, int k,    \
                                                                         float *y, int r0, int r1)                     \
    {                                                                                                                  \
        f16_rows_256(w, x, k, y, r0, r1, P, 0, 1, 0);                                                                  \
    }
F16_256(1, 0) F16_256(1, 1) F16_256(1, 2)
#define F16_256D(D)                                                                                                    \
    __attribute__((target("avx2,f16c"))) static void f16_256_r1_d##D(const uint16_t *w, const float *x, int k,         \
                                                                     float *y, int r0, int r1)                         \
    {                                                                                                                  \
        f16_rows_256(w, x, k, y, r0, r1, 0, D, 1, 0);                                                                  \
    }
F16_256D(512) F16_256D(1024) F16_256D(2048)
/* S streams, as F16_512S: the range cut into S parts, the rows past S equal parts one at a time */
#define F16_256S(S, D)                                                                                                 \
    __attribute__((target("avx2,f16c"))) static void f16_256_s##S##_d##D(const uint16_t *w, const float *x, int k,     \
                                                                         float *y, int r0, int r1)                     \
    {                                                                                                                  \
        const int part = (r1 - r0) / S;                                                                                \
        if (part) f16_rows_256(w, x, k, y, r0, r1, 0, D, S, part);                                                     \
        f16_rows_256(w, x, k, y, r0 + S * part, r1, 0, D, 1, 0);                                                       \
    }
#define EACH_F16_256S(X) X(2, 0) X(2, 512) X(2, 1024) X(4, 0) X(4, 512) X(4, 1024) X(6, 512)
EACH_F16_256S(F16_256S)

/* Elementwise ops: masked tails on AVX-512, the portable loop for the tail on AVX2. The rotation pairs each lane
 * with its neighbour (permute 0xB1) and duplicates cos into even and sin into odd lanes (moveldup / movehdup):
 * even lanes take x0·c − x1·s, odd lanes x1·c + x0·s, which is x0·s + x1·c bit for bit (addition commutes). */
__attribute__((target("avx512f"))) static void scale_mul_avx512(float *o, const float *x, float s, const float *w,
                                                                int n)
{
    __m512 sv = _mm512_set1_ps(s);
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(o + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), sv), _mm512_loadu_ps(w + i)));
    if (i < n) {
        __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
        __m512 a = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), sv);
        _mm512_mask_storeu_ps(o + i, k, _mm512_mul_ps(a, _mm512_maskz_loadu_ps(k, w + i)));
    }
}

__attribute__((target("avx512f"))) static void add_avx512(float *x, const float *y, int n)
{
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(x + i, _mm512_add_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    if (i < n) {
        __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, x + i), _mm512_maskz_loadu_ps(k, y + i)));
    }
}

/* maxps(g, 0) returns its second operand (+0) for a NaN g and for g = -0, as the portable select does */
__attribute__((target("avx512f"))) static void relu2_mul_avx512(float *g, const float *u, int n)
{
    __m512 z = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 r = _mm512_max_ps(_mm512_loadu_ps(g + i), z);
        _mm512_storeu_ps(g + i, _mm512_mul_ps(_mm512_mul_ps(r, r), _mm512_loadu_ps(u + i)));
    }
    if (i < n) {
        __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
        __m512 r = _mm512_max_ps(_mm512_maskz_loadu_ps(k, g + i), z);
        _mm512_mask_storeu_ps(g + i, k, _mm512_mul_ps(_mm512_mul_ps(r, r), _mm512_maskz_loadu_ps(k, u + i)));
    }
}

__attribute__((target("avx512f"))) static void rope_avx512(float *v, const float *cs, int half)
{
    float *v1 = v + half;
    const float *sn = cs + half;
    int i = 0;
    for (; i < half; i += 16) {
        __mmask16 k = half - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (half - i)) - 1);
        __m512 x0 = _mm512_maskz_loadu_ps(k, v + i), x1 = _mm512_maskz_loadu_ps(k, v1 + i);
        __m512 c = _mm512_maskz_loadu_ps(k, cs + i), s = _mm512_maskz_loadu_ps(k, sn + i);
        _mm512_mask_storeu_ps(v + i, k, _mm512_sub_ps(_mm512_mul_ps(x0, c), _mm512_mul_ps(x1, s)));
        _mm512_mask_storeu_ps(v1 + i, k, _mm512_add_ps(_mm512_mul_ps(x0, s), _mm512_mul_ps(x1, c)));
    }
}

__attribute__((target("avx512f"))) static void round_f16_avx512(float *x, int n)
{
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(k, x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm512_mask_storeu_ps(x + i, k, _mm512_cvtph_ps(h));
    }
}

__attribute__((target("avx2,f16c"))) static void round_f16_f16c(float *x, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    tt_dense_round_f16_ref(x + i, n - i);
}

/* tt_dense_expf on 16 lanes (the same operations) */
__attribute__((target("avx512f"))) static inline __m512 expf_512(__m512 x)
{
    __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(89.0f));
    __m512 kf = _mm512_sub_ps(_mm512_fmadd_ps(xc, _mm512_set1_ps(EXP_LOG2E), _mm512_set1_ps(EXP_ROUND)),
                              _mm512_set1_ps(EXP_ROUND));
    __m512 r = _mm512_fnmadd_ps(kf, _mm512_set1_ps(EXP_LN2_HI), xc);
    r = _mm512_fnmadd_ps(kf, _mm512_set1_ps(EXP_LN2_LO), r);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(EXP_C7), r, _mm512_set1_ps(EXP_C6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_C5));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_C4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_C3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_C2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    __m512i k = _mm512_cvttps_epi32(kf), k1 = _mm512_srai_epi32(k, 1), k2 = _mm512_sub_epi32(k, k1);
    __m512i b = _mm512_set1_epi32(127);
    __m512 s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k1, b), 23));
    __m512 s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k2, b), 23));
    __m512 e = _mm512_mul_ps(_mm512_mul_ps(p, s1), s2);
    return _mm512_mask_add_ps(e, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x, x);
}

__attribute__((target("avx512f"))) static double softmax_avx512(float *x, int n)
{
    __m512 mv = _mm512_set1_ps(x[0]);
    int n16 = n - n % LANES;
    for (int i = 0; i < n16; i += LANES) mv = _mm512_max_ps(_mm512_loadu_ps(x + i), mv); /* x > m ? x : m */
    float lm[LANES];
    _mm512_storeu_ps(lm, mv);
    float m = softmax_max_from(softmax_max_from(lm[0], lm, 1, LANES), x, n16, n);
    __m512 mb = _mm512_set1_ps(m);
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    for (int i = 0; i < n16; i += LANES) {
        __m512 e = expf_512(_mm512_sub_ps(_mm512_loadu_ps(x + i), mb));
        _mm512_storeu_ps(x + i, e);
        s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
    }
    for (int i = n16; i < n; i++) x[i] = tt_dense_expf(x[i] - m);
    double s[LANES];
    _mm512_storeu_pd(s, s0);
    _mm512_storeu_pd(s + 8, s1);
    return softmax_finish(x, n, n16, s);
}

/* tt_dense_expf on 8 lanes (the same operations) */
__attribute__((target("avx2,fma"))) static inline __m256 expf_256(__m256 x)
{
    __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-104.0f)), _mm256_set1_ps(89.0f));
    __m256 kf = _mm256_sub_ps(_mm256_fmadd_ps(xc, _mm256_set1_ps(EXP_LOG2E), _mm256_set1_ps(EXP_ROUND)),
                              _mm256_set1_ps(EXP_ROUND));
    __m256 r = _mm256_fnmadd_ps(kf, _mm256_set1_ps(EXP_LN2_HI), xc);
    r = _mm256_fnmadd_ps(kf, _mm256_set1_ps(EXP_LN2_LO), r);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(EXP_C7), r, _mm256_set1_ps(EXP_C6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_C5));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_C4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_C3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_C2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i k = _mm256_cvttps_epi32(kf), k1 = _mm256_srai_epi32(k, 1), k2 = _mm256_sub_epi32(k, k1);
    __m256i b = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, b), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k2, b), 23));
    __m256 e = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
    return _mm256_blendv_ps(e, _mm256_add_ps(x, x), _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

__attribute__((target("avx2,fma"))) static double softmax_avx2(float *x, int n)
{
    __m256 m0 = _mm256_set1_ps(x[0]), m1 = m0;
    int n16 = n - n % LANES;
    for (int i = 0; i < n16; i += LANES) { /* max_ps(x, m): x > m ? x : m */
        m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
        m1 = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), m1);
    }
    float lm[LANES];
    _mm256_storeu_ps(lm, m0);
    _mm256_storeu_ps(lm + 8, m1);
    float m = softmax_max_from(softmax_max_from(lm[0], lm, 1, LANES), x, n16, n);
    __m256 mb = _mm256_set1_ps(m);
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    for (int i = 0; i < n16; i += LANES) {
        __m256 e0 = expf_256(_mm256_sub_ps(_mm256_loadu_ps(x + i), mb));
        __m256 e1 = expf_256(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), mb));
        _mm256_storeu_ps(x + i, e0);
        _mm256_storeu_ps(x + i + 8, e1);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e0)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e0, 1)));
        s2 = _mm256_add_pd(s2, _mm256_cvtps_pd(_mm256_castps256_ps128(e1)));
        s3 = _mm256_add_pd(s3, _mm256_cvtps_pd(_mm256_extractf128_ps(e1, 1)));
    }
    for (int i = n16; i < n; i++) x[i] = tt_dense_expf(x[i] - m);
    double s[LANES];
    _mm256_storeu_pd(s, s0);
    _mm256_storeu_pd(s + 4, s1);
    _mm256_storeu_pd(s + 8, s2);
    _mm256_storeu_pd(s + 12, s3);
    return softmax_finish(x, n, n16, s);
}

__attribute__((target("avx2"))) static void scale_mul_avx2(float *o, const float *x, float s, const float *w, int n)
{
    __m256 sv = _mm256_set1_ps(s);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), sv), _mm256_loadu_ps(w + i)));
    tt_dense_scale_mul_ref(o + i, x + i, s, w + i, n - i);
}

__attribute__((target("avx2"))) static void add_avx2(float *x, const float *y, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_add_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    tt_dense_add_ref(x + i, y + i, n - i);
}

__attribute__((target("avx2"))) static void relu2_mul_avx2(float *g, const float *u, int n)
{
    __m256 z = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 r = _mm256_max_ps(_mm256_loadu_ps(g + i), z);
        _mm256_storeu_ps(g + i, _mm256_mul_ps(_mm256_mul_ps(r, r), _mm256_loadu_ps(u + i)));
    }
    tt_dense_relu2_mul_ref(g + i, u + i, n - i);
}

__attribute__((target("avx2"))) static void rope_avx2(float *v, const float *cs, int half)
{
    float *v1 = v + half;
    const float *sn = cs + half;
    int i = 0;
    for (; i + 8 <= half; i += 8) {
        __m256 x0 = _mm256_loadu_ps(v + i), x1 = _mm256_loadu_ps(v1 + i);
        __m256 c = _mm256_loadu_ps(cs + i), s = _mm256_loadu_ps(sn + i);
        _mm256_storeu_ps(v + i, _mm256_sub_ps(_mm256_mul_ps(x0, c), _mm256_mul_ps(x1, s)));
        _mm256_storeu_ps(v1 + i, _mm256_add_ps(_mm256_mul_ps(x0, s), _mm256_mul_ps(x1, c)));
    }
    for (; i < half; i++) { /* the portable operations on the remaining pairs */
        float x0 = v[i], x1 = v1[i], c = cs[i], s = sn[i];
        float a = x0 * c, b = x1 * s, d = x0 * s, e = x1 * c;
        v[i] = a - b;
        v1[i] = d + e;
    }
}
#endif

/* The LM-head kernel family: every kind's portable member first, in kind order (tt_dense_variant_default falls back on
 * variants[kind]), then the ISA members. */
#define V_F16(isa, name, feat, R, P)                                                                                   \
    {"head_f16_l64_r" #R "_p" #P "__" name, TT_DENSE_F16, feat, R, P, f16_##isa##_r##R##_p##P, NULL, NULL, NULL, NULL, 0, 0, 0},
#define V_I8(isa, name, feat, R, P)                                                                                    \
    {"head_i8_r" #R "_p" #P "__" name, TT_DENSE_I8, feat, R, P, NULL, i8_##isa##_r##R##_p##P, NULL, NULL, NULL, 0, 0, 0},
/* The q8_0/q4_0 row products in the family's row signature (their input has no bsum). */
#define Q32_ROW(NAME, FN)                                                                                              \
    static float NAME(const uint8_t *row, const int8_t *q, const float *d, const int32_t *bsum, int k)              \
    {                                                                                                                 \
        (void)bsum;                                                                                                   \
        return FN(row, q, d, k);                                                                                      \
    }
Q32_ROW(q80_portable, tt_q80_dot_q80)
Q32_ROW(q40_portable, tt_q40_dot_q80)
static const tt_dense_variant variants[] = {
    {"head_f16_portable", TT_DENSE_F16, 0, 1, 0, f16_portable, NULL, NULL, NULL, NULL, 0, 0, 0},
    {"head_i8_portable", TT_DENSE_I8, 0, 1, 0, NULL, i8_portable, NULL, NULL, NULL, 0, 0, 0},
    {"head_q6k_portable", TT_DENSE_Q6K, 0, 1, 0, NULL, NULL, tt_q6k_dot_q8k, NULL, NULL, 0, 0, 0},
    {"head_q80_portable", TT_DENSE_Q80, 0, 1, 0, NULL, NULL, q80_portable, NULL, NULL, 0, 0, 0},
    {"head_q40_portable", TT_DENSE_Q40, 0, 1, 0, NULL, NULL, q40_portable, NULL, NULL, 0, 0, 0},
#if defined(__x86_64__)
#define F16V512(R, P) V_F16(512, "avx512f", TT_F_AVX512F, R, P)
#define I8V512(R, P) V_I8(512, "avx512f", TT_F_AVX512F, R, P)
#define F16V256(R, P) V_F16(256, "avx2", TT_F_AVX2 | TT_F_F16C, R, P)
    EACH_F16_512(F16V512) EACH_512(I8V512)
    F16V256(1, 0) F16V256(1, 1) F16V256(1, 2)
#define V_F16D(isa, name, feat, R, D)                                                                                  \
    {"head_f16_l64_r" #R "_d" #D "__" name, TT_DENSE_F16, feat, R, 0, f16_##isa##_r##R##_d##D, NULL, NULL, NULL, NULL, D, 0, 0},
#define F16V512D(R, D) V_F16D(512, "avx512f", TT_F_AVX512F, R, D)
    EACH_F16_512D(F16V512D)
#define V_F16S(S, D)                                                                                                   \
    {"head_f16_l64_s" #S "_d" #D "__avx512f", TT_DENSE_F16, TT_F_AVX512F, 1, 0, f16_512_s##S##_d##D, NULL, NULL, NULL, NULL, D, S, 0},
    EACH_F16_512S(V_F16S)
#define V_I8S(S, D)                                                                                                    \
    {"head_i8_s" #S "_d" #D "__avx512f", TT_DENSE_I8, TT_F_AVX512F, 1, 0, NULL, i8_512_s##S##_d##D, NULL, NULL, NULL, D, S, 0},
    EACH_I8_512S(V_I8S)
#define F16V256D(D) V_F16D(256, "avx2", TT_F_AVX2 | TT_F_F16C, 1, D)
    F16V256D(512) F16V256D(1024) F16V256D(2048)
#define V_F16S256(S, D)                                                                                                \
    {"head_f16_l64_s" #S "_d" #D "__avx2", TT_DENSE_F16, TT_F_AVX2 | TT_F_F16C, 1, 0, f16_256_s##S##_d##D, NULL, NULL, \
     NULL, NULL, D, S, 0},
    EACH_F16_256S(V_F16S256)
#define I8V256(R) {"head_i8_r" #R "__avx2", TT_DENSE_I8, TT_F_AVX2, R, 0, NULL, i8_256_r##R, NULL, NULL, NULL, 0, 0, 0},
#define I8V256S(S, D)                                                                                                  \
    {"head_i8_s" #S "_d" #D "__avx2", TT_DENSE_I8, TT_F_AVX2, 1, 0, NULL, i8_256_s##S##_d##D, NULL, NULL, NULL, D, S, 0},
    EACH_I8_256(I8V256) EACH_I8_256S(I8V256S)
    {"head_q6k__avx2", TT_DENSE_Q6K, TT_F_AVX2 | TT_F_F16C, 1, 0, NULL, NULL, tt_q6k_dot_q8k_avx2, NULL, NULL, 0, 0, 0},
    {"head_q6k__avx512bw", TT_DENSE_Q6K, TT_F_AVX512F | TT_F_AVX512BW | TT_F_F16C, 1, 0, NULL, NULL,
     tt_q6k_dot_q8k_avx512, NULL, NULL, 0, 0, 0},
/* the q6_K rows and streams members of one ISA (kernels/tt_q6k.h) */
#define V_Q6_ROWS(isa, feat, R, P)                                                                                     \
    {"head_q6k_r" #R "_p" #P "__" #isa, TT_DENSE_Q6K, feat, R, P, NULL, NULL, NULL, NULL, tt_q6k_rows_r##R##_p##P##_##isa, \
     0, 0, 0},
#define V_Q6_STREAMS(isa, feat, S, P)                                                                                  \
    {"head_q6k_s" #S "_p" #P "__" #isa, TT_DENSE_Q6K, feat, 1, P, NULL, NULL, NULL, NULL, tt_q6k_rows_s##S##_p##P##_##isa, \
     0, S, 0},
#define V_Q6_256(R, P) V_Q6_ROWS(avx2, TT_F_AVX2 | TT_F_F16C, R, P)
#define V_Q6S_256(S, P) V_Q6_STREAMS(avx2, TT_F_AVX2 | TT_F_F16C, S, P)
    TT_Q6K_EACH_256(V_Q6_256)
    TT_Q6K_EACH_256S(V_Q6S_256)
#define V_Q32(kind, KIND, R, isa, feat)                                                                                \
    {"head_" #kind "_r" #R "__" #isa, KIND, feat, R, 0, NULL, NULL, NULL, tt_##kind##_rows_r##R##_##isa, NULL, 0, 0, 0},
#define V_Q32_R(R)                                                                                                     \
    V_Q32(q80, TT_DENSE_Q80, R, avx2, TT_F_AVX2 | TT_F_FMA | TT_F_F16C)                                                \
    V_Q32(q80, TT_DENSE_Q80, R, avxvnni, TT_F_AVX2 | TT_F_FMA | TT_F_F16C | TT_F_AVXVNNI)                              \
    V_Q32(q40, TT_DENSE_Q40, R, avx2, TT_F_AVX2 | TT_F_FMA | TT_F_F16C)                                                \
    V_Q32(q40, TT_DENSE_Q40, R, avxvnni, TT_F_AVX2 | TT_F_FMA | TT_F_F16C | TT_F_AVXVNNI)
    V_Q32_R(1) V_Q32_R(2) V_Q32_R(4)
#define Z_FEAT TT_F_AVX2 | TT_F_FMA | TT_F_F16C | TT_F_AVX512F | TT_F_AVX512BW | TT_F_AVX512VL | TT_F_AVX512VNNI
    V_Q32(q80, TT_DENSE_Q80, 2, avx512vnni, Z_FEAT) V_Q32(q80, TT_DENSE_Q80, 4, avx512vnni, Z_FEAT)
    V_Q32(q80, TT_DENSE_Q80, 8, avx512vnni, Z_FEAT) V_Q32(q40, TT_DENSE_Q40, 2, avx512vnni, Z_FEAT)
    V_Q32(q40, TT_DENSE_Q40, 4, avx512vnni, Z_FEAT) V_Q32(q40, TT_DENSE_Q40, 8, avx512vnni, Z_FEAT)
#define V_L4(kind, KIND, R, P)                                                                                         \
    {"head_" #kind "_l4_r" #R "_p" #P "__avx512vnni", KIND, Z_FEAT, R, P, NULL, NULL, NULL,                           \
     tt_##kind##_l4_r##R##_p##P##_avx512vnni, NULL, 0, 0, 0},
#define V_L4_BOTH(R, P) V_L4(q80, TT_DENSE_Q80, R, P) V_L4(q40, TT_DENSE_Q40, R, P)
    V_L4_BOTH(4, 1) V_L4_BOTH(4, 3) V_L4_BOTH(8, 1) V_L4_BOTH(8, 3) V_L4_BOTH(16, 1) V_L4_BOTH(16, 3)
#define V_IL16(kind, KIND, S, SUFFIX)                                                                                  \
    {"head_" #kind "_il16_" #SUFFIX "__avx512vnni", KIND, Z_FEAT, 16, 0, NULL, NULL, NULL,                            \
     tt_##kind##_il16_##SUFFIX##_avx512vnni, NULL, 0, S, 16},
#define V_IL16_BOTH(S, SUFFIX) V_IL16(q80, TT_DENSE_Q80, S, SUFFIX) V_IL16(q40, TT_DENSE_Q40, S, SUFFIX)
    V_IL16_BOTH(1, s1) V_IL16_BOTH(2, s2_c8) V_IL16_BOTH(4, s4_c4)
#define V_Q6(R, P) V_Q6_ROWS(avx512vnni, Z_FEAT, R, P)
#define V_Q6S(S, P) V_Q6_STREAMS(avx512vnni, Z_FEAT, S, P)
    TT_Q6K_EACH_512(V_Q6)
    TT_Q6K_EACH_512S(V_Q6S)
#endif
};

static const char *const kind_names[TT_DENSE_KINDS] = {"f16", "i8", "q6_K", "q8_0", "q4_0"};

const char *tt_dense_kind_name(tt_dense_kind kind)
{
    return kind >= 0 && kind < TT_DENSE_KINDS ? kind_names[kind] : "?";
}

int tt_dense_kind_parse(const char *name)
{
    for (int i = 0; name && i < TT_DENSE_KINDS; i++)
        if (!strcmp(name, kind_names[i])) return i;
    return -1;
}

bool tt_dense_kind_quantized(tt_dense_kind kind) { return kind == TT_DENSE_Q6K || kind == TT_DENSE_Q80 || kind == TT_DENSE_Q40; }

size_t tt_dense_row_bytes(tt_dense_kind kind, int k)
{
    if (k < 1) return 0;
    switch (kind) {
    case TT_DENSE_F16: return (size_t)k * 2;
    case TT_DENSE_I8: return (size_t)k;
    case TT_DENSE_Q6K: return k % TT_Q6K_BLOCK ? 0 : (size_t)k / TT_Q6K_BLOCK * TT_Q6K_BYTES;
    case TT_DENSE_Q80: return k % TT_Q80_BLOCK ? 0 : (size_t)k / TT_Q80_BLOCK * TT_Q80_BYTES;
    case TT_DENSE_Q40: return k % TT_Q40_BLOCK ? 0 : (size_t)k / TT_Q40_BLOCK * TT_Q40_BYTES;
    default: return 0;
    }
}

tt_status tt_qin_alloc(tt_qin *in, int k)
{
    in->q = malloc((size_t)k + 64);
    in->d = malloc(sizeof(float) * (size_t)(k / 32 + 1));
    in->bsum = malloc(sizeof(int32_t) * (size_t)(k / 16 + 1));
    if (in->q && in->d && in->bsum) return TT_OK;
    tt_qin_free(in);
    return tt_fail(TT_ERR_NOMEM, "quantized head input of %d values", k);
}

void tt_qin_free(tt_qin *in)
{
    free(in->q), free(in->d), free(in->bsum);
    memset(in, 0, sizeof *in);
}

void tt_qin_quantize(tt_dense_kind kind, const float *x, int k, tt_qin *in)
{
    if (kind == TT_DENSE_Q6K) tt_q8k_quantize(x, k, in->q, in->d, in->bsum);
    else tt_q80_quantize(x, k, in->q, in->d);
}

size_t tt_dense_packed_bytes(const tt_dense_variant *v, int m, int k)
{
    const size_t rb = tt_dense_row_bytes(v->kind, k);
    return v->il > 0 ? (size_t)((m + v->il - 1) / v->il) * (size_t)v->il * rb : (size_t)m * rb;
}

void tt_dense_pack(const tt_dense_variant *v, const void *rows, int m, int k, void *dst)
{
    if (v->il) tt_q32_pack_il16(v->kind == TT_DENSE_Q40, rows, m, k, dst);
    else memcpy(dst, rows, tt_dense_packed_bytes(v, m, k));
}

bool tt_dense_layouts_agree(const tt_dense_variant *a, const tt_dense_variant *b) { return a && b && a->il == b->il; }

void tt_dense_run(const tt_dense_variant *v, const void *w, const float *scale, const float *x, const tt_qin *in, int k,
                  float *y, int r0, int r1)
{
    if (v->kind == TT_DENSE_F16) v->f16((const uint16_t *)w, x, k, y, r0, r1);
    else if (v->kind == TT_DENSE_I8) v->i8((const int8_t *)w, scale, x, k, y, r0, r1);
    else if (v->qrows) v->qrows((const uint8_t *)w, in->q, in->d, k, y, r0, r1);
    else if (v->q6rows) v->q6rows((const uint8_t *)w, in->q, in->d, in->bsum, k, y, r0, r1);
    else {
        const size_t rb = tt_dense_row_bytes(v->kind, k);
        for (int r = r0; r < r1; r++) y[r] = v->q((const uint8_t *)w + (size_t)r * rb, in->q, in->d, in->bsum, k);
    }
}

const tt_dense_variant *tt_dense_variants(int *n)
{
    *n = (int)(sizeof variants / sizeof *variants);
    return variants;
}

bool tt_dense_variant_usable(const tt_dense_variant *v)
{
    return v && (tt_cpu_get()->usable & v->needs) == v->needs;
}

const tt_dense_variant *tt_dense_variant_find(const char *name)
{
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++)
        if (!strcmp(variants[i].name, name)) return &variants[i];
    return NULL;
}

/* Without a tuned winner (tt_pick_head): q8_0 / q4_0 on AVX-512 VNNI the interleaved one-stream member (the file's
 * blocks interleaved 16 rows at load: half the vector operations per block of the members on the rows as stored;
 * whole tokens 1.01-1.06x the former default head_q40_l4_r8_p3 at one and two threads in one loaded model on the
 * Zen 5 VM, docs/MEASUREMENT.md), else 4 rows on AVX-VNNI or AVX2 (the head race's order); on AVX-512 the
 * streams members the head races on the 2-core Xeon VM chose at one and two threads (docs/MEASUREMENT.md,
 * "Independent streams"): f16 four streams 512 bytes ahead, q6_K four streams one row ahead, i8 eight streams 512
 * bytes ahead; else f16 four streams 1024 bytes ahead through AVX2+F16C (the head race's winner at one thread on the
 * 2-core Zen 3 VM, 1.54x the former one-row default; at two threads within 1.3 % of the winner), q6_K two streams
 * one row ahead (1.21x and 1.20x whole tokens over one row per call at one and two threads in one loaded model
 * there), i8 four streams 1024 bytes ahead (the head race's winner at one and two threads there at stop 31). */
const tt_dense_variant *tt_dense_variant_default(tt_dense_kind kind)
{
    static const char *const pref[TT_DENSE_KINDS][4] = {
        {"head_f16_l64_s4_d512__avx512f", "head_f16_l64_s4_d1024__avx2", "head_f16_portable"},
        {"head_i8_s8_d512__avx512f", "head_i8_s4_d1024__avx2", "head_i8_portable"},
        {"head_q6k_s4_p1__avx512vnni", "head_q6k__avx512bw", "head_q6k_s2_p1__avx2", "head_q6k_portable"},
        {"head_q80_il16_s1__avx512vnni", "head_q80_r4__avxvnni", "head_q80_r4__avx2", "head_q80_portable"},
        {"head_q40_il16_s1__avx512vnni", "head_q40_r4__avxvnni", "head_q40_r4__avx2", "head_q40_portable"}};
    if (kind < 0 || kind >= TT_DENSE_KINDS) kind = TT_DENSE_F16;
    for (int i = 0; i < 4 && pref[kind][i]; i++) {
        const tt_dense_variant *v = tt_dense_variant_find(pref[kind][i]);
        if (v && tt_dense_variant_usable(v)) return v;
    }
    return &variants[kind]; /* the portable members come first, in kind order */
}

const char *tt_dense_impl(void)
{
    uint32_t u = tt_cpu_get()->usable;
    return (u & TT_F_AVX512F) ? "avx512f" : (u & TT_F_AVX2) && (u & TT_F_F16C) ? "avx2+f16c" : "portable";
}

void tt_dense_f16_rows(const uint16_t *w, const float *x, int k, float *y, int r0, int r1)
{
    tt_dense_variant_default(TT_DENSE_F16)->f16(w, x, k, y, r0, r1);
}

void tt_dense_i8_rows(const int8_t *w, const float *scale, const float *x, int k, float *y, int r0, int r1)
{
    tt_dense_variant_default(TT_DENSE_I8)->i8(w, scale, x, k, y, r0, r1);
}

#if defined(__x86_64__)
/* 2: AVX-512F, 1: AVX2, 0: portable (tt_cpu_get is a pthread_once and a load: cheap enough per call). x86 only:
 * elsewhere the float helpers below are the portable loops. */
static int f32_level(void)
{
    uint32_t u = tt_cpu_get()->usable;
    return (u & TT_F_AVX512F) ? 2 : (u & TT_F_AVX2) ? 1 : 0;
}

/* AVX2 with F16C: the f16 cache's paths below AVX-512 */
static bool f16c_level(void)
{
    uint32_t u = tt_cpu_get()->usable;
    return (u & TT_F_AVX2) && (u & TT_F_F16C);
}

/* and with FMA: the grouped attention paths below AVX-512 */
static bool f16c_fma_level(void)
{
    return f16c_level() && (tt_cpu_get()->usable & TT_F_FMA);
}
#endif

float tt_dense_dot_f32(const float *a, const float *b, int n)
{
#if defined(__x86_64__)
    switch (f32_level()) {
    case 2: return dot_f32_avx512(a, b, n);
    case 1: return dot_f32_avx2(a, b, n);
    }
#endif
    return tt_dense_dot_f32_ref(a, b, n);
}

void tt_dense_scores(const float *q, const float *k, size_t stride, int n, int hd, float scale, float *att)
{
#if defined(__x86_64__)
    if (f32_level() == 2) {
        scores_avx512(q, k, stride, n, hd, scale, att);
        return;
    }
#endif
    scores_portable(q, k, stride, n, hd, scale, att);
}

void tt_dense_weighted_sum(const float *att, const float *v, size_t stride, int n, int hd, float *out)
{
#if defined(__x86_64__)
    switch (f32_level()) {
    case 2: wsum_avx512(att, v, stride, n, hd, out); return;
    case 1: wsum_avx2(att, v, stride, n, hd, out); return;
    }
#endif
    wsum_portable(att, v, stride, n, hd, out);
}

void tt_dense_scores_f16(const float *q, const uint16_t *k, size_t stride, int n, int hd, float scale, float *att)
{
    tt_dense_scores_f16_g(q, 1, k, stride, n, hd, scale, att, 0);
}

void tt_dense_weighted_sum_f16(const float *att, const uint16_t *v, size_t stride, int n, int hd, float *out)
{
    tt_dense_weighted_sum_f16_g(att, 0, 1, v, stride, n, hd, out);
}

void tt_dense_scores_f16_g(const float *q, int G, const uint16_t *k, size_t stride, int n, int hd, float scale,
                           float *att, size_t ldatt)
{
#if defined(__x86_64__)
    /* the grouped kernels of 1..4 heads, in groups of four */
    typedef void (*group_fn)(const float *, const uint16_t *, size_t, int, int, float, float *, size_t);
    static const group_fn z[4] = {scores_f16_g1_avx512, scores_f16_g2_avx512, scores_f16_g3_avx512,
                                  scores_f16_g4_avx512},
                          a[4] = {scores_f16_g1_avx2, scores_f16_g2_avx2, scores_f16_g3_avx2, scores_f16_g4_avx2};
    const group_fn *fn = hd % LANES ? NULL : f32_level() == 2 ? z : f16c_fma_level() ? a : NULL;
    if (fn) {
        for (int g = 0; g < G; g += 4)
            fn[(G - g < 4 ? G - g : 4) - 1](q + (size_t)g * hd, k, stride, n, hd, scale, att + g * ldatt, ldatt);
        return;
    }
    if (f16c_level()) {
        for (int g = 0; g < G; g++) scores_f16_f16c(q + (size_t)g * hd, k, stride, n, hd, scale, att + g * ldatt);
        return;
    }
#endif
    for (int g = 0; g < G; g++) scores_f16_portable(q + (size_t)g * hd, k, stride, n, hd, scale, att + g * ldatt);
}

void tt_dense_weighted_sum_f16_g(const float *att, size_t ldatt, int G, const uint16_t *v, size_t stride, int n, int hd,
                                 float *out)
{
#if defined(__x86_64__)
    /* the grouped kernels of 1..4 heads, in groups of four (AVX-512 at any hd, AVX2 at multiples of 16) */
    typedef void (*group_fn)(const float *, size_t, const uint16_t *, size_t, int, int, float *);
    static const group_fn z[4] = {wsum_f16_g1_avx512, wsum_f16_g2_avx512, wsum_f16_g3_avx512, wsum_f16_g4_avx512},
                          a[4] = {wsum_f16_g1_avx2, wsum_f16_g2_avx2, wsum_f16_g3_avx2, wsum_f16_g4_avx2};
    const group_fn *fn = f32_level() == 2 ? z : f16c_fma_level() && hd % LANES == 0 ? a : NULL;
    if (fn) {
        for (int g = 0; g < G; g += 4)
            fn[(G - g < 4 ? G - g : 4) - 1](att + g * ldatt, ldatt, v, stride, n, hd, out + (size_t)g * hd);
        return;
    }
    if (f16c_level()) {
        for (int g = 0; g < G; g++) wsum_f16_f16c(att + g * ldatt, v, stride, n, hd, out + (size_t)g * hd);
        return;
    }
#endif
    for (int g = 0; g < G; g++) wsum_f16_portable(att + g * ldatt, v, stride, n, hd, out + (size_t)g * hd);
}

void tt_dense_to_f16(uint16_t *h, const float *x, int n)
{
#if defined(__x86_64__)
    if (f32_level() == 2) {
        to_f16_avx512(h, x, n);
        return;
    }
    if (f16c_level()) {
        to_f16_f16c(h, x, n);
        return;
    }
#endif
    tt_dense_to_f16_ref(h, x, n);
}

void tt_dense_scale_mul(float *o, const float *x, float s, const float *w, int n)
{
#if defined(__x86_64__)
    switch (f32_level()) {
    case 2: scale_mul_avx512(o, x, s, w, n); return;
    case 1: scale_mul_avx2(o, x, s, w, n); return;
    }
#endif
    tt_dense_scale_mul_ref(o, x, s, w, n);
}

void tt_dense_add(float *x, const float *y, int n)
{
#if defined(__x86_64__)
    switch (f32_level()) {
    case 2: add_avx512(x, y, n); return;
    case 1: add_avx2(x, y, n); return;
    }
#endif
    tt_dense_add_ref(x, y, n);
}

void tt_dense_relu2_mul(float *g, const float *u, int n)
{
#if defined(__x86_64__)
    switch (f32_level()) {
    case 2: relu2_mul_avx512(g, u, n); return;
    case 1: relu2_mul_avx2(g, u, n); return;
    }
#endif
    tt_dense_relu2_mul_ref(g, u, n);
}

void tt_dense_rope(float *v, const float *cs, int half)
{
#if defined(__x86_64__)
    switch (f32_level()) {
    case 2: rope_avx512(v, cs, half); return;
    case 1: rope_avx2(v, cs, half); return;
    }
#endif
    tt_dense_rope_ref(v, cs, half);
}

double tt_dense_softmax(float *x, int n)
{
#if defined(__x86_64__)
    uint32_t u = tt_cpu_get()->usable;
    if (u & TT_F_AVX512F) {
        return softmax_avx512(x, n);
    }
    if ((u & TT_F_AVX2) && (u & TT_F_FMA)) {
        return softmax_avx2(x, n);
    }
#endif
    return tt_dense_softmax_ref(x, n);
}

void tt_dense_round_f16(float *x, int n)
{
#if defined(__x86_64__)
    uint32_t u = tt_cpu_get()->usable;
    if (u & TT_F_AVX512F) {
        round_f16_avx512(x, n);
        return;
    }
    if ((u & TT_F_AVX2) && (u & TT_F_F16C)) {
        round_f16_f16c(x, n);
        return;
    }
#endif
    tt_dense_round_f16_ref(x, n);
}
