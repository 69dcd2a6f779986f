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

/* The summation order every member of the q8_0 / q4_0 head kinds keeps (tt_q32.h): eight lanes, block after block. */
static float hsum8(const float *l)
{
    const float r0 = l[4] + l[0], r1 = l[5] + l[1], r2 = l[6] + l[2], r3 = l[7] + l[3];
    const float s0 = r0 + r2, s1 = r1 + r3;
    return s0 + s1;
}

/* One block's turn: lane j += (dw·dx) · (exact integer sum of values 4j..4j+3 times their inputs), one rounding. */
static void lanes_add(float *l, float d, const int *v, const int8_t *q)
{
    for (int j = 0; j < 8; j++) {
        int32_t p = 0;
        for (int i = 4 * j; i < 4 * j + 4; i++) p += v[i] * q[i];
        l[j] = fmaf(d, (float)p, l[j]);
    }
}

float tt_q40_dot_q80(const uint8_t *blocks, const int8_t *q, const float *dx, int n)
{
    float l[8] = {0};
    for (int b = 0; b < n / TT_Q40_BLOCK; b++, blocks += TT_Q40_BYTES, q += TT_Q40_BLOCK) {
        int v[32];
        for (int j = 0; j < 16; j++) v[j] = (blocks[2 + j] & 0xF) - 8, v[j + 16] = (blocks[2 + j] >> 4) - 8;
        lanes_add(l, tt_half_to_float_vec((uint16_t)(blocks[0] | blocks[1] << 8)) * dx[b], v, q);
    }
    return hsum8(l);
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
    float l[8] = {0};
    for (int b = 0; b < n / 32; b++, blocks += TT_Q80_BYTES, q += 32) {
        int v[32];
        for (int j = 0; j < 32; j++) v[j] = (int8_t)blocks[2 + j];
        lanes_add(l, tt_half_to_float_vec((uint16_t)(blocks[0] | blocks[1] << 8)) * dx[b], v, q);
    }
    return hsum8(l);
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* ggml's hsum_float_8: the high half plus the low half, then lanes 0+2 and 1+3, then those two. */
#define Q32_TARGET __attribute__((target("avx2,fma,f16c"), always_inline)) static inline
Q32_TARGET float q32_hsum(__m256 a)
{
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(a, 1), _mm256_castps256_ps128(a));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    return _mm_cvtss_f32(_mm_add_ss(r, _mm_movehdup_ps(r)));
}

Q32_TARGET float q32_scale(const uint8_t *blk, float dx) { return _cvtsh_ss((unsigned short)(blk[0] | blk[1] << 8)) * dx; }

/* q4_0 values as nibbles 0..15 in element order (low nibbles are values 0..15, high nibbles 16..31): the lane sums
 * of nibble·input are formed exactly (|pair| <= 2·15·127 fits int16), and 8·Σ input over the lane's four values,
 * shared by all rows, is taken off: the exact integer Σ (nibble − 8)·input of each lane. The 16 bytes are
 * broadcast to both halves by the load and the high half shifted by a per-lane count (vpsrlvd), not shifted and
 * inserted: one vector operation fewer, and the head ~1.1x faster in one process on the 2-core Zen 3 VM. */
Q32_TARGET __m256i q40_nibbles(const uint8_t *blk)
{
    const __m256i raw = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(blk + 2)));
    return _mm256_and_si256(_mm256_srlv_epi32(raw, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)), _mm256_set1_epi8(0x0F));
}

/* R rows at a time, each row's lanes in their own accumulator: independent chains for the out-of-order core, and
 * each input block loaded once for R rows; the rows left over go one at a time. VNNI forms sum the four products of
 * a lane in one instruction; the integers are the same. BLOCK(blk, x, x8, DOT4) is one block's eight lane sums. */
