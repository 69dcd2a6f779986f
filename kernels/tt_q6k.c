/* tt_q6k.c — Q6_K blocks and Q8_K activations (tt_q6k.h: the layout and the rules, with their sources). */
#include "tt_q6k.h"
#include "tt_half.h"

#include <math.h>
#include <string.h>

/* Position of code i of a half-block (0..127) in ql/qh and the shift of its bits: see tt_q6k.h. */
void tt_q6k_codes(const uint8_t *block, uint8_t codes[256])
{
    const uint8_t *ql = block, *qh = block + 128;
    for (int h = 0; h < 2; h++, ql += 64, qh += 32, codes += 128)
        for (int l = 0; l < 32; l++) {
            codes[l] = (uint8_t)((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4);
            codes[l + 32] = (uint8_t)((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4);
            codes[l + 64] = (uint8_t)((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4);
            codes[l + 96] = (uint8_t)((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4);
        }
}

/* Sub-block scale of value i (0..255) of a block: in half h = i / 128, value l + 32g (l < 32, g < 4) takes
 * scales[8h + l/16 + 2g] (tt_q6k.h), which is i / 16: the scales follow the values in runs of 16. */
static int scale_index(int i) { return i / 16; }

void tt_q6k_pack(const uint8_t codes[256], const int8_t scales[16], uint16_t d_f16, uint8_t *block)
{
    uint8_t *ql = block, *qh = block + 128;
    memset(block, 0, TT_Q6K_BYTES);
    for (int h = 0; h < 2; h++, ql += 64, qh += 32, codes += 128)
        for (int l = 0; l < 32; l++) {
            ql[l] |= (uint8_t)((codes[l] & 0xF) | (codes[l + 64] & 0xF) << 4);
            ql[l + 32] |= (uint8_t)((codes[l + 32] & 0xF) | (codes[l + 96] & 0xF) << 4);
            qh[l] = (uint8_t)((codes[l] >> 4) | (codes[l + 32] >> 4) << 2 | (codes[l + 64] >> 4) << 4 |
                              (codes[l + 96] >> 4) << 6);
        }
    memcpy(block + 192, scales, 16);
    block[208] = (uint8_t)(d_f16 & 0xFF);
    block[209] = (uint8_t)(d_f16 >> 8);
}

void tt_q6k_dequant(const uint8_t *blocks, int n, float *y)
{
    uint8_t codes[256];
    for (int b = 0; b < n / TT_Q6K_BLOCK; b++, blocks += TT_Q6K_BYTES, y += TT_Q6K_BLOCK) {
        const int8_t *sc = (const int8_t *)(blocks + 192);
        float d = tt_half_to_float((uint16_t)(blocks[208] | blocks[209] << 8));
        tt_q6k_codes(blocks, codes);
        for (int i = 0; i < 256; i++) y[i] = d * (float)sc[scale_index(i)] * (float)((int)codes[i] - 32);
    }
}

void tt_q6k_quantize(const float *x, int n, uint8_t *blocks)
{
    for (int b = 0; b < n / TT_Q6K_BLOCK; b++, x += TT_Q6K_BLOCK, blocks += TT_Q6K_BYTES) {
        float sub[16] = {0}, smax = 0.0f;
        for (int i = 0; i < 256; i++) sub[scale_index(i)] = fmaxf(sub[scale_index(i)], fabsf(x[i]));
        for (int s = 0; s < 16; s++) smax = fmaxf(smax, sub[s] / 31.0f); /* the step each run would need */
        float d = smax / 127.0f;
        uint16_t dh = tt_float_to_half(d);
        d = tt_half_to_float(dh);
        int8_t scales[16];
        uint8_t codes[256];
        for (int s = 0; s < 16; s++) {
            long v = d > 0 ? lrintf(sub[s] / 31.0f / d) : 0;
            scales[s] = (int8_t)(v < 1 ? (sub[s] > 0 ? 1 : 0) : v > 127 ? 127 : v);
        }
        for (int i = 0; i < 256; i++) {
            float step = d * (float)scales[scale_index(i)];
            long q = step > 0 ? lrintf(x[i] / step) : 0;
            codes[i] = (uint8_t)((q < -32 ? -32 : q > 31 ? 31 : q) + 32);
        }
        tt_q6k_pack(codes, scales, dh, blocks);
    }
}

void tt_q8k_quantize(const float *x, int n, int8_t *q, float *d, int32_t *bsum)
{
    for (int b = 0; b < n / TT_Q6K_BLOCK; b++, x += TT_Q6K_BLOCK, q += TT_Q6K_BLOCK) {
        float max = 0.0f, amax = 0.0f;
        for (int i = 0; i < 256; i++)
            if (fabsf(x[i]) > amax) amax = fabsf(x[i]), max = x[i];
        if (amax == 0.0f) {
            d[b] = 0.0f;
            memset(q, 0, TT_Q6K_BLOCK);
            memset(bsum + 16 * b, 0, 16 * sizeof *bsum);
            continue;
        }
        float iscale = -127.0f / max;
        for (int i = 0; i < 256; i++) {
            float v = nearbyintf(iscale * x[i]); /* round half to even, as ggml's nearest_int */
            q[i] = (int8_t)(v > 127.0f ? 127 : (int)v);
        }
        d[b] = 1.0f / iscale;
        for (int r = 0; r < 16; r++) {
            bsum[16 * b + r] = 0;
            for (int i = 0; i < 16; i++) bsum[16 * b + r] += q[16 * r + i];
        }
    }
}

/* Per block: Σ over the 16 runs of scale · Σ q6 · q8, each run read in the storage order (four code streams per
 * half-block, tt_q6k.h), integer and exact; the compiler vectorises the 16-value runs. */
float tt_q6k_dot_q8k(const uint8_t *blocks, const int8_t *q, const float *d, const int32_t *bsum, int n)
{
    float acc = 0.0f;
    for (int b = 0; b < n / TT_Q6K_BLOCK; b++, blocks += TT_Q6K_BYTES, q += TT_Q6K_BLOCK) {
        const int8_t *scales = (const int8_t *)(blocks + 192);
        int32_t isum = 0;
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = blocks + 64 * h, *qh = blocks + 128 + 32 * h;
            const int8_t *qq = q + 128 * h, *sc = scales + 8 * h;
            for (int r = 0; r < 2; r++) {
                int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (int l = 16 * r; l < 16 * r + 16; l++) {
                    s0 += ((ql[l] & 0xF) | (qh[l] & 3) << 4) * qq[l];
                    s1 += ((ql[l + 32] & 0xF) | (qh[l] >> 2 & 3) << 4) * qq[l + 32];
                    s2 += ((ql[l] >> 4) | (qh[l] >> 4 & 3) << 4) * qq[l + 64];
                    s3 += ((ql[l + 32] >> 4) | (qh[l] >> 6) << 4) * qq[l + 96];
                }
                /* the codes are q6 + 32: subtract 32 · Σ q8 of the run (bsum, by run of 16 in value order) */
                const int32_t *z = bsum + 16 * b + 8 * h + r;
                isum += sc[r] * (s0 - 32 * z[0]) + sc[r + 2] * (s1 - 32 * z[2]) + sc[r + 4] * (s2 - 32 * z[4]) +
                        sc[r + 6] * (s3 - 32 * z[6]);
            }
        }
        float dw = tt_half_to_float((uint16_t)(blocks[208] | blocks[209] << 8));
        acc += (dw * d[b]) * (float)isum;
    }
    return acc;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* The byte shuffles of the broadcast int16 scales sc[8h .. 8h+7]: group g takes scale 2g in its low 128 bits and
 * 2g + 1 in its high 128 bits (bytes 4g, 4g+1 | 4g+2, 4g+3); constants, built once per call. */
typedef struct q6k_256 {
    __m256i m4, m3, pick[4];
} q6k_256;

__attribute__((target("avx2,f16c"), always_inline)) static inline q6k_256 q6k_256_consts(void)
{
    q6k_256 c;
    c.m4 = _mm256_set1_epi8(0x0F), c.m3 = _mm256_set1_epi8(0x30);
#define PICK(g) _mm256_setr_epi8(4 * g, 4 * g + 1, 4 * g, 4 * g + 1, 4 * g, 4 * g + 1, 4 * g, 4 * g + 1, 4 * g, 4 * g + 1, \
                                 4 * g, 4 * g + 1, 4 * g, 4 * g + 1, 4 * g, 4 * g + 1, 4 * g + 2, 4 * g + 3, 4 * g + 2, \
                                 4 * g + 3, 4 * g + 2, 4 * g + 3, 4 * g + 2, 4 * g + 3, 4 * g + 2, 4 * g + 3, 4 * g + 2, \
                                 4 * g + 3, 4 * g + 2, 4 * g + 3, 4 * g + 2, 4 * g + 3)
    c.pick[0] = PICK(0), c.pick[1] = PICK(1), c.pick[2] = PICK(2), c.pick[3] = PICK(3);
#undef PICK
    return c;
}

/* One block's integer Σ_j scale_j Σ q6 · q8 (the portable loop's isum exactly): per half-block the four 32-code
 * streams rebuilt from ql/qh with shifts and masks, maddubs (codes 0..63 unsigned × q8 signed: pairs ≤ 2·63·127, no
 * saturation), then madd by the run's scale (lanes 0-7: the first run of 16, 8-15: the second) into int32; 32 ·
 * Σ scale · bsum (bsum: the block's 16 run sums) comes off once. */
__attribute__((target("avx2,f16c"), always_inline)) static inline int32_t q6k_block_256(const q6k_256 *c,
                                                                                     const uint8_t *blk,
                                                                                     const int8_t *q,
                                                                                     const int32_t *bsum)
{
    const int8_t *scales = (const int8_t *)(blk + 192);
    __m256i sum = _mm256_setzero_si256();
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = blk + 64 * h, *qh = blk + 128 + 32 * h;
        const int8_t *qq = q + 128 * h;
        __m256i s16 = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(scales + 8 * h))));
        __m256i l0 = _mm256_loadu_si256((const __m256i *)ql), l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
        __m256i hi = _mm256_loadu_si256((const __m256i *)qh);
        __m256i cd[4];
        cd[0] = _mm256_or_si256(_mm256_and_si256(l0, c->m4), _mm256_and_si256(_mm256_slli_epi16(hi, 4), c->m3));
        cd[1] = _mm256_or_si256(_mm256_and_si256(l1, c->m4), _mm256_and_si256(_mm256_slli_epi16(hi, 2), c->m3));
        cd[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), c->m4), _mm256_and_si256(hi, c->m3));
        cd[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), c->m4),
                                _mm256_and_si256(_mm256_srli_epi16(hi, 2), c->m3));
        for (int g = 0; g < 4; g++) {
            __m256i p = _mm256_maddubs_epi16(cd[g], _mm256_loadu_si256((const __m256i *)(qq + 32 * g)));
            sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p, _mm256_shuffle_epi8(s16, c->pick[g])));
        }
    }
    /* - 32 · Σ_r scale_r · bsum_r (the codes are q6 + 32), as 32-bit products */
    __m256i corr = _mm256_add_epi32(
        _mm256_mullo_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)scales)),
                           _mm256_loadu_si256((const __m256i *)bsum)),
        _mm256_mullo_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(scales + 8))),
                           _mm256_loadu_si256((const __m256i *)(bsum + 8))));
    sum = _mm256_sub_epi32(sum, _mm256_slli_epi32(corr, 5));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* The same sums with AVX2, one row. The integer per block is the portable one exactly, and the float accumulation
 * is the same, so the logits are the portable loop's bits. The f16 block scale goes through F16C:
 * tt_half_to_float_vec's branch-free trick multiplies a float subnormal for f16 subnormal scales (common in q6_K
 * heads: d ~ 1e-5), which costs a microcode assist per block and made the in-model head 2x slower. */
