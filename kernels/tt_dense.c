/* LM-head row dots (see tt_dense.h). The ISA paths are per-function target attributes selected once at run time:
 * the rest of the binary stays baseline x86-64. Four rows at a time share each activation load and keep four
 * independent add chains in flight; each row's own chain is the portable order, so results are identical.
 * Each step prefetches as many bytes of the next block of rows as it reads of this one, so the prefetches run one
 * block ahead. The hardware prefetchers alone left the 4-row f16 loop at 23 GB/s on a core that streams 39 GB/s
 * (2560-wide rows of the 2B4T head, 1 thread, AMD Zen 5 VM); with the prefetches it streams 37 GB/s. */
#include "tt_dense.h"

#include "tt_cpu.h"

#include <math.h>
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

float tt_dense_f16_dot_ref(const uint16_t *w, const float *x, int k)
{
    float l[LANES] = {0};
    for (int i = 0; i < k; i += LANES)
        for (int j = 0; j < LANES; j++) {
            float p = tt_dense_half_to_float(w[i + j]) * x[i + j];
            l[j] += p;
        }
    return sum_lanes(l);
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

__attribute__((target("avx512f"))) static void f16_avx512(const uint16_t *w, const float *x, int k, float *y, int r0,
                                                          int r1)
{
    int r = r0;
    for (; r + 4 <= r1; r += 4) {
        const uint16_t *a = w + (size_t)r * k;
        const char *next = (const char *)(a + 4 * (size_t)k); /* the next block of 4 rows: 8k bytes */
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (int i = 0; i < k; i += LANES) {
            /* 128 bytes read per step, 128 bytes of the next block prefetched: exactly one block ahead */
            _mm_prefetch(next + 8 * (size_t)i, _MM_HINT_T0);
            _mm_prefetch(next + 8 * (size_t)i + 64, _MM_HINT_T0);
            __m512 xv = _mm512_loadu_ps(x + i);
            s0 = _mm512_add_ps(s0, _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a + i))), xv));
            s1 = _mm512_add_ps(s1, _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a + k + i))), xv));
            s2 = _mm512_add_ps(s2, _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a + 2 * (size_t)k + i))), xv));
            s3 = _mm512_add_ps(s3, _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a + 3 * (size_t)k + i))), xv));
        }
        y[r] = hsum16_512(s0), y[r + 1] = hsum16_512(s1), y[r + 2] = hsum16_512(s2), y[r + 3] = hsum16_512(s3);
    }
    f16_portable(w, x, k, y, r, r1);
}

__attribute__((target("avx512f"))) static void i8_avx512(const int8_t *w, const float *scale, const float *x, int k,
                                                         float *y, int r0, int r1)
{
    int r = r0;
    for (; r + 4 <= r1; r += 4) {
        const int8_t *a = w + (size_t)r * k;
        const char *next = (const char *)(a + 4 * (size_t)k); /* the next block of 4 rows: 4k bytes */
        __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int i = 0; i < k; i += LANES) {
            _mm_prefetch(next + 4 * (size_t)i, _MM_HINT_T0); /* 64 bytes read per step, 64 prefetched */
            __m512 xv = _mm512_loadu_ps(x + i);
            for (int q = 0; q < 4; q++) {
                __m512 wv = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(a + q * (size_t)k + i))));
                s[q] = _mm512_add_ps(s[q], _mm512_mul_ps(wv, xv));
            }
        }
        for (int q = 0; q < 4; q++) y[r + q] = hsum16_512(s[q]) * scale[r + q];
    }
    i8_portable(w, scale, x, k, y, r, r1);
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
    __m256 upper = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)); /* lanes 8..15 */
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(s), upper);
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
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

__attribute__((target("avx2,f16c"))) static float hsum16_256(__m256 lo, __m256 hi)
{
    float l[LANES];
    _mm256_storeu_ps(l, lo);
    _mm256_storeu_ps(l + 8, hi);
    return sum_lanes(l);
}

__attribute__((target("avx2,f16c"))) static void f16_avx2(const uint16_t *w, const float *x, int k, float *y, int r0,
                                                          int r1)
{
    int r = r0;
    for (; r + 2 <= r1; r += 2) {
        const uint16_t *a = w + (size_t)r * k, *b = a + k;
        const char *next = (const char *)(a + 2 * (size_t)k); /* the next pair of rows: 4k bytes */
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
        for (int i = 0; i < k; i += LANES) {
            _mm_prefetch(next + 4 * (size_t)i, _MM_HINT_T0); /* 64 bytes read per step, 64 prefetched */
            __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i))), x0));
            a1 = _mm256_add_ps(a1, _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i + 8))), x1));
            b0 = _mm256_add_ps(b0, _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i))), x0));
            b1 = _mm256_add_ps(b1, _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i + 8))), x1));
        }
        y[r] = hsum16_256(a0, a1), y[r + 1] = hsum16_256(b0, b1);
    }
    f16_portable(w, x, k, y, r, r1);
}
#endif

typedef void (*f16_fn)(const uint16_t *, const float *, int, float *, int, int);
typedef void (*i8_fn)(const int8_t *, const float *, const float *, int, float *, int, int);

static f16_fn pick_f16(const char **name)
{
#if defined(__x86_64__)
    uint32_t u = tt_cpu_get()->usable;
    if (u & TT_F_AVX512F) return *name = "avx512f", f16_avx512;
    if ((u & TT_F_AVX2) && (u & TT_F_F16C)) return *name = "avx2+f16c", f16_avx2;
#endif
    return *name = "portable", f16_portable;
}

static i8_fn pick_i8(void)
{
#if defined(__x86_64__)
    if (tt_cpu_get()->usable & TT_F_AVX512F) return i8_avx512;
#endif
    return i8_portable;
}

typedef float (*dot_fn)(const float *, const float *, int);

static dot_fn pick_dot(void)
{
    static dot_fn fn; /* racing first calls store the same value */
    dot_fn seen = __atomic_load_n(&fn, __ATOMIC_RELAXED);
    if (seen) return seen;
    dot_fn f = tt_dense_dot_f32_ref;
#if defined(__x86_64__)
    uint32_t u = tt_cpu_get()->usable;
    if (u & TT_F_AVX512F) f = dot_f32_avx512;
    else if (u & TT_F_AVX2) f = dot_f32_avx2;
#endif
    __atomic_store_n(&fn, f, __ATOMIC_RELAXED);
    return f;
}

float tt_dense_dot_f32(const float *a, const float *b, int n) { return pick_dot()(a, b, n); }

const char *tt_dense_impl(void)
{
    const char *n;
    pick_f16(&n);
    return n;
}

void tt_dense_f16_rows(const uint16_t *w, const float *x, int k, float *y, int r0, int r1)
{
    const char *n;
    pick_f16(&n)(w, x, k, y, r0, r1);
}

void tt_dense_i8_rows(const int8_t *w, const float *scale, const float *x, int k, float *y, int r0, int r1)
{
    pick_i8()(w, scale, x, k, y, r0, r1);
}