#define Q32_ROWS(NAME, TARGET, R, BYTES, BLOCK, DOT4)                                                                 \
    __attribute__((target(TARGET), always_inline)) static inline void NAME##_core(                                   \
        const uint8_t *row, size_t rb, const int8_t *q, const float *dx, int nb, float *y, const int n)             \
    {                                                                                                                \
        const __m256i zero = _mm256_setzero_si256();                                                                 \
        __m256 acc[R];                                                                                               \
        for (int i = 0; i < n; i++) acc[i] = _mm256_setzero_ps();                                                    \
        for (int b = 0; b < nb; b++) {                                                                               \
            /* the next group's rows, one group ahead, in the order they will be read: R rows are R short streams \
             * that restart every group, which the hardware prefetchers do not follow (2.4x slower without) */      \
            const char *next = (const char *)(row + (size_t)n * rb) + (size_t)b * n * BYTES;                        \
            for (int o = 0; n > 1 && o < n * BYTES; o += 64) _mm_prefetch(next + o, _MM_HINT_T0);                   \
            const __m256i x = _mm256_loadu_si256((const __m256i *)(q + 32 * b));                                     \
            const __m256i x8 = DOT4(zero, _mm256_set1_epi8(8), x); /* q4_0's offset; unused for q8_0 */             \
            (void)x8;                                                                                                \
            for (int i = 0; i < n; i++) {                                                                            \
                const uint8_t *blk = row + (size_t)i * rb + (size_t)b * BYTES;                                       \
                const __m256i p = BLOCK(blk, x, x8, DOT4);                                                           \
                acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(q32_scale(blk, dx[b])), _mm256_cvtepi32_ps(p), acc[i]);      \
            }                                                                                                        \
        }                                                                                                            \
        for (int i = 0; i < n; i++) y[i] = q32_hsum(acc[i]);                                                         \
    }                                                                                                                \
    __attribute__((target(TARGET))) void NAME(const uint8_t *w, const int8_t *q, const float *dx, int k, float *y,  \
                                              int r0, int r1)                                                       \
    {                                                                                                                \
        const int nb = k / 32;                                                                                       \
        const size_t rb = (size_t)nb * BYTES;                                                                        \
        int r = r0;                                                                                                  \
        for (; r + R <= r1; r += R) NAME##_core(w + (size_t)r * rb, rb, q, dx, nb, y + r, R);                        \
        for (; r < r1; r++) NAME##_core(w + (size_t)r * rb, rb, q, dx, nb, y + r, 1);                               \
    }

/* One q4_0 block's lane sums: Σ nibble·input − 8·Σ input. */
#define Q40_BLOCK(blk, x, x8, DOT4) _mm256_sub_epi32(DOT4(_mm256_setzero_si256(), q40_nibbles(blk), (x)), (x8))
/* One q8_0 block's: q8_0 values are signed: |w| times the input with w's sign (ggml's mul_sum_i8_pairs; |w| <= 128,
 * so the pairs of maddubs fit int16; the input is in [-127, 127] as tt_q80_quantize makes it, so its negation fits). */
#define Q80_BLOCK(blk, x, x8, DOT4)                                                                                    \
    q80_block_##DOT4(_mm256_loadu_si256((const __m256i *)((blk) + 2)), (x))

/* Σ over each lane's four (unsigned a) × (signed b) products, added to c: exact for the values used here. */
#define DOT4_AVX2(c, a, b) _mm256_add_epi32((c), _mm256_madd_epi16(_mm256_maddubs_epi16((a), (b)), _mm256_set1_epi16(1)))
#define DOT4_VNNI(c, a, b) _mm256_dpbusd_avx_epi32((c), (a), (b))

#define Q80_SIGNED(DOT4, TARGET)                                                                                       \
    __attribute__((target(TARGET), always_inline)) static inline __m256i q80_block_##DOT4(__m256i v, __m256i x)        \
    {                                                                                                                \
        return DOT4(_mm256_setzero_si256(), _mm256_sign_epi8(v, v), _mm256_sign_epi8(x, v));                         \
    }