__attribute__((target("avx2,f16c"))) float tt_q6k_dot_q8k_avx2(const uint8_t *blocks, const int8_t *q, const float *d,
                                                      const int32_t *bsum, int n)
{
    const q6k_256 c = q6k_256_consts();
    float acc = 0.0f;
    for (int b = 0; b < n / TT_Q6K_BLOCK; b++, blocks += TT_Q6K_BYTES, q += TT_Q6K_BLOCK) {
        const int32_t isum = q6k_block_256(&c, blocks, q, bsum + 16 * b);
        float dw = _cvtsh_ss((unsigned short)(blocks[208] | blocks[209] << 8)); /* F16C: exact, subnormals too */
        acc += (dw * d[b]) * (float)isum;
    }
    return acc;
}

/* AVX2, R rows at a time, each row's sum in its own chain (block order, the same float steps: the portable bits);
 * R rows give the out-of-order core independent chains where one row's blocks form one. part > 0 (the _s members):
 * the R rows of a step are part rows apart, R independent streams (the f16 head's streams read ~1.5x one row
 * here, docs/MEASUREMENT.md), each prefetching the row P ahead of itself (P = 0: none). */
__attribute__((target("avx2,f16c"), always_inline)) static inline void
q6k_rows_256(const uint8_t *w, const int8_t *q, const float *d, const int32_t *bsum, int k, float *y, int r0, int r1,
             const int R, const int P, const int part)
{
    const q6k_256 c = q6k_256_consts();
    const int nb = k / TT_Q6K_BLOCK;
    const size_t rb = (size_t)nb * TT_Q6K_BYTES;
    const size_t gap = part ? (size_t)part : 1, ahead = part ? (size_t)P * rb : (size_t)P * R * rb;
    for (int r = r0; part ? r < r0 + part : r + R <= r1; r += part ? 1 : R) {
        const uint8_t *row = w + (size_t)r * rb;
        float acc[8];
        for (int i = 0; i < R; i++) acc[i] = 0.0f;
        for (int b = 0; b < nb; b++)
            for (int i = 0; i < R; i++) {
                const uint8_t *blk = row + (size_t)i * gap * rb + (size_t)b * TT_Q6K_BYTES;
                if (P)
                    for (int o = 0; o < 256; o += 64) _mm_prefetch((const char *)(blk + ahead + o), _MM_HINT_T0);
                const int32_t isum = q6k_block_256(&c, blk, q + (size_t)TT_Q6K_BLOCK * b, bsum + 16 * b);
                const float dw = _cvtsh_ss((unsigned short)(blk[208] | blk[209] << 8));
                acc[i] += (dw * d[b]) * (float)isum;
            }
        for (int i = 0; i < R; i++) y[r + (size_t)i * gap] = acc[i];
    }
}

