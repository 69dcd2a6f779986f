/* q32.c — ggml's blocks of 32 (Q4_0, Q8_0) and their products with q8_0 input blocks (tt_q32.h: the layouts and
 * rules, with sources). */
#include "tt_q32.h"
#include "tt_half.h"

#include <math.h>
#include <string.h>

void tt_q40_dequant(const uint8_t *blocks, int n, float *y)
{
    for (int b = 0; b < n / TT_Q40_BLOCK; b++, blocks += TT_Q40_BYTES, y += TT_Q40_BLOCK) {
        float d = tt_half_to_float((uint16_t)(blocks[0] | blocks[1] << 8));
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((blocks[2 + j] & 0xF) - 8) * d;
            y[j + 16] = (float)((blocks[2 + j] >> 4) - 8) * d;
        }
    }
}

void tt_q40_quantize(const float *x, int n, uint8_t *blocks)
{
    for (int b = 0; b < n / TT_Q40_BLOCK; b++, x += TT_Q40_BLOCK, blocks += TT_Q40_BYTES) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 32; j++)
            if (amax < fabsf(x[j])) amax = fabsf(x[j]), max = x[j];
        float d = max / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        uint16_t dh = tt_float_to_half(d);
        blocks[0] = (uint8_t)dh, blocks[1] = (uint8_t)(dh >> 8);
        for (int j = 0; j < 16; j++) {
            int a = (int8_t)(x[j] * id + 8.5f), c = (int8_t)(x[j + 16] * id + 8.5f);
            blocks[2 + j] = (uint8_t)((a < 15 ? a : 15) | (c < 15 ? c : 15) << 4);
        }
    }
}

float tt_q40_dot_q80(const uint8_t *blocks, const int8_t *q, const float *dx, int n)
{
    float acc = 0.0f;
    for (int b = 0; b < n / TT_Q40_BLOCK; b++, blocks += TT_Q40_BYTES, q += TT_Q40_BLOCK) {
        int32_t isum = 0;
        for (int j = 0; j < 16; j++) isum += ((blocks[2 + j] & 0xF) - 8) * q[j] + ((blocks[2 + j] >> 4) - 8) * q[j + 16];
        float dw = tt_half_to_float_vec((uint16_t)(blocks[0] | blocks[1] << 8));
        acc += (dw * dx[b]) * (float)isum;
    }
    return acc;
}

void tt_q80_quantize(const float *x, int n, int8_t *q, float *d)
{
    for (int b = 0; b < n / 32; b++) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[32 * b + j]));
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        d[b] = tt_half_to_float(tt_float_to_half(amax / 127.0f));
        for (int j = 0; j < 32; j++) q[32 * b + j] = (int8_t)nearbyintf(x[32 * b + j] * id);
    }
}

float tt_q80_dot_q80(const uint8_t *blocks, const int8_t *q, const float *dx, int n)
{
    float acc = 0.0f;
    for (int b = 0; b < n / 32; b++, blocks += TT_Q80_BYTES, q += 32) {
        float d = tt_half_to_float_vec((uint16_t)(blocks[0] | blocks[1] << 8));
        int32_t isum = 0;
        for (int j = 0; j < 32; j++) isum += (int8_t)blocks[2 + j] * q[j];
        acc += (d * dx[b]) * (float)isum;
    }
    return acc;
}

#if defined(__x86_64__) || defined(__i386__)
#include "tt_cpu.h"
#include <immintrin.h>

/* Per block: the 32 nibbles in value order minus 8 (int8), times q8 through sign/abs + maddubs (|products| <= 8·128,
 * pairs fit int16) and madd into int32; the integer and the float accumulation are the portable loop's. */
__attribute__((target("avx2"))) static float dot_avx2(const uint8_t *blocks, const int8_t *q, const float *dx, int n)
{
    const __m128i m4 = _mm_set1_epi8(0x0F);
    const __m256i eight = _mm256_set1_epi8(8), ones = _mm256_set1_epi16(1);
    float acc = 0.0f;
    for (int b = 0; b < n / TT_Q40_BLOCK; b++, blocks += TT_Q40_BYTES, q += TT_Q40_BLOCK) {
        __m128i raw = _mm_loadu_si128((const __m128i *)(blocks + 2));
        __m256i w = _mm256_sub_epi8(
            _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), m4), _mm_and_si128(raw, m4)), eight);
        __m256i x = _mm256_loadu_si256((const __m256i *)q);
        __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w)), ones);
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
        float dw = tt_half_to_float_vec((uint16_t)(blocks[0] | blocks[1] << 8));
        acc += (dw * dx[b]) * (float)_mm_cvtsi128_si32(s);
    }
    return acc;
}

/* Per block: the 32 stored int8 times q8 through sign/abs + maddubs (|w| <= 128 and |q| <= 127: pairs fit int16)
 * and madd into int32; the portable loop's integer and float accumulation. */
__attribute__((target("avx2"))) static float dot80_avx2(const uint8_t *blocks, const int8_t *q, const float *dx, int n)
{
    const __m256i ones = _mm256_set1_epi16(1);
    float acc = 0.0f;
    for (int b = 0; b < n / 32; b++, blocks += TT_Q80_BYTES, q += 32) {
        __m256i w = _mm256_loadu_si256((const __m256i *)(blocks + 2)), x = _mm256_loadu_si256((const __m256i *)q);
        __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w)), ones);
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
        float d = tt_half_to_float_vec((uint16_t)(blocks[0] | blocks[1] << 8));
        acc += (d * dx[b]) * (float)_mm_cvtsi128_si32(s);
    }
    return acc;
}
#endif

typedef struct form {
    const char *name;
    uint32_t needs;
    tt_q40_dot_fn fn;
} form;

static const form forms80[] = {
    {"q8_0 x q8_0, portable", 0, tt_q80_dot_q80},
#if defined(__x86_64__) || defined(__i386__)
    {"q8_0 x q8_0, AVX2", TT_F_AVX2, dot80_avx2},
#endif
};

static const form forms[] = {
    {"q4_0 x q8_0, portable", 0, tt_q40_dot_q80},
#if defined(__x86_64__) || defined(__i386__)
    {"q4_0 x q8_0, AVX2", TT_F_AVX2, dot_avx2},
#endif
};

static tt_q40_dot_fn form_get(const form *f, int nf, int i, const char **name, bool *usable)
{
    if (i < 0 || i >= nf) return NULL;
    if (name) *name = f[i].name;
#if defined(__x86_64__) || defined(__i386__)
    if (usable) *usable = (tt_cpu_get()->usable & f[i].needs) == f[i].needs;
#else
    if (usable) *usable = true;
#endif
    return f[i].fn;
}

static tt_q40_dot_fn form_pick(const form *f, int nf, const char **name)
{
    tt_q40_dot_fn best = f[0].fn;
    bool ok;
    if (name) *name = f[0].name;
    for (int i = 1; form_get(f, nf, i, NULL, &ok); i++)
        if (ok) best = form_get(f, nf, i, name, NULL);
    return best;
}

#define NF(a) ((int)(sizeof a / sizeof a[0]))
tt_q40_dot_fn tt_q40_dot_form(int i, const char **name, bool *usable) { return form_get(forms, NF(forms), i, name, usable); }
tt_q40_dot_fn tt_q40_dot_pick(const char **name) { return form_pick(forms, NF(forms), name); }
tt_q40_dot_fn tt_q80_dot_form(int i, const char **name, bool *usable) { return form_get(forms80, NF(forms80), i, name, usable); }
tt_q40_dot_fn tt_q80_dot_pick(const char **name) { return form_pick(forms80, NF(forms80), name); }