Q80_SIGNED(DOT4_AVX2, "avx2,fma,f16c")
Q80_SIGNED(DOT4_VNNI, "avx2,fma,f16c,avxvnni")

#define Q32_MEMBERS(R)                                                                                                 \
    Q32_ROWS(tt_q40_rows_r##R##_avx2, "avx2,fma,f16c", R, TT_Q40_BYTES, Q40_BLOCK, DOT4_AVX2)                         \
    Q32_ROWS(tt_q40_rows_r##R##_avxvnni, "avx2,fma,f16c,avxvnni", R, TT_Q40_BYTES, Q40_BLOCK, DOT4_VNNI)              \
    Q32_ROWS(tt_q80_rows_r##R##_avx2, "avx2,fma,f16c", R, TT_Q80_BYTES, Q80_BLOCK, DOT4_AVX2)                         \
    Q32_ROWS(tt_q80_rows_r##R##_avxvnni, "avx2,fma,f16c,avxvnni", R, TT_Q80_BYTES, Q80_BLOCK, DOT4_VNNI)
Q32_MEMBERS(1)
Q32_MEMBERS(2)
Q32_MEMBERS(4)

/* AVX-512 VNNI: two rows per 512-bit register, row A in the low half and row B in the high half, each half the eight
 * lanes of its own row (so each lane still takes its row's blocks in order); an input block is broadcast to both
 * halves. Rows come in groups of R (R/2 registers); a row left over goes through the AVX2 one-row form. */
#define Z_TARGET "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"
__attribute__((target(Z_TARGET), always_inline)) static inline __m512 z_scales(const uint8_t *a, const uint8_t *b,
                                                                               __m128 dxb)
{ /* [dA·dx ×8 | dB·dx ×8] */
    const __m128 s = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)(a[0] | a[1] << 8) |
                                                                     (uint32_t)(b[0] | b[1] << 8) << 16))), dxb);
    return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                                 _mm512_castps128_ps512(s));
}

/* q4_0: [A's 32 nibbles | B's 32 nibbles] in element order */
__attribute__((target(Z_TARGET), always_inline)) static inline __m512i z_q40(const uint8_t *a, const uint8_t *b)
{
    const __m256i raw = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(a + 2))),
                                                _mm_loadu_si128((const __m128i *)(b + 2)), 1);
    const __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(raw), _mm256_srli_epi16(raw, 4), 1); /* A B A' B' */
    return _mm512_and_si512(_mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0)), _mm512_set1_epi8(0x0F));
}

#define Z_ROWS(NAME, R, BYTES, IS_Q40)                                                                                \
    __attribute__((target(Z_TARGET), always_inline)) static inline void NAME##_core(                                 \
        const uint8_t *row, size_t rb, const int8_t *q, const float *dx, int nb, float *y)                          \
    {                                                                                                                \
        enum { P = R / 2 };                                                                                          \
        __m512 acc[P];                                                                                               \
        for (int i = 0; i < P; i++) acc[i] = _mm512_setzero_ps();                                                    \
        for (int b = 0; b < nb; b++) {                                                                               \
            for (int o = 0; o < R * BYTES; o += 64) /* the next group, one group ahead (see Q32_ROWS) */             \
                _mm_prefetch((const char *)(row + (size_t)R * rb) + (size_t)b * R * BYTES + o, _MM_HINT_T0);         \
            const __m512i xx = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(q + 32 * b)));            \
            const __m512i x8 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(8), xx);                 \
            const __m128 dxb = _mm_set1_ps(dx[b]);                                                                   \
            for (int i = 0; i < P; i++) {                                                                            \
                const uint8_t *ba = row + (size_t)(2 * i) * rb + (size_t)b * BYTES, *bb = ba + rb;                   \
                __m512i p;                                                                                           \
                if (IS_Q40) {                                                                                        \
                    p = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), z_q40(ba, bb), xx), x8);        \
                } else {                                                                                             \
                    const __m512i v = _mm512_inserti64x4(                                                            \
                        _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(ba + 2))),                       \
                        _mm256_loadu_si256((const __m256i *)(bb + 2)), 1);                                           \
                    const __m512i sx = _mm512_mask_sub_epi8(xx, _mm512_movepi8_mask(v), _mm512_setzero_si512(), xx); \
                    p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(v), sx);                         \
                }                                                                                                    \
                acc[i] = _mm512_fmadd_ps(z_scales(ba, bb, dxb), _mm512_cvtepi32_ps(p), acc[i]);                     \
            }                                                                                                        \
        }                                                                                                            \
        for (int i = 0; i < P; i++) {                                                                                \
            y[2 * i] = q32_hsum(_mm512_castps512_ps256(acc[i]));                                                     \
            y[2 * i + 1] = q32_hsum(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[i]), 1)));          \
        }                                                                                                            \
    }