/* The public rows members of one ISA's core (q6k_rows_256, q6k_rows_512): tt_q6k_rows_r<R>_p<P>_<ISA> (groups of R
 * neighbouring rows, the rows left over one at a time) and tt_q6k_rows_s<S>_p<P>_<ISA> (S streams). */
#define Q6_ROWS_OF(CORE, TARGET, ISA, R, P)                                                                          \
    __attribute__((target(TARGET))) void tt_q6k_rows_r##R##_p##P##_##ISA(                                           \
        const uint8_t *w, const int8_t *q, const float *d, const int32_t *bsum, int k, float *y, int r0, int r1)    \
    {                                                                                                                \
        const int full = r0 + (r1 - r0) / R * R;                                                                     \
        CORE(w, q, d, bsum, k, y, r0, full, R, P, 0);                                                                \
        CORE(w, q, d, bsum, k, y, full, r1, 1, P ? 1 : 0, 0);                                                        \
    }
#define Q6_STREAMS_OF(CORE, TARGET, ISA, S, P)                                                                       \
    __attribute__((target(TARGET))) void tt_q6k_rows_s##S##_p##P##_##ISA(                                           \
        const uint8_t *w, const int8_t *q, const float *d, const int32_t *bsum, int k, float *y, int r0, int r1)    \
    {                                                                                                                \
        const int part = (r1 - r0) / S;                                                                              \
        if (part) CORE(w, q, d, bsum, k, y, r0, r1, S, P, part);                                                     \
        CORE(w, q, d, bsum, k, y, r0 + S * part, r1, 1, P ? 1 : 0, 0);                                               \
    }
