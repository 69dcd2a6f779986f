/* tt_q32.c — ggml's blocks of 32 (Q4_0, Q8_0) and their products with q8_0 input blocks (tt_q32.h: the layouts and
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
#include <immintrin.h>

/* The 32 values of block b as int8 times its q8 block, as 8 int32 partial sums (sign/abs + maddubs: |w| <= 128 and
 * |q| <= 127, so the pairs fit int16; then madd by ones). */
__attribute__((target("avx2,f16c"))) static inline __m256i q40_block(const uint8_t *blk, const int8_t *q)
{
    const __m128i raw = _mm_loadu_si128((const __m128i *)(blk + 2)), m4 = _mm_set1_epi8(0x0F);
    __m256i w = _mm256_sub_epi8(_mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), m4), _mm_and_si128(raw, m4)),
                                _mm256_set1_epi8(8));
    __m256i x = _mm256_loadu_si256((const __m256i *)q);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w)), _mm256_set1_epi16(1));
}

__attribute__((target("avx2,f16c"))) static inline __m256i q80_block(const uint8_t *blk, const int8_t *q)
{
    __m256i w = _mm256_loadu_si256((const __m256i *)(blk + 2)), x = _mm256_loadu_si256((const __m256i *)q);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w)), _mm256_set1_epi16(1));
}

/* The row product with the blocks taken 8 at a time: their 8 partial-sum vectors reduced together (one hadd tree,
 * lane i = block i's exact integer), the 8 terms (dw·dx)·isum computed as vectors (the same IEEE products as the
 * scalar code; the f16 scales through F16C, exact and without float-subnormal assists), then added to acc one by
 * one in block order: the portable loop's bits. */
#define Q32_AVX2_DOT(NAME, BLOCK, BYTES)                                                                              \
    __attribute__((target("avx2,f16c"))) float NAME(const uint8_t *blocks, const int8_t *q, const float *dx, int n)  \
    {                                                                                                                 \
        const int nb = n / 32;                                                                                        \
        float acc = 0.0f;                                                                                             \
        int b = 0;                                                                                                    \
        for (; b + 8 <= nb; b += 8) {                                                                                 \
            __m256i p[8];                                                                                             \
            uint16_t hs[8];                                                                                           \
            float t[8];                                                                                               \
            for (int i = 0; i < 8; i++) {                                                                             \
                const uint8_t *blk = blocks + (size_t)(b + i) * BYTES;                                                \
                p[i] = BLOCK(blk, q + 32 * (b + i));                                                                  \
                hs[i] = (uint16_t)(blk[0] | blk[1] << 8);                                                             \
            }                                                                                                         \
            __m256 sc = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)hs)), _mm256_loadu_ps(dx + b)); \
            __m256i h0 = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));            \
            __m256i h1 = _mm256_hadd_epi32(_mm256_hadd_epi32(p[4], p[5]), _mm256_hadd_epi32(p[6], p[7]));            \
            __m256i s = _mm256_add_epi32(_mm256_permute2x128_si256(h0, h1, 0x20), _mm256_permute2x128_si256(h0, h1, 0x31)); \
            _mm256_storeu_ps(t, _mm256_mul_ps(sc, _mm256_cvtepi32_ps(s)));                                            \
            for (int i = 0; i < 8; i++) acc += t[i];                                                                  \
        }                                                                                                             \
        for (; b < nb; b++) {                                                                                         \
            const uint8_t *blk = blocks + (size_t)b * BYTES;                                                          \
            __m256i v = BLOCK(blk, q + 32 * b);                                                                       \
            __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));                    \
            s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));                                                         \
            s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));                                                         \
            float d = _cvtsh_ss((unsigned short)(blk[0] | blk[1] << 8));                                              \
            acc += (d * dx[b]) * (float)_mm_cvtsi128_si32(s);                                                         \
        }                                                                                                             \
        return acc;                                                                                                   \
    }

Q32_AVX2_DOT(tt_q40_dot_q80_avx2, q40_block, TT_Q40_BYTES)
Q32_AVX2_DOT(tt_q80_dot_q80_avx2, q80_block, TT_Q80_BYTES)
#endif