Z_ROWS(zq40_r2, 2, TT_Q40_BYTES, 1)
Z_ROWS(zq40_r4, 4, TT_Q40_BYTES, 1)
Z_ROWS(zq40_r8, 8, TT_Q40_BYTES, 1)
Z_ROWS(zq80_r2, 2, TT_Q80_BYTES, 0)
Z_ROWS(zq80_r4, 4, TT_Q80_BYTES, 0)
Z_ROWS(zq80_r8, 8, TT_Q80_BYTES, 0)

/* AVX-512 VNNI, one row per 128-bit lane ("l4" members): a block's 16 value bytes of four rows fill one register.
 * A lane's four values are bytes 4j..4j+3 of the block's first 16 value bytes (lanes 0-3) or of its second 16
 * (lanes 4-7): q4_0's low and high nibbles of its 16 bytes, q8_0's bytes 0-15 and 16-31. So one dpbusd against the
 * first 16 inputs (broadcast to the four lanes) gives lanes 0-3 of four rows, one against the last 16 lanes 4-7, and
 * each half keeps its own accumulator: every lane still takes its row's blocks in order with the portable fma. The
 * dpbusd starts from the negated offset (q4_0: 8·Σ input over the lane's four values; q8_0: 128·Σ input, its signed
 * values taken as w xor 0x80 = w + 128), so the integer is the exact Σ w·input. Fewer operations per block than the
 * two-rows-per-register form: no lane shuffles, the offset inside the dpbusd, the four rows' scales in one convert. */
/* Input block b as the one-row-per-lane members take it: its first and last 16 values broadcast to the four lanes
 * (xl, xh), and the negated offset terms Σ bias·input per lane (ol, oh), where each lane's dpbusd starts. */