#define Q6_ROWS_256(R, P) Q6_ROWS_OF(q6k_rows_256, "avx2,f16c", avx2, R, P)
#define Q6_STREAMS_256(S, P) Q6_STREAMS_OF(q6k_rows_256, "avx2,f16c", avx2, S, P)
TT_Q6K_EACH_256(Q6_ROWS_256)
TT_Q6K_EACH_256S(Q6_STREAMS_256)
#endif

#if defined(__x86_64__) || defined(__i386__)
/* AVX-512BW: one half-block (128 values) per step in two 64-byte vectors: groups 0|1 (values 0..63) and 2|3
 * (64..127), each 128-bit lane one run of 16 values, so lane k of the scale vector is scales[8h + k] (groups 0|1)
 * or scales[8h + 4 + k] (2|3). Same integer per block as the portable loop, same float accumulation. */
__attribute__((target("avx512f,avx512bw,f16c"))) float tt_q6k_dot_q8k_avx512(const uint8_t *blocks, const int8_t *q,
                                                                    const float *d, const int32_t *bsum, int n)
{
    const __m512i m4 = _mm512_set1_epi8(0x0F), m3 = _mm512_set1_epi8(0x30);
    const __m512i lo_runs = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0,
                                             0, 0, 0, 0, 0, 0);
    const __m512i hi_runs = _mm512_add_epi16(lo_runs, _mm512_set1_epi16(4));
    float acc = 0.0f;
    for (int b = 0; b < n / TT_Q6K_BLOCK; b++, blocks += TT_Q6K_BYTES, q += TT_Q6K_BLOCK) {
        const int8_t *scales = (const int8_t *)(blocks + 192);
        __m512i sum = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = blocks + 64 * h, *qh = blocks + 128 + 32 * h;
            const int8_t *qq = q + 128 * h;
            __m512i s16 = _mm512_castsi128_si512(_mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(scales + 8 * h))));
            __m512i l = _mm512_loadu_si512((const void *)ql);
            __m256i hy = _mm256_loadu_si256((const __m256i *)qh);
            __m512i h01 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_slli_epi16(hy, 4)), _mm256_slli_epi16(hy, 2), 1);
            __m512i h23 = _mm512_inserti64x4(_mm512_castsi256_si512(hy), _mm256_srli_epi16(hy, 2), 1);
            __m512i c01 = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_and_si512(h01, m3));
            __m512i c23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4), _mm512_and_si512(h23, m3));
            __m512i p01 = _mm512_maddubs_epi16(c01, _mm512_loadu_si512((const void *)qq));
            __m512i p23 = _mm512_maddubs_epi16(c23, _mm512_loadu_si512((const void *)(qq + 64)));
            sum = _mm512_add_epi32(sum, _mm512_madd_epi16(p01, _mm512_permutexvar_epi16(lo_runs, s16)));
            sum = _mm512_add_epi32(sum, _mm512_madd_epi16(p23, _mm512_permutexvar_epi16(hi_runs, s16)));
        }
        /* - 32 · Σ_r scale_r · bsum_r (the codes are q6 + 32), as 32-bit products in one vector */
        __m512i corr = _mm512_mullo_epi32(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)scales)),
                                          _mm512_loadu_si512((const void *)(bsum + 16 * b)));
        int32_t isum = _mm512_reduce_add_epi32(_mm512_sub_epi32(sum, _mm512_slli_epi32(corr, 5)));
        float dw = _cvtsh_ss((unsigned short)(blocks[208] | blocks[209] << 8)); /* F16C: exact, subnormals too */
        acc += (dw * d[b]) * (float)isum;
    }
    return acc;
}
#endif