__attribute__((target(Z_TARGET), always_inline)) static inline void l4_input(const int8_t *q, int b, __m512i bias,
                                                                             __m512i *xl, __m512i *xh, __m512i *ol,
                                                                             __m512i *oh)
{
    *xl = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(q + 32 * b)));
    *xh = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(q + 32 * b + 16)));
    *ol = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, *xl));
    *oh = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, *xh));
}
/* Four rows' results: row i's lanes 0-3 are lanes 4i..4i+3 of lo, its lanes 4-7 those of hi; hsum8's order. */
__attribute__((target(Z_TARGET), always_inline)) static inline void l4_out(__m512 lo, __m512 hi, float *y)
{
    float l[16], h[16];
    _mm512_storeu_ps(l, lo), _mm512_storeu_ps(h, hi);
    for (int i = 0; i < 4; i++) {
        const float v[8] = {l[4 * i], l[4 * i + 1], l[4 * i + 2], l[4 * i + 3],
                            h[4 * i], h[4 * i + 1], h[4 * i + 2], h[4 * i + 3]};
        y[i] = hsum8(v);
    }
}
#define L4_ROWS(NAME, R, BYTES, IS_Q40, PFG, TAIL)                                                            \
    __attribute__((target(Z_TARGET), always_inline)) static inline void NAME##_core(                                 \
        const uint8_t *row, size_t rb, const int8_t *q, const float *dx, int nb, float *y)                          \
    {                                                                                                                \
        enum { G = R / 4 };                                                                                          \
        __m512 lo[G], hi[G];                                                                                         \
        const __m512i m4 = _mm512_set1_epi8(0x0F), bias = _mm512_set1_epi8(IS_Q40 ? 8 : (char)0x80);                \
        const __m512i sidx = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);                       \
        for (int g = 0; g < G; g++) lo[g] = hi[g] = _mm512_setzero_ps();                                             \
        for (int b = 0; b < nb; b++) {                                                                               \
            for (int o = 0; o < R * BYTES; o += 64) /* the group PFG groups ahead, in step (see Q32_ROWS) */         \
                _mm_prefetch((const char *)(row + (size_t)PFG * R * rb) + (size_t)b * R * BYTES + o, _MM_HINT_T0);   \
            __m512i xl, xh, ol, oh;                                                                                  \
            l4_input(q, b, bias, &xl, &xh, &ol, &oh);                                                                \
            const __m128 dxv = _mm_set1_ps(dx[b]);                                                                   \
            for (int g = 0; g < G; g++) {                                                                            \
                const uint8_t *a0 = row + (size_t)(4 * g) * rb + (size_t)b * BYTES, *a1 = a0 + rb, *a2 = a1 + rb,    \
                              *a3 = a2 + rb;                                                                         \
                __m512i wl, wh;                                                                                      \
                if (IS_Q40) {                                                                                        \
                    const __m512i raw = l4_gather16(a0 + 2, a1 + 2, a2 + 2, a3 + 2);                                 \
                    wl = _mm512_and_si512(raw, m4);                                                                  \
                    wh = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);                                            \
                } else {                                                                                             \
                    wl = _mm512_xor_si512(l4_gather16(a0 + 2, a1 + 2, a2 + 2, a3 + 2), bias);                        \
                    wh = _mm512_xor_si512(l4_gather16(a0 + 18, a1 + 18, a2 + 18, a3 + 18), bias);                    \
                }                                                                                                    \
                uint16_t h0, h1, h2, h3;                                                                             \
                memcpy(&h0, a0, 2), memcpy(&h1, a1, 2), memcpy(&h2, a2, 2), memcpy(&h3, a3, 2);                      \
                __m128i hv = _mm_cvtsi32_si128(h0);                                                                  \
                hv = _mm_insert_epi16(_mm_insert_epi16(_mm_insert_epi16(hv, h1, 1), h2, 2), h3, 3);                  \
                const __m512 sc =                                                                                    \
                    _mm512_permutexvar_ps(sidx, _mm512_castps128_ps512(_mm_mul_ps(_mm_cvtph_ps(hv), dxv)));          \
                lo[g] = _mm512_fmadd_ps(sc, _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(ol, wl, xl)), lo[g]);             \
                hi[g] = _mm512_fmadd_ps(sc, _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(oh, wh, xh)), hi[g]);             \
            }                                                                                                        \
        }                                                                                                            \
        for (int g = 0; g < G; g++) l4_out(lo[g], hi[g], y + 4 * g);                                                 \
    }                                                                                                                \
    __attribute__((target(Z_TARGET))) void tt_##NAME##_avx512vnni(const uint8_t *w, const int8_t *q, const float *dx, \
                                                                  int k, float *y, int r0, int r1)                  \
    {                                                                                                                \
        const int nb = k / 32;                                                                                       \
        const size_t rb = (size_t)nb * BYTES;                                                                        \
        int r = r0;                                                                                                  \
        for (; r + R <= r1; r += R) NAME##_core(w + (size_t)r * rb, rb, q, dx, nb, y + r);                           \
        if (r < r1) TAIL(w, q, dx, k, y, r, r1);                                                                     \
    }

/* four 16-byte pieces, one per 128-bit lane */
__attribute__((target(Z_TARGET), always_inline)) static inline __m512i l4_gather16(const uint8_t *a, const uint8_t *b,
                                                                                   const uint8_t *c, const uint8_t *d)
{
    __m512i z = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)a));
    z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)b), 1);
    z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)c), 2);
    return _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)d), 3);
}
/* Groups of R rows, then pairs, then a last row through the AVX2 one-row form (the same bits). */
#define Z_PUBLIC(KIND, R, BYTES)                                                                                      \
    __attribute__((target(Z_TARGET))) void tt_##KIND##_rows_r##R##_avx512vnni(                                       \
        const uint8_t *w, const int8_t *q, const float *dx, int k, float *y, int r0, int r1)                        \
    {                                                                                                                \
        const int nb = k / 32;                                                                                       \
        const size_t rb = (size_t)nb * BYTES;                                                                        \
        int r = r0;                                                                                                  \
        for (; r + R <= r1; r += R) z##KIND##_r##R##_core(w + (size_t)r * rb, rb, q, dx, nb, y + r);                \
        for (; r + 2 <= r1; r += 2) z##KIND##_r2_core(w + (size_t)r * rb, rb, q, dx, nb, y + r);                    \
        if (r < r1) tt_##KIND##_rows_r1_avx2(w, q, dx, k, y, r, r1);                                                 \
    }
Z_PUBLIC(q40, 2, TT_Q40_BYTES)
Z_PUBLIC(q40, 4, TT_Q40_BYTES)
Z_PUBLIC(q40, 8, TT_Q40_BYTES)
Z_PUBLIC(q80, 2, TT_Q80_BYTES)
Z_PUBLIC(q80, 4, TT_Q80_BYTES)
Z_PUBLIC(q80, 8, TT_Q80_BYTES)
/* R rows at a time; prefetch 1 or 3 groups ahead (one group ahead left the 8-row q4_0 member at 9.8 ms per 2B4T head,
 * three groups 8.1 ms, five 8.7, eight 8.2: one thread, cold, interleaved; none 19.2). The rows past the last group
 * go in pairs through the two-rows-per-register form, a last row through the AVX2 form. */
#define L4_EACH(X) X(4, 1) X(4, 3) X(8, 1) X(8, 3) X(16, 1) X(16, 3)
#define L4_Q40(R, P) L4_ROWS(q40_l4_r##R##_p##P, R, TT_Q40_BYTES, 1, P, tt_q40_rows_r2_avx512vnni)
#define L4_Q80(R, P) L4_ROWS(q80_l4_r##R##_p##P, R, TT_Q80_BYTES, 0, P, tt_q80_rows_r2_avx512vnni)
L4_EACH(L4_Q40)
L4_EACH(L4_Q80)

/* AVX-512 VNNI on the interleaved layout (il16, tt_q32.h): per group of 16 rows and block, the 16 scales in one
 * convert and one multiply, then per 4 rows one 64-byte load of values (q8_0: two), each row in its own 128-bit lane as
 * in the l4 members, and its scale spread over its lane by one permute. The lanes' sums, the offset inside the dpbusd
 * and the fma are the l4 members', so the bits are the portable ones. Per row and block about half the vector
 * operations of the l4 members on the rows as stored (no 16-byte inserts, no scalar scale loads and inserts): in the
 * model on the Zen 5 VM the head's compute ceiling went from 52 to 100 GB/s at two threads (docs/MEASUREMENT.md).
 * S streams: the range's whole groups cut into S parts, one group of each part in turn, C blocks at a time (the
 * accumulators wait in memory between turns), so S streams run side by side; S = 1 is one sequential stream. A group
 * only partly inside [r0, r1) is computed whole into a scratch and the rows inside copied out. */