#if defined(__x86_64__) || defined(__i386__)
#define Q6_TARGET "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"
/* AVX-512 VNNI, R rows at a time: each half-block's codes are rebuilt with one variable shift per 2-bit field pair
 * (sllv/srlv: the two 256-bit halves of the broadcast qh take different shifts), a mask and a ternary-logic merge;
 * maddubs, then vpdpwssd by the run's scale (every 128-bit lane one run of 16 values, as above). The -32 offset comes
 * off with one more vpdpwssd per block: 32 · scale (int16) against -bsum (int16, |bsum| <= 16 · 128). Same integer
 * per block as the portable loop, same float steps per row in block order: the portable bits. The block of the row
 * P groups of R rows ahead is prefetched in step (4 lines per 210-byte block, every line of the stream once or
 * twice). part > 0 (the _s members): the R rows of a group are part rows apart, not neighbours (row r + i·part for
 * r in [r0, r0 + part)), R independent streams, each prefetching the row P ahead of itself. */
__attribute__((target(Q6_TARGET), always_inline)) static inline void
q6k_rows_512(const uint8_t *w, const int8_t *q, const float *d, const int32_t *bsum, int k, float *y, int r0, int r1,
             const int R, const int P, const int part)
{
    const int nb = k / TT_Q6K_BLOCK;
    const size_t rb = (size_t)nb * TT_Q6K_BYTES;
    const __m512i m0f = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    /* field 0 | field 1 of qh into bits 4-5 (values l | l + 32), then field 2 | field 3 (values l + 64 | l + 96) */
    const __m512i shl = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i shr = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    /* the int16 scale of each 128-bit lane's run: half h, values 0..63 take runs 8h + 0..3, values 64..127 8h + 4..7 */
    const __m512i run4 = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0,
                                          0, 0, 0, 0, 0, 0);
    const __m512i idx[4] = {run4, _mm512_add_epi16(run4, _mm512_set1_epi16(4)),
                            _mm512_add_epi16(run4, _mm512_set1_epi16(8)), _mm512_add_epi16(run4, _mm512_set1_epi16(12))};
    const size_t gap = part ? (size_t)part : 1, ahead = part ? (size_t)P * rb : (size_t)P * R * rb;
    for (int r = r0; part ? r < r0 + part : r + R <= r1; r += part ? 1 : R) {
        const uint8_t *row = w + (size_t)r * rb;
        float acc[16];
        for (int i = 0; i < R; i++) acc[i] = 0.0f;
        for (int b = 0; b < nb; b++) {
            const int8_t *qb = q + (size_t)TT_Q6K_BLOCK * b;
            const __m256i nbs = _mm256_sub_epi16(_mm256_setzero_si256(),
                                                 _mm512_cvtepi32_epi16(_mm512_loadu_si512((const void *)(bsum + 16 * b))));
            const __m512i q0 = _mm512_loadu_si512((const void *)qb), q1 = _mm512_loadu_si512((const void *)(qb + 64));
            const __m512i q2 = _mm512_loadu_si512((const void *)(qb + 128)), q3 = _mm512_loadu_si512((const void *)(qb + 192));
            for (int i = 0; i < R; i++) {
                const uint8_t *blk = row + (size_t)i * gap * rb + (size_t)b * TT_Q6K_BYTES;
                if (P)
                    for (int o = 0; o < 256; o += 64) _mm_prefetch((const char *)(blk + ahead + o), _MM_HINT_T0);
                const __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 192)));
                const __m512i s = _mm512_castsi256_si512(s16);
                __m512i sum = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_zextsi256_si512(_mm256_slli_epi16(s16, 5)),
                                                  _mm512_zextsi256_si512(nbs)); /* upper halves zero: no terms */
                for (int h = 0; h < 2; h++) {
                    const __m512i l = _mm512_loadu_si512((const void *)(blk + 64 * h));
                    const __m512i hy = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * h)));
                    const __m512i h01 = _mm512_and_si512(_mm512_sllv_epi16(hy, shl), m30);
                    const __m512i h23 = _mm512_and_si512(_mm512_srlv_epi16(hy, shr), m30);
                    const __m512i c01 = _mm512_ternarylogic_epi32(l, h01, m0f, 0xEC);                      /* (a & c) | b */
                    const __m512i c23 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(l, 4), h23, m0f, 0xEC);
                    const __m512i p01 = _mm512_maddubs_epi16(c01, h ? q2 : q0);
                    const __m512i p23 = _mm512_maddubs_epi16(c23, h ? q3 : q1);
                    sum = _mm512_dpwssd_epi32(sum, p01, _mm512_permutexvar_epi16(idx[2 * h], s));
                    sum = _mm512_dpwssd_epi32(sum, p23, _mm512_permutexvar_epi16(idx[2 * h + 1], s));
                }
                const float dw = _cvtsh_ss((unsigned short)(blk[208] | blk[209] << 8));
                acc[i] += (dw * d[b]) * (float)_mm512_reduce_add_epi32(sum);
            }
        }
        for (int i = 0; i < R; i++) y[r + (size_t)i * gap] = acc[i];
    }
}

#define Q6_ROWS(R, P) Q6_ROWS_OF(q6k_rows_512, Q6_TARGET, avx512vnni, R, P)
#define Q6_STREAMS(S, P) Q6_STREAMS_OF(q6k_rows_512, Q6_TARGET, avx512vnni, S, P)
TT_Q6K_EACH_512(Q6_ROWS)
TT_Q6K_EACH_512S(Q6_STREAMS)
#endif