#define IL16_CORE(NAME, BYTES, IS_Q40)                                                                                \
    __attribute__((target(Z_TARGET), always_inline)) static inline void NAME##_blocks(                               \
        const uint8_t *gw, const int8_t *q, const float *dx, int b0, int b1, __m512 *acc)                           \
    {                                                                                                                \
        enum { GB = 16 * (BYTES) }; /* one block of the group */                                                     \
        const __m512i m4 = _mm512_set1_epi8(0x0F), bias = _mm512_set1_epi8(IS_Q40 ? 8 : (char)0x80);                \
        const __m512i i0 = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);                         \
        __m512 lo[4], hi[4];                                                                                         \
        for (int j = 0; j < 4; j++) lo[j] = acc[j], hi[j] = acc[4 + j];                                              \
        for (int b = b0; b < b1; b++) {                                                                              \
            const uint8_t *bw = gw + (size_t)b * GB;                                                                 \
            __m512i xl, xh, ol, oh;                                                                                  \
            l4_input(q, b, bias, &xl, &xh, &ol, &oh);                                                                \
            const __m512 s = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)bw)),                 \
                                           _mm512_set1_ps(dx[b]));                                                  \
            for (int j = 0; j < 4; j++) {                                                                            \
                __m512i wl, wh;                                                                                      \
                if (IS_Q40) {                                                                                        \
                    const __m512i v = _mm512_loadu_si512((const void *)(bw + 32 + 64 * j));                          \
                    wl = _mm512_and_si512(v, m4);                                                                    \
                    wh = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);                                              \
                } else {                                                                                             \
                    wl = _mm512_xor_si512(_mm512_loadu_si512((const void *)(bw + 32 + 128 * j)), bias);              \
                    wh = _mm512_xor_si512(_mm512_loadu_si512((const void *)(bw + 96 + 128 * j)), bias);              \
                }                                                                                                    \
                const __m512 sc = _mm512_permutexvar_ps(_mm512_add_epi32(i0, _mm512_set1_epi32(4 * j)), s);          \
                lo[j] = _mm512_fmadd_ps(sc, _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(ol, wl, xl)), lo[j]);             \
                hi[j] = _mm512_fmadd_ps(sc, _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(oh, wh, xh)), hi[j]);             \
            }                                                                                                        \
        }                                                                                                            \
        for (int j = 0; j < 4; j++) acc[j] = lo[j], acc[4 + j] = hi[j];                                              \
    }                                                                                                                \
    /* the group's 16 rows: each row's eight lanes (four in acc[j], four in acc[4 + j]) summed in hsum8's order */   \
    __attribute__((target(Z_TARGET), always_inline)) static inline void NAME##_out(const __m512 *acc, float *y)      \
    {                                                                                                                \
        for (int j = 0; j < 4; j++) l4_out(acc[j], acc[4 + j], y + 4 * j);                                          \
    }                                                                                                                \
    /* rows [r0, r1) of group g (partly inside): the whole group into a scratch, the rows inside copied out */        \
    __attribute__((target(Z_TARGET))) static void NAME##_part(const uint8_t *w, const int8_t *q, const float *dx,  \
                                                              int nb, int g, float *y, int r0, int r1)              \
    {                                                                                                                \
        __m512 acc[8];                                                                                               \
        float t[16];                                                                                                 \
        for (int j = 0; j < 8; j++) acc[j] = _mm512_setzero_ps();                                                    \
        NAME##_blocks(w + (size_t)g * nb * 16 * (BYTES), q, dx, 0, nb, acc);                                         \
        NAME##_out(acc, t);                                                                                          \
        for (int i = 0; i < 16; i++)                                                                                 \
            if (16 * g + i >= r0 && 16 * g + i < r1) y[16 * g + i] = t[i];                                           \
    }
#define IL16_RUN(NAME, S, C, SUFFIX, BYTES)                                                                           \
    __attribute__((target(Z_TARGET))) void tt_##NAME##_##SUFFIX##_avx512vnni(                                        \
        const uint8_t *w, const int8_t *q, const float *dx, int k, float *y, int r0, int r1)                        \
    {                                                                                                                \
        if (r0 >= r1) return;                                                                                        \
        const int nb = k / 32;                                                                                       \
        const size_t gb = (size_t)nb * 16 * (BYTES); /* one group of 16 rows */                                      \
        int ga = (r0 + 15) / 16, ge = r1 / 16;        /* the whole groups inside [r0, r1) */                          \
        if (ga > ge) { /* inside one group */                                                                        \
            NAME##_part(w, q, dx, nb, r0 / 16, y, r0, r1);                                                           \
            return;                                                                                                  \
        }                                                                                                            \
        if (r0 % 16) NAME##_part(w, q, dx, nb, r0 / 16, y, r0, r1);                                                  \
        if (r1 % 16) NAME##_part(w, q, dx, nb, ge, y, r0, r1);                                                       \
        const int part = (ge - ga) / (S);                                                                            \
        __m512 acc[S][8];                                                                                            \
        for (int gi = 0; gi < part; gi++) {                                                                          \
            for (int t = 0; t < (S); t++)                                                                            \
                for (int j = 0; j < 8; j++) acc[t][j] = _mm512_setzero_ps();                                         \
            for (int c0 = 0; c0 < nb; c0 += (C)) {                                                                   \
                const int c1 = nb - c0 < (C) ? nb : c0 + (C);                                                        \
                for (int t = 0; t < (S); t++)                                                                        \
                    NAME##_blocks(w + (size_t)(ga + t * part + gi) * gb, q, dx, c0, c1, acc[t]);                     \
            }                                                                                                        \
            for (int t = 0; t < (S); t++) NAME##_out(acc[t], y + 16 * (ga + t * part + gi));                         \
        }                                                                                                            \
        for (int g = ga + (S) * part; g < ge; g++) { /* the groups past the S parts, one at a time */                \
            __m512 a1[8];                                                                                            \
            for (int j = 0; j < 8; j++) a1[j] = _mm512_setzero_ps();                                                 \
            NAME##_blocks(w + (size_t)g * gb, q, dx, 0, nb, a1);                                                     \
            NAME##_out(a1, y + 16 * g);                                                                              \
        }                                                                                                            \
    }
IL16_CORE(q40_il16, TT_Q40_BYTES, 1)
IL16_CORE(q80_il16, TT_Q80_BYTES, 0)
/* S streams, C blocks per turn (S = 1: C is the whole row) */
#define IL16_EACH(X) X(1, 1 << 30, s1) X(2, 8, s2_c8) X(4, 4, s4_c4)
#define IL16_Q40(S, C, SUFFIX) IL16_RUN(q40_il16, S, C, SUFFIX, TT_Q40_BYTES)
#define IL16_Q80(S, C, SUFFIX) IL16_RUN(q80_il16, S, C, SUFFIX, TT_Q80_BYTES)
IL16_EACH(IL16_Q40)
IL16_EACH(IL16_Q80)
#endif

void tt_q32_pack_il16(bool q40, const uint8_t *rows, int m, int k, uint8_t *dst)
{
    const int nb = k / 32, bytes = q40 ? TT_Q40_BYTES : TT_Q80_BYTES, half = (bytes - 2) / 2;
    const size_t rb = (size_t)nb * (size_t)bytes, gb = 16 * (size_t)bytes;
    const int groups = (m + 15) / 16;
    memset(dst, 0, (size_t)groups * 16 * rb); /* padding rows: scale 0 and values 0 */
    for (int r = 0; r < m; r++) {
        const int g = r / 16, i = r % 16, j = i / 4, l = i % 4; /* sub-group j of 4 rows, lane l */
        for (int b = 0; b < nb; b++) {
            const uint8_t *s = rows + (size_t)r * rb + (size_t)b * bytes;
            uint8_t *o = dst + ((size_t)g * nb + b) * gb;
            memcpy(o + 2 * i, s, 2);
            if (q40) {
                memcpy(o + 32 + 64 * j + 16 * l, s + 2, 16);
            } else {
                memcpy(o + 32 + 128 * j + 16 * l, s + 2, (size_t)half);
                memcpy(o + 96 + 128 * j + 16 * l, s + 2 + half, (size_t)half);
            }
        }
    }
}
