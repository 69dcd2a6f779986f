/* TL1 / TL2 look-up-table GEMV emitters (docs/FORMATS.md §4-§5; layouts documented in kernels/tt_layout_tl.c).
 *
 * Per token, prep builds one small table per weight group (TL1: pair, 9 entries; TL2: triple, 14 magnitudes;
 * TL1 vpermi2b: quad, 81 entries) as int16 split into a low-byte and a high-byte plane. The kernel keeps bm rows
 * in vector lanes: for every group it loads (broadcasts) that group's table, looks up the index byte of each row
 * with a byte shuffle (x86 pshufb / vpermb / vpermi2b, NEON tbl), re-joins low and high bytes into int16 lanes
 * (unpacklo/hi; zip on NEON) and adds them into int16 accumulators, which are folded into the int32 dots every
 * bk columns (the int16 budget, docs/FORMATS.md §2). The layout permutes rows inside each vector so the joined lanes
 * come out in row order. Exact on activations in [-127, 127] (the quantizer's range).
 *
 * Variants (name: tt_<tl1|tl2>_gemv_bm<N>_bk<N>_lut<N>_p<N>__<isa>[_<trick>]):
 *   bm   rows per tile (a multiple of the vector's rows: 16 scalar/NEON, 32 AVX2, 64 AVX-512); rows share every
 *        table load, so a bigger bm divides the table traffic
 *   bk   K columns per int16 block
 *   lut  0: tables built by scalar code, 1: by SIMD code (both exact)
 *   p    software prefetch distance into the tile's weight stream (bytes, 0 = none)
 *   trick base      bitnet.cpp's approach: AVX2 pshufb, bm 32, two-plane int16 tables (TL2: bk a multiple of 96,
 *                   magnitude + sign, sign applied to the looked-up value)
 *         vpermb    AVX-512 VBMI: TL1 looks up raw nibbles (no masking: the 16-entry table repeats in all four
 *                   lanes, so index bits 4-5 do not matter); TL2 reads one byte per triple (sign<<4 | magnitude)
 *                   and looks up a 32-entry signed table (entries 16..29 negated): no sign fix-up
 *         vpermi2b  AVX-512 VBMI, TL1 family: one 81-entry table per 4-weight quad (vpermi2b, 128 entries over
 *                   two registers per plane), one index byte per quad: half the lookups of pairs, same 2 bpw
 * TL2 magnitude + sign kernels negate a looked-up int16 by flipping both of its bytes (~v = -v-1, the flip commutes
 * with the byte split) and add each row's count of negative triples (stored in the layout) once at the end; so
 * one triple contributes to an int16 lane a value in [-382, 381]. */
#include "gen.h"

#include <string.h>

#define TL_K_MAX 65536 /* workspace budget: TL1 tables are 16 bytes per weight column */

static int is_trick(const gen_variant *v, const char *t) { return !strcmp(v->x.trick, t); }

/* Rows per vector, which is also the slot-permutation width of the layout. */
static int tl_vrows(tt_isa isa) { return gen_isa_vbytes(isa) ? gen_isa_vbytes(isa) : 16; }

static const char *tl_common_derive(gen_variant *v)
{
    const tt_params *p = &v->x.p;
    tt_isa isa = v->x.isa;
    if (isa != TT_ISA_SCALAR && isa != TT_ISA_AVX2 && isa != TT_ISA_AVX512BW && isa != TT_ISA_AVX512VBMI &&
        isa != TT_ISA_NEON)
        return "TL kernels exist for scalar, avx2, avx512bw, avx512vbmi and neon";
    if (p->rows || p->unroll || p->fold || p->il) return "TL rows take only bm, bk, lut and p";
    int vr = tl_vrows(isa);
    if (p->bm < vr || p->bm > 256 || p->bm % vr) return "bm must be a multiple of the vector's rows (16 scalar/NEON, 32 AVX2, 64 AVX-512), at most 256";
    if (p->lut < 0 || p->lut > 1) return "lut must be 0 (scalar table build) or 1 (SIMD table build)";
    if (isa == TT_ISA_SCALAR && p->lut) return "the scalar ISA builds its tables with scalar code: lut must be 0";
    if (p->pf < 0 || p->pf % 64 || p->pf > 4096) return "prefetch distance must be a multiple of 64 bytes, at most 4096";
    if (isa == TT_ISA_SCALAR && p->pf) return "scalar takes p0";
    if (v->x.trick[0] && !is_trick(v, "base") && !is_trick(v, "vpermb") && !is_trick(v, "vpermi2b"))
        return "unknown trick for a TL family (base, vpermb, vpermi2b)";
    if ((is_trick(v, "vpermb") || is_trick(v, "vpermi2b")) != (isa == TT_ISA_AVX512VBMI))
        return "tricks vpermb and vpermi2b are the avx512vbmi kernels, and avx512vbmi takes one of them";
    if (is_trick(v, "base") && (isa != TT_ISA_AVX2 || p->bm != 32 || p->lut || p->pf))
        return "the baseline is bitnet.cpp's approach: avx2 bm32 lut0 p0";
    v->exact = 1;
    v->act_min = -127; /* the LUT int16 budgets assume the quantizer's range (docs/FORMATS.md §2) */
    v->act_max = 127;
    v->row_align = p->bm;
    v->k_max = TL_K_MAX;
    v->has_prep = 1;
    return NULL;
}

static const char *tl1_derive(gen_variant *v)
{
    const char *why = tl_common_derive(v);
    if (why) return why;
    int bk = v->x.p.bk;
    if (bk < 4 || bk % 4) return "bk must be a positive multiple of 4 (two pairs, or one quad, per index byte)";
    if (is_trick(v, "vpermi2b")) {
        if (bk > 256) return "quad tables reach 4*127 = 508: int16 lanes take at most 64 quads, bk <= 256 (docs/FORMATS.md §2)";
    } else if (bk > 256) {
        return "TL1 int16 block overflows: bk/2 pairs * 254 must stay <= 32767, bk <= 256 (docs/FORMATS.md §2)";
    }
    v->layout = is_trick(v, "vpermi2b") ? TT_LAYOUT_TL1_QUAD : TT_LAYOUT_TL1_TILE;
    v->k_align = 4;
    return NULL;
}

static const char *tl2_derive(gen_variant *v)
{
    const char *why = tl_common_derive(v);
    if (why) return why;
    int bk = v->x.p.bk;
    if (is_trick(v, "vpermi2b")) return "vpermi2b is a TL1 (quad) kernel";
    if (is_trick(v, "vpermb")) {
        if (bk < 3 || bk % 3) return "bk must be a positive multiple of 3 (one triple per index byte)";
        if (bk > 258) return "TL2 int16 block overflows: bk/3 triples * 381 must stay <= 32767, bk <= 258 (docs/FORMATS.md §2)";
        v->layout = TT_LAYOUT_TL2_BYTE;
    } else {
        if (bk < 24 || bk % 24) return "bk must be a positive multiple of 24 (an octet of triples shares a sign byte)";
        if (bk > 255)
            return "TL2 int16 block overflows: bk/3 triples * 382 (381, or -v-1 after the byte-flip sign) must stay "
                   "<= 32767, bk <= 255 (docs/FORMATS.md §2 allows at most 258)";
        if (is_trick(v, "base") && bk % 96) return "the baseline's bk is a multiple of 96 (bitnet.cpp)";
        v->layout = TT_LAYOUT_TL2_TILE;
    }
    v->k_align = 32;
    return NULL;
}

/* ---------------------------------------------------------------------------------------------------------------
 * Preludes: table builders (scalar and SIMD), shared by the variants of one (family, ISA) file. */

static void prelude_scalar_builders(FILE *o)
{
    fprintf(o,
            "/* int16 table entry e at index i of a table split into byte planes lo and hi. */\n"
            "static inline void tl_put(uint8_t *lo, uint8_t *hi, int i, int e)\n"
            "{\n    lo[i] = (uint8_t)(e & 255);\n    hi[i] = (uint8_t)((e >> 8) & 255);\n}\n\n"
            "/* TL1 pair tables: 32 bytes per pair (lo[16], hi[16]); entry 3*w0+w1+4 = w0*q0 + w1*q1. */\n"
            "static void tl_pairs_scalar(const int8_t *q, int np, uint8_t *out)\n{\n"
            "    for (int j = 0; j < np; j++, out += 32) {\n"
            "        const int q0 = q[2 * j], q1 = q[2 * j + 1];\n"
            "        for (int i = 0; i < 16; i++) tl_put(out, out + 16, i, i < 9 ? (i / 3 - 1) * q0 + (i %% 3 - 1) * q1 : 0);\n"
            "    }\n}\n\n"
            "/* TL2 triple tables: entry m (0..13) = w.q for the triple with 9w0+3w1+w2 = m. Unsigned: 32 bytes per\n"
            " * triple (lo[16], hi[16]); signed: 64 bytes (lo[32], hi[32]) with entries 16+m = -(entry m). */\n"
            "static void tl_triples_scalar(const int8_t *q, int nt, uint8_t *out, int sign)\n{\n"
            "    const int n = sign ? 32 : 16;\n"
            "    for (int j = 0; j < nt; j++, out += 2 * n) {\n"
            "        const int q0 = q[3 * j], q1 = q[3 * j + 1], q2 = q[3 * j + 2];\n"
            "        for (int i = 0; i < n; i++) {\n"
            "            const int m = i & 15, w0 = (m + 13) / 9 - 1, rem = m - 9 * w0, w1 = (rem + 4) / 3 - 1, w2 = rem - 3 * w1;\n"
            "            const int e = m < 14 ? w0 * q0 + w1 * q1 + w2 * q2 : 0;\n"
            "            tl_put(out, out + n, i, i < 16 ? e : -e);\n"
            "        }\n"
            "    }\n}\n\n"
            "/* TL1 quad tables (vpermi2b): 256 bytes per quad (lo[128], hi[128]); entry 27a+9b+3c+d = Σ (digit-1)*q. */\n"
            "static void tl_quads_scalar(const int8_t *q, int nq, uint8_t *out)\n{\n"
            "    for (int j = 0; j < nq; j++, out += 256) {\n"
            "        const int8_t *x = q + 4 * j;\n"
            "        for (int i = 0; i < 128; i++)\n"
            "            tl_put(out, out + 128, i, i < 81 ? (i / 27 - 1) * x[0] + (i / 9 %% 3 - 1) * x[1] + (i / 3 %% 3 - 1) * x[2] + (i %% 3 - 1) * x[3] : 0);\n"
            "    }\n}\n\n");
}

/* AVX2 builders (also used by the AVX-512 files): entries as sign_epi16(q, coefficient) sums, split into byte
 * planes by one in-lane byte shuffle and a cross-lane permute. */
static void prelude_x86_builders(FILE *o)
{
    fprintf(o, "/* Quad tables: coefficient rows of the 128 entries (digit - 1 of 27a+9b+3c+d; zero past 80). */\n"
               "static const int16_t tl_quad_coef[4][128] = {\n");
    for (int d = 0, p = 27; d < 4; d++, p /= 3) {
        fprintf(o, "    {");
        for (int i = 0; i < 128; i++) fprintf(o, "%s%d", i ? (i % 32 ? ", " : ",\n     ") : "", i < 81 ? i / p % 3 - 1 : 0);
        fprintf(o, "},\n");
    }
    fprintf(o, "};\n\n");
    fprintf(o,
            "/* 16 int16 entries -> 32 bytes: lo[16] then hi[16]. */\n"
            "static inline __m256i tl_split16(__m256i e)\n{\n"
            "    const __m256i sel = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15,\n"
            "                                         0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);\n"
            "    return _mm256_permute4x64_epi64(_mm256_shuffle_epi8(e, sel), 0xd8);\n}\n\n"
            "static void tl_pairs_avx2(const int8_t *q, int np, uint8_t *out)\n{\n"
            "    const __m256i a = _mm256_setr_epi16(-1, -1, -1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0);\n"
            "    const __m256i b = _mm256_setr_epi16(-1, 0, 1, -1, 0, 1, -1, 0, 1, 0, 0, 0, 0, 0, 0, 0);\n"
            "    for (int j = 0; j < np; j++) {\n"
            "        const __m256i e = _mm256_add_epi16(_mm256_sign_epi16(_mm256_set1_epi16(q[2 * j]), a),\n"
            "                                           _mm256_sign_epi16(_mm256_set1_epi16(q[2 * j + 1]), b));\n"
            "        _mm256_storeu_si256((__m256i *)(out + 32 * (size_t)j), tl_split16(e));\n"
            "    }\n}\n\n"
            "static void tl_triples_avx2(const int8_t *q, int nt, uint8_t *out, int sign)\n{\n"
            "    const __m256i a = _mm256_setr_epi16(0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0);\n"
            "    const __m256i b = _mm256_setr_epi16(0, 0, 1, 1, 1, -1, -1, -1, 0, 0, 0, 1, 1, 1, 0, 0);\n"
            "    const __m256i c = _mm256_setr_epi16(0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, 0, 0);\n"
            "    for (int j = 0; j < nt; j++) {\n"
            "        const __m256i e = _mm256_add_epi16(_mm256_add_epi16(_mm256_sign_epi16(_mm256_set1_epi16(q[3 * j]), a),\n"
            "                                                            _mm256_sign_epi16(_mm256_set1_epi16(q[3 * j + 1]), b)),\n"
            "                                           _mm256_sign_epi16(_mm256_set1_epi16(q[3 * j + 2]), c));\n"
            "        const __m256i s = tl_split16(e);\n"
            "        if (!sign) {\n"
            "            _mm256_storeu_si256((__m256i *)(out + 32 * (size_t)j), s);\n"
            "        } else { /* lo[32] = lo(e), lo(-e); hi[32] = hi(e), hi(-e) */\n"
            "            const __m256i n = tl_split16(_mm256_sub_epi16(_mm256_setzero_si256(), e));\n"
            "            _mm256_storeu_si256((__m256i *)(out + 64 * (size_t)j), _mm256_permute2x128_si256(s, n, 0x20));\n"
            "            _mm256_storeu_si256((__m256i *)(out + 64 * (size_t)j + 32), _mm256_permute2x128_si256(s, n, 0x31));\n"
            "        }\n"
            "    }\n}\n\n"
            "static void tl_quads_avx2(const int8_t *q, int nq, uint8_t *out)\n{\n"
            "    for (int j = 0; j < nq; j++, out += 256) {\n"
            "        const __m256i x0 = _mm256_set1_epi16(q[4 * j]), x1 = _mm256_set1_epi16(q[4 * j + 1]);\n"
            "        const __m256i x2 = _mm256_set1_epi16(q[4 * j + 2]), x3 = _mm256_set1_epi16(q[4 * j + 3]);\n"
            "        for (int v = 0; v < 8; v++) {\n"
            "            const __m256i e = _mm256_add_epi16(\n"
            "                _mm256_add_epi16(_mm256_sign_epi16(x0, _mm256_loadu_si256((const __m256i *)&tl_quad_coef[0][16 * v])),\n"
            "                                 _mm256_sign_epi16(x1, _mm256_loadu_si256((const __m256i *)&tl_quad_coef[1][16 * v]))),\n"
            "                _mm256_add_epi16(_mm256_sign_epi16(x2, _mm256_loadu_si256((const __m256i *)&tl_quad_coef[2][16 * v])),\n"
            "                                 _mm256_sign_epi16(x3, _mm256_loadu_si256((const __m256i *)&tl_quad_coef[3][16 * v]))));\n"
            "            const __m256i s = tl_split16(e);\n"
            "            _mm_storeu_si128((__m128i *)(out + 16 * v), _mm256_castsi256_si128(s));\n"
            "            _mm_storeu_si128((__m128i *)(out + 128 + 16 * v), _mm256_extracti128_si256(s, 1));\n"
            "        }\n"
            "    }\n}\n\n");
}

static void prelude_neon_builders(FILE *o)
{
    fprintf(o,
            "/* Two int16x8 (16 entries) -> lo[16] at out, hi[16] at out + n. */\n"
            "static inline void tl_split16_neon(int16x8_t e0, int16x8_t e1, uint8_t *out, int n)\n{\n"
            "    const uint8x16_t a = vreinterpretq_u8_s16(e0), b = vreinterpretq_u8_s16(e1);\n"
            "    vst1q_u8(out, vuzp1q_u8(a, b));\n    vst1q_u8(out + n, vuzp2q_u8(a, b));\n}\n\n"
            "static void tl_pairs_neon(const int8_t *q, int np, uint8_t *out)\n{\n"
            "    static const int16_t a[16] = {-1, -1, -1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};\n"
            "    static const int16_t b[16] = {-1, 0, 1, -1, 0, 1, -1, 0, 1, 0, 0, 0, 0, 0, 0, 0};\n"
            "    const int16x8_t a0 = vld1q_s16(a), a1 = vld1q_s16(a + 8), b0 = vld1q_s16(b), b1 = vld1q_s16(b + 8);\n"
            "    for (int j = 0; j < np; j++, out += 32) {\n"
            "        const int16_t q0 = q[2 * j], q1 = q[2 * j + 1];\n"
            "        tl_split16_neon(vmlaq_n_s16(vmulq_n_s16(a0, q0), b0, q1), vmlaq_n_s16(vmulq_n_s16(a1, q0), b1, q1), out, 16);\n"
            "    }\n}\n\n"
            "static void tl_triples_neon(const int8_t *q, int nt, uint8_t *out, int sign)\n{\n"
            "    static const int16_t a[16] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};\n"
            "    static const int16_t b[16] = {0, 0, 1, 1, 1, -1, -1, -1, 0, 0, 0, 1, 1, 1, 0, 0};\n"
            "    static const int16_t c[16] = {0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, 0, 0};\n"
            "    const int16x8_t a0 = vld1q_s16(a), a1 = vld1q_s16(a + 8), b0 = vld1q_s16(b), b1 = vld1q_s16(b + 8);\n"
            "    const int16x8_t c0 = vld1q_s16(c), c1 = vld1q_s16(c + 8);\n"
            "    const int n = sign ? 32 : 16;\n"
            "    for (int j = 0; j < nt; j++, out += 2 * n) {\n"
            "        const int16_t q0 = q[3 * j], q1 = q[3 * j + 1], q2 = q[3 * j + 2];\n"
            "        const int16x8_t e0 = vmlaq_n_s16(vmlaq_n_s16(vmulq_n_s16(a0, q0), b0, q1), c0, q2);\n"
            "        const int16x8_t e1 = vmlaq_n_s16(vmlaq_n_s16(vmulq_n_s16(a1, q0), b1, q1), c1, q2);\n"
            "        tl_split16_neon(e0, e1, out, n);\n"
            "        if (sign) tl_split16_neon(vnegq_s16(e0), vnegq_s16(e1), out + 16, n);\n"
            "    }\n}\n\n");
}

static void tl_prelude(FILE *o, tt_isa isa)
{
    if (isa != TT_ISA_SCALAR && isa != TT_ISA_AVX2 && isa != TT_ISA_AVX512BW && isa != TT_ISA_AVX512VBMI &&
        isa != TT_ISA_NEON)
        return;
    prelude_scalar_builders(o);
    if (gen_isa_is_x86(isa)) prelude_x86_builders(o);
    if (isa == TT_ISA_NEON) prelude_neon_builders(o);
}

/* ---------------------------------------------------------------------------------------------------------------
 * prep: fill the workspace for one token. */

static void emit_prep(FILE *o, const gen_variant *v)
{
    const char *sfx = v->x.p.lut == 0 ? "scalar" : gen_isa_is_arm(v->x.isa) ? "neon" : "avx2";
    fprintf(o, "void %s_prep(const int8_t *q, int k, void *ws)\n{\n", v->name);
    fprintf(o, "    assert(q && ws && k %% %d == 0);\n", v->k_align);
    fprintf(o, "    uint8_t *out = (uint8_t *)ws;\n");
    if (v->x.fmt == TT_FMT_TL1) {
        if (is_trick(v, "vpermi2b")) fprintf(o, "    tl_quads_%s(q, k / 4, out);\n", sfx);
        else fprintf(o, "    tl_pairs_%s(q, k / 2, out);\n", sfx);
    } else {
        int sign = v->layout == TT_LAYOUT_TL2_BYTE;
        fprintf(o, "    const int k3 = (k / 96) * 96; /* triples; the rest are pairs (tt_tl2_k3) */\n");
        fprintf(o, "    tl_triples_%s(q, k3 / 3, out, %d);\n", sfx, sign);
        fprintf(o, "    tl_pairs_%s(q + k3, (k - k3) / 2, out + (size_t)(k3 / 3) * %d);\n", sfx, sign ? 64 : 32);
    }
    fprintf(o, "}\n\n");
}

/* ---------------------------------------------------------------------------------------------------------------
 * x86 kernels. */

/* the shared spelling table (gen_x86, gen/isa_x86.c) */
static void xl(FILE *o, const gen_x86 *X, const char *ind, const char *var,
               void (*spell)(FILE *, const gen_x86 *, const char *), const char *addr)
{
    fprintf(o, "%sconst %s %s = ", ind, X->V, var);
    spell(o, X, addr);
    fprintf(o, ";\n");
}

/* Fold int16 accumulators h<c>_0 (rows c*vb .. +vb/2) and h<c>_1 (the next vb/2 rows) into out[]. */
static void emit_x86_fold(FILE *o, const gen_x86 *X, int nch, const char *ind)
{
    for (int c = 0; c < nch; c++)
        for (int s = 0; s < 2; s++) {
            int base = c * X->vb + s * X->vb / 2;
            if (X->vb == 32) {
                fprintf(o, "%stl_acc8(out + %d, _mm256_castsi256_si128(h%d_%d));\n", ind, base, c, s);
                fprintf(o, "%stl_acc8(out + %d, _mm256_extracti128_si256(h%d_%d, 1));\n", ind, base + 8, c, s);
            } else {
                fprintf(o, "%stl_acc16(out + %d, _mm512_castsi512_si256(h%d_%d));\n", ind, base, c, s);
                fprintf(o, "%stl_acc16(out + %d, _mm512_extracti64x4_epi64(h%d_%d, 1));\n", ind, base + 16, c, s);
            }
        }
}

static void emit_x86_zero_h(FILE *o, const gen_x86 *X, int nch, const char *ind)
{
    for (int c = 0; c < nch; c++) fprintf(o, "%s%s h%d_0 = %s, h%d_1 = %s;\n", ind, X->V, c, X->zero, c, X->zero);
}

/* Join looked-up planes l, h of chunk c into the int16 accumulators. */
static void emit_x86_join(FILE *o, const gen_x86 *X, int c, const char *l, const char *h, const char *ind)
{
    fprintf(o, "%sh%d_0 = %s(h%d_0, %s(%s, %s));\n", ind, c, X->add16, c, X->lo, l, h);
    fprintf(o, "%sh%d_1 = %s(h%d_1, %s(%s, %s));\n", ind, c, X->add16, c, X->hi, l, h);
}

static void emit_x86_prefetch(FILE *o, const gen_variant *v, const char *ptr, const char *ind)
{
    gen_prefetch(o, ind, 0, ptr, v->x.p.pf, v->x.p.bm); /* one plane: bm bytes */
}

/* One pair-couple plane at x (bm bytes): TL1 pair tables at t (pairs 2c, 2c+1: 64 bytes). raw = vpermb: the
 * table repeats in every 16-byte lane and only index bits 0-5 count, so nibbles need no masking. */
static void emit_x86_couple(FILE *o, const gen_x86 *X, int nch, int raw, const char *x, const char *t, const char *ind)
{
    char a[96];
    const char *shuf = raw ? "_mm512_permutexvar_epi8" : X->shuf;
    for (int s = 0; s < 2; s++) {
        snprintf(a, sizeof a, "%s + %d", t, 32 * s);
        char var[16];
        snprintf(var, sizeof var, "tl%d", s);
        xl(o, X, ind, var, gen_x86_bc16, a);
        snprintf(a, sizeof a, "%s + %d", t, 32 * s + 16);
        snprintf(var, sizeof var, "th%d", s);
        xl(o, X, ind, var, gen_x86_bc16, a);
    }
    for (int c = 0; c < nch; c++) {
        char var[16];
        snprintf(var, sizeof var, "x%d", c);
        snprintf(a, sizeof a, "%s + %d", x, c * X->vb);
        xl(o, X, ind, var, gen_x86_load, a);
        for (int s = 0; s < 2; s++) {
            char idx[96];
            if (raw && s) snprintf(idx, sizeof idx, "%s(x%d, 4)", X->srli, c);
            else if (raw) snprintf(idx, sizeof idx, "x%d", c);
            else if (s) snprintf(idx, sizeof idx, "%s(%s(x%d, 4), m4)", X->and_, X->srli, c);
            else snprintf(idx, sizeof idx, "%s(x%d, m4)", X->and_, c);
            fprintf(o, "%s{\n%s    const %s i = %s;\n", ind, ind, X->V, idx);
            if (raw)
                fprintf(o, "%s    const %s l = %s(i, tl%d), h = %s(i, th%d);\n", ind, X->V, shuf, s, shuf, s);
            else
                fprintf(o, "%s    const %s l = %s(tl%d, i), h = %s(th%d, i);\n", ind, X->V, shuf, s, shuf, s);
            char ind2[32];
            snprintf(ind2, sizeof ind2, "%s    ", ind);
            emit_x86_join(o, X, c, "l", "h", ind2);
            fprintf(o, "%s}\n", ind);
        }
    }
}

/* Pair planes [c0, c1) of the tile at wt (tables at lut + 64*(c - cbase)), in int16 blocks of cb couples. */
/* The int16 block loop of every x86 TL tile: planes [0, count) in blocks of cb (each plane adds at most one table
 * entry to an int16 lane, so a block is bounded by cb entries: the comment names the bound), per plane x = its bm
 * weight bytes at wbase + plane·bm, t = its table (tabexpr); body emits the lookups; each block is folded into
 * out. s, e, i: the generated loop's variable names. */
typedef void tl_body_fn(FILE *o, const gen_x86 *X, int nch, int raw);
static void emit_x86_block_loop(FILE *o, const gen_variant *v, const gen_x86 *X, const char *s, const char *e,
                                const char *i, const char *count, int cb, const char *bound, const char *wbase,
                                const char *tabexpr, tl_body_fn *body, int raw)
{
    int nch = v->x.p.bm / X->vb;
    fprintf(o, "    for (int %s = 0; %s < %s; %s += %d) { /* int16 block: %s */\n", s, s, count, s, cb, bound);
    fprintf(o, "        const int %s = %s + %d < %s ? %s + %d : %s;\n", e, s, cb, count, s, cb, count);
    emit_x86_zero_h(o, X, nch, "        ");
    fprintf(o, "        for (int %s = %s; %s < %s; %s++) {\n", i, s, i, e, i);
    fprintf(o, "            const uint8_t *x = %s + (size_t)%s * %d;\n", wbase, i, v->x.p.bm);
    fprintf(o, "            const uint8_t *t = %s;\n", tabexpr);
    emit_x86_prefetch(o, v, "x", "            ");
    body(o, X, nch, raw);
    fprintf(o, "        }\n");
    emit_x86_fold(o, X, nch, "        ");
    fprintf(o, "    }\n");
}

static void pair_body(FILE *o, const gen_x86 *X, int nch, int raw) { emit_x86_couple(o, X, nch, raw, "x", "t", "            "); }

static void emit_x86_pair_loop(FILE *o, const gen_variant *v, const gen_x86 *X, int raw, int cb, const char *wbase,
                               const char *c1, const char *lutexpr)
{
    char bound[64];
    snprintf(bound, sizeof bound, "%d pairs, |entry| <= 254", 2 * cb);
    emit_x86_block_loop(o, v, X, "cs", "ce", "c", c1, cb, bound, wbase, lutexpr, pair_body, raw);
}

/* Per 64-byte chunk c of the plane: its indices i, the low and high table bytes l, h by `lookup` (one line of C
 * declaring l and h), joined into the int16 accumulators of chunk c. */
static void emit_x86_lut_chunks(FILE *o, const gen_x86 *X, int nch, const char *lookup)
{
    for (int c = 0; c < nch; c++) {
        fprintf(o, "            {\n                const __m512i i = _mm512_loadu_si512((const void *)(x + %d));\n", 64 * c);
        fprintf(o, "                %s\n", lookup);
        emit_x86_join(o, X, c, "l", "h", "                ");
        fprintf(o, "            }\n");
    }
}

/* TL1 quads through vpermi2b: two 128-entry tables (low and high bytes) per plane */
static void quad_body(FILE *o, const gen_x86 *X, int nch, int raw)
{
    (void)raw;
    fprintf(o, "            const __m512i l0 = _mm512_loadu_si512((const void *)t), l1 = _mm512_loadu_si512((const void *)(t + 64));\n");
    fprintf(o, "            const __m512i g0 = _mm512_loadu_si512((const void *)(t + 128)), g1 = _mm512_loadu_si512((const void *)(t + 192));\n");
    emit_x86_lut_chunks(o, X, nch,
                        "const __m512i l = _mm512_permutex2var_epi8(l0, i, l1), h = _mm512_permutex2var_epi8(g0, i, g1);");
}

/* TL2 triples through vpermb: 32-entry signed tables (low and high bytes) broadcast to every lane */
static void triple_body(FILE *o, const gen_x86 *X, int nch, int raw)
{
    (void)raw;
    fprintf(o, "            const __m512i tl = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)t));\n");
    fprintf(o, "            const __m512i th = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(t + 32)));\n");
    emit_x86_lut_chunks(o, X, nch, "const __m512i l = _mm512_permutexvar_epi8(i, tl), h = _mm512_permutexvar_epi8(i, th);");
}

static void emit_x86_tile_head(FILE *o, const gen_variant *v, const gen_x86 *X, const char *fn)
{
    fprintf(o, "/* One tile of %d rows: out[i] = Σ T*q (layout and tables: kernels/tt_layout_tl.c). */\n", v->x.p.bm);
    fprintf(o, "static void %s(const uint8_t *wt, const uint8_t *lut, int k, int32_t *out)\n{\n", fn);
    fprintf(o, "    const %s m4 = %s(0x0f);\n", X->V, X->set1_8);
    fprintf(o, "    for (int i = 0; i < %d; i++) out[i] = 0;\n", v->x.p.bm);
}

static void emit_x86_tl1_tile(FILE *o, const gen_variant *v, const gen_x86 *X, const char *fn)
{
    emit_x86_tile_head(o, v, X, fn);
    fprintf(o, "    const int nc = k / 4;\n");
    if (is_trick(v, "vpermi2b")) {
        int cb = v->x.p.bk / 4;
        char bound[64];
        snprintf(bound, sizeof bound, "%d quads, |entry| <= 508", cb);
        emit_x86_block_loop(o, v, X, "cs", "ce", "c", "nc", cb, bound, "wt", "lut + (size_t)c * 256", quad_body, 0);
    } else {
        emit_x86_pair_loop(o, v, X, is_trick(v, "vpermb"), v->x.p.bk / 4, "wt", "nc", "lut + (size_t)c * 64");
    }
    fprintf(o, "}\n\n");
}

/* TL2 magnitude + sign (TT_LAYOUT_TL2_TILE): per octet 4 magnitude planes and a sign plane. */
static void emit_x86_tl2_tile(FILE *o, const gen_variant *v, const gen_x86 *X, const char *fn)
{
    const int bm = v->x.p.bm, nch = bm / X->vb, ob = v->x.p.bk / 24, w512 = X->vb == 64;
    emit_x86_tile_head(o, v, X, fn);
    fprintf(o, "    const int k3 = (k / 96) * 96, no = k3 / 24, nc = k / 4, c3 = k3 / 4;\n");
    if (!w512) {
        fprintf(o, "    const __m256i bit0 = _mm256_set1_epi8(1), bit1 = _mm256_set1_epi8(2), bit2 = _mm256_set1_epi8(4), bit3 = _mm256_set1_epi8(8);\n");
        fprintf(o, "    const __m256i bit4 = _mm256_set1_epi8(16), bit5 = _mm256_set1_epi8(32), bit6 = _mm256_set1_epi8(64), bit7 = _mm256_set1_epi8(-128);\n");
    } else {
        fprintf(o, "    const __m512i m1 = _mm512_set1_epi8(-1);\n");
    }
    fprintf(o, "    for (int os = 0; os < no; os += %d) { /* int16 block: %d triples, each in [-382, 381] */\n", ob,
            8 * ob);
    fprintf(o, "        const int oe = os + %d < no ? os + %d : no;\n", ob, ob);
    emit_x86_zero_h(o, X, nch, "        ");
    fprintf(o, "        for (int oc = os; oc < oe; oc++) {\n");
    fprintf(o, "            const uint8_t *x = wt + (size_t)oc * %d;\n", 5 * bm);
    fprintf(o, "            const uint8_t *t = lut + (size_t)oc * 256;\n");
    emit_x86_prefetch(o, v, "x", "            ");
    char a[64], var[16];
    for (int c = 0; c < nch; c++) {
        snprintf(var, sizeof var, "sb%d", c);
        snprintf(a, sizeof a, "x + %d", 4 * bm + c * X->vb);
        xl(o, X, "            ", var, gen_x86_load, a);
    }
    for (int cc = 0; cc < 4; cc++) {
        fprintf(o, "            { /* triples %d, %d of the octet */\n", 2 * cc, 2 * cc + 1);
        const char *ind = "                ";
        for (int s = 0; s < 2; s++) {
            snprintf(a, sizeof a, "t + %d", 64 * cc + 32 * s);
            snprintf(var, sizeof var, "tl%d", s);
            xl(o, X, ind, var, gen_x86_bc16, a);
            snprintf(a, sizeof a, "t + %d", 64 * cc + 32 * s + 16);
            snprintf(var, sizeof var, "th%d", s);
            xl(o, X, ind, var, gen_x86_bc16, a);
        }
        for (int c = 0; c < nch; c++) {
            snprintf(var, sizeof var, "x%d", c);
            snprintf(a, sizeof a, "x + %d", cc * bm + c * X->vb);
            xl(o, X, ind, var, gen_x86_load, a);
            for (int s = 0; s < 2; s++) {
                int bit = 2 * cc + s;
                fprintf(o, "%s{\n", ind);
                if (s) fprintf(o, "%s    const %s i = %s(%s(x%d, 4), m4);\n", ind, X->V, X->and_, X->srli, c);
                else fprintf(o, "%s    const %s i = %s(x%d, m4);\n", ind, X->V, X->and_, c);
                if (!w512) {
                    fprintf(o, "%s    const __m256i s = _mm256_cmpeq_epi8(_mm256_and_si256(sb%d, bit%d), bit%d);\n", ind, c, bit, bit);
                    fprintf(o, "%s    const __m256i l = _mm256_xor_si256(_mm256_shuffle_epi8(tl%d, i), s);\n", ind, s);
                    fprintf(o, "%s    const __m256i h = _mm256_xor_si256(_mm256_shuffle_epi8(th%d, i), s);\n", ind, s);
                } else {
                    fprintf(o, "%s    const __mmask64 s = _mm512_test_epi8_mask(sb%d, _mm512_set1_epi8(%d));\n", ind, c,
                            bit == 7 ? -128 : 1 << bit);
                    fprintf(o, "%s    const __m512i l0 = _mm512_shuffle_epi8(tl%d, i), h0 = _mm512_shuffle_epi8(th%d, i);\n", ind, s, s);
                    fprintf(o, "%s    const __m512i l = _mm512_mask_sub_epi8(l0, s, m1, l0), h = _mm512_mask_sub_epi8(h0, s, m1, h0); /* ~x */\n", ind);
                }
                char ind2[40];
                snprintf(ind2, sizeof ind2, "%s    ", ind);
                emit_x86_join(o, X, c, "l", "h", ind2);
                fprintf(o, "%s}\n", ind);
            }
        }
        fprintf(o, "            }\n");
    }
    fprintf(o, "        }\n");
    emit_x86_fold(o, X, nch, "        ");
    fprintf(o, "    }\n");
    fprintf(o, "    /* tail columns k3..k: TL1 pair planes, pair tables after the triple tables */\n");
    fprintf(o, "    const uint8_t *tail = lut + (size_t)(k3 / 3) * 32, *wp = wt + (size_t)no * %d;\n", 5 * bm);
    emit_x86_pair_loop(o, v, X, 0, 16, "wp", "nc - c3", "tail + (size_t)c * 64");
    fprintf(o, "    /* each negative triple was added as -v-1: add the row's count back */\n");
    fprintf(o, "    const int32_t *neg = (const int32_t *)(wp + (size_t)(nc - c3) * %d);\n", bm);
    fprintf(o, "    for (int i = 0; i < %d; i++) out[i] += neg[i];\n", bm);
    fprintf(o, "}\n\n");
}

/* TL2 byte index (TT_LAYOUT_TL2_BYTE, vpermb): one plane per triple, 32-entry signed tables. */
static void emit_x86_tl2_byte_tile(FILE *o, const gen_variant *v, const gen_x86 *X, const char *fn)
{
    const int bm = v->x.p.bm, tb = v->x.p.bk / 3;
    emit_x86_tile_head(o, v, X, fn);
    fprintf(o, "    const int k3 = (k / 96) * 96, nt = k3 / 3, nc = k / 4, c3 = k3 / 4;\n");
    char bound[64];
    snprintf(bound, sizeof bound, "%d triples, |entry| <= 381", tb);
    emit_x86_block_loop(o, v, X, "ts", "te", "j", "nt", tb, bound, "wt", "lut + (size_t)j * 64", triple_body, 0);
    fprintf(o, "    const uint8_t *tail = lut + (size_t)nt * 64, *wp = wt + (size_t)nt * %d;\n", bm);
    emit_x86_pair_loop(o, v, X, 0, 16, "wp", "nc - c3", "tail + (size_t)c * 64");
    fprintf(o, "}\n\n");
}

/* ---------------------------------------------------------------------------------------------------------------
 * NEON kernels (16 rows per vector, identity slot order: zip1/zip2 join rows 0-7 and 8-15). */

static void emit_neon_fold(FILE *o, int nch, const char *ind)
{
    for (int c = 0; c < nch; c++)
        for (int s = 0; s < 2; s++) {
            int b = 16 * c + 8 * s;
            fprintf(o, "%svst1q_s32(out + %d, vaddw_s16(vld1q_s32(out + %d), vget_low_s16(h%d_%d)));\n", ind, b, b, c, s);
            fprintf(o, "%svst1q_s32(out + %d, vaddw_high_s16(vld1q_s32(out + %d), h%d_%d));\n", ind, b + 4, b + 4, c, s);
        }
}

static void emit_neon_zero_h(FILE *o, int nch, const char *ind)
{
    for (int c = 0; c < nch; c++) fprintf(o, "%sint16x8_t h%d_0 = vdupq_n_s16(0), h%d_1 = vdupq_n_s16(0);\n", ind, c, c);
}

static void emit_neon_join(FILE *o, int c, const char *ind)
{
    fprintf(o, "%sh%d_0 = vaddq_s16(h%d_0, vreinterpretq_s16_u8(vzip1q_u8(l, h)));\n", ind, c, c);
    fprintf(o, "%sh%d_1 = vaddq_s16(h%d_1, vreinterpretq_s16_u8(vzip2q_u8(l, h)));\n", ind, c, c);
}

static void emit_neon_prefetch(FILE *o, const gen_variant *v, const char *ind)
{
    gen_prefetch(o, ind, 1, "x", v->x.p.pf, v->x.p.bm);
}

static void emit_neon_pair_loop(FILE *o, const gen_variant *v, int cb, const char *wbase, const char *c1,
                                const char *lutexpr)
{
    int nch = v->x.p.bm / 16;
    fprintf(o, "    for (int cs = 0; cs < %s; cs += %d) { /* int16 block: %d pairs, |entry| <= 254 */\n", c1, cb, 2 * cb);
    fprintf(o, "        const int ce = cs + %d < %s ? cs + %d : %s;\n", cb, c1, cb, c1);
    emit_neon_zero_h(o, nch, "        ");
    fprintf(o, "        for (int c = cs; c < ce; c++) {\n");
    fprintf(o, "            const uint8_t *x = %s + (size_t)c * %d;\n", wbase, v->x.p.bm);
    fprintf(o, "            const uint8_t *t = %s;\n", lutexpr);
    emit_neon_prefetch(o, v, "            ");
    fprintf(o, "            const uint8x16_t tl0 = vld1q_u8(t), th0 = vld1q_u8(t + 16), tl1 = vld1q_u8(t + 32), th1 = vld1q_u8(t + 48);\n");
    for (int c = 0; c < nch; c++) {
        fprintf(o, "            {\n                const uint8x16_t xv = vld1q_u8(x + %d);\n", 16 * c);
        fprintf(o, "                const uint8x16_t i0 = vandq_u8(xv, m4), i1 = vshrq_n_u8(xv, 4);\n");
        for (int s = 0; s < 2; s++) {
            fprintf(o, "                {\n                    const uint8x16_t l = vqtbl1q_u8(tl%d, i%d), h = vqtbl1q_u8(th%d, i%d);\n", s, s, s, s);
            emit_neon_join(o, c, "                    ");
            fprintf(o, "                }\n");
        }
        fprintf(o, "            }\n");
    }
    fprintf(o, "        }\n");
    emit_neon_fold(o, nch, "        ");
    fprintf(o, "    }\n");
}

static void emit_neon_tile(FILE *o, const gen_variant *v, const char *fn)
{
    const int bm = v->x.p.bm, nch = bm / 16;
    fprintf(o, "/* One tile of %d rows: out[i] = Σ T*q (layout and tables: kernels/tt_layout_tl.c). */\n", bm);
    fprintf(o, "static void %s(const uint8_t *wt, const uint8_t *lut, int k, int32_t *out)\n{\n", fn);
    fprintf(o, "    const uint8x16_t m4 = vdupq_n_u8(0x0f);\n");
    fprintf(o, "    for (int i = 0; i < %d; i++) out[i] = 0;\n", bm);
    fprintf(o, "    const int nc = k / 4;\n");
    if (v->x.fmt == TT_FMT_TL1) {
        emit_neon_pair_loop(o, v, v->x.p.bk / 4, "wt", "nc", "lut + (size_t)c * 64");
        fprintf(o, "}\n\n");
        return;
    }
    const int ob = v->x.p.bk / 24;
    fprintf(o, "    const int k3 = (k / 96) * 96, no = k3 / 24, c3 = k3 / 4;\n");
    fprintf(o, "    for (int os = 0; os < no; os += %d) { /* int16 block: %d triples, each in [-382, 381] */\n", ob, 8 * ob);
    fprintf(o, "        const int oe = os + %d < no ? os + %d : no;\n", ob, ob);
    emit_neon_zero_h(o, nch, "        ");
    fprintf(o, "        for (int oc = os; oc < oe; oc++) {\n");
    fprintf(o, "            const uint8_t *x = wt + (size_t)oc * %d;\n", 5 * bm);
    fprintf(o, "            const uint8_t *t = lut + (size_t)oc * 256;\n");
    emit_neon_prefetch(o, v, "            ");
    for (int c = 0; c < nch; c++) fprintf(o, "            const uint8x16_t sb%d = vld1q_u8(x + %d);\n", c, 4 * bm + 16 * c);
    for (int cc = 0; cc < 4; cc++) {
        fprintf(o, "            { /* triples %d, %d of the octet */\n", 2 * cc, 2 * cc + 1);
        fprintf(o, "                const uint8x16_t tl0 = vld1q_u8(t + %d), th0 = vld1q_u8(t + %d), tl1 = vld1q_u8(t + %d), th1 = vld1q_u8(t + %d);\n",
                64 * cc, 64 * cc + 16, 64 * cc + 32, 64 * cc + 48);
        for (int c = 0; c < nch; c++) {
            fprintf(o, "                {\n                    const uint8x16_t xv = vld1q_u8(x + %d);\n", cc * bm + 16 * c);
            fprintf(o, "                    const uint8x16_t i0 = vandq_u8(xv, m4), i1 = vshrq_n_u8(xv, 4);\n");
            for (int s = 0; s < 2; s++) {
                fprintf(o, "                    {\n                        const uint8x16_t s = vtstq_u8(sb%d, vdupq_n_u8(%d));\n", c, 1 << (2 * cc + s));
                fprintf(o, "                        const uint8x16_t l = veorq_u8(vqtbl1q_u8(tl%d, i%d), s), h = veorq_u8(vqtbl1q_u8(th%d, i%d), s);\n", s, s, s, s);
                emit_neon_join(o, c, "                        ");
                fprintf(o, "                    }\n");
            }
            fprintf(o, "                }\n");
        }
        fprintf(o, "            }\n");
    }
    fprintf(o, "        }\n");
    emit_neon_fold(o, nch, "        ");
    fprintf(o, "    }\n");
    fprintf(o, "    const uint8_t *tail = lut + (size_t)(k3 / 3) * 32, *wp = wt + (size_t)no * %d;\n", 5 * bm);
    emit_neon_pair_loop(o, v, 16, "wp", "nc - c3", "tail + (size_t)c * 64");
    fprintf(o, "    const int32_t *neg = (const int32_t *)(wp + (size_t)(nc - c3) * %d);\n", bm);
    fprintf(o, "    for (int i = 0; i < %d; i++) out[i] += neg[i];\n", bm);
    fprintf(o, "}\n\n");
}

/* ---------------------------------------------------------------------------------------------------------------
 * Portable scalar kernels: the same layouts (16-row identity slots) and int16 blocks, one row at a time. */

static void emit_scalar_tile(FILE *o, const gen_variant *v, const char *fn)
{
    const int bm = v->x.p.bm;
    fprintf(o, "static void %s(const uint8_t *wt, const uint8_t *lut, int k, int32_t *out)\n{\n", fn);
    fprintf(o, "    int16_t h[%d];\n", bm);
    fprintf(o, "    for (int i = 0; i < %d; i++) out[i] = 0;\n", bm);
    fprintf(o, "    const int nc = k / 4;\n");
    const char *pairs = "        for (int c = cs; c < ce; c++) {\n"
                        "            const uint8_t *x = %s + (size_t)c * %d, *t = %s;\n"
                        "            for (int i = 0; i < %d; i++) {\n"
                        "                const int a = x[i] & 15, b = x[i] >> 4;\n"
                        "                h[i] = (int16_t)(h[i] + (int16_t)(t[a] | t[16 + a] << 8) + (int16_t)(t[32 + b] | t[48 + b] << 8));\n"
                        "            }\n        }\n";
    const char *fold = "        for (int i = 0; i < %d; i++) out[i] += h[i];\n    }\n";
    if (v->x.fmt == TT_FMT_TL1) {
        int cb = v->x.p.bk / 4;
        fprintf(o, "    for (int cs = 0; cs < nc; cs += %d) {\n        const int ce = cs + %d < nc ? cs + %d : nc;\n", cb, cb, cb);
        fprintf(o, "        for (int i = 0; i < %d; i++) h[i] = 0;\n", bm);
        fprintf(o, pairs, "wt", bm, "lut + (size_t)c * 64", bm);
        fprintf(o, fold, bm);
        fprintf(o, "}\n\n");
        return;
    }
    int ob = v->x.p.bk / 24;
    fprintf(o, "    const int k3 = (k / 96) * 96, no = k3 / 24, c3 = k3 / 4;\n");
    fprintf(o, "    for (int os = 0; os < no; os += %d) {\n        const int oe = os + %d < no ? os + %d : no;\n", ob, ob, ob);
    fprintf(o, "        for (int i = 0; i < %d; i++) h[i] = 0;\n", bm);
    fprintf(o, "        for (int oc = os; oc < oe; oc++) {\n");
    fprintf(o, "            const uint8_t *x = wt + (size_t)oc * %d, *t = lut + (size_t)oc * 256;\n", 5 * bm);
    fprintf(o, "            for (int j = 0; j < 8; j++) {\n");
    fprintf(o, "                const uint8_t *tj = t + 32 * j, *xj = x + (j / 2) * %d;\n", bm);
    fprintf(o, "                for (int i = 0; i < %d; i++) {\n", bm);
    fprintf(o, "                    const int a = (xj[i] >> (4 * (j & 1))) & 15, s = (x[%d + i] >> j) & 1 ? 0xff : 0;\n", 4 * bm);
    fprintf(o, "                    h[i] = (int16_t)(h[i] + (int16_t)((tj[a] ^ s) | (tj[16 + a] ^ s) << 8)); /* -v-1 when negative */\n");
    fprintf(o, "                }\n            }\n        }\n");
    fprintf(o, fold, bm);
    fprintf(o, "    const uint8_t *tail = lut + (size_t)(k3 / 3) * 32, *wp = wt + (size_t)no * %d;\n", 5 * bm);
    fprintf(o, "    for (int cs = 0; cs < nc - c3; cs += 16) {\n        const int ce = cs + 16 < nc - c3 ? cs + 16 : nc - c3;\n");
    fprintf(o, "        for (int i = 0; i < %d; i++) h[i] = 0;\n", bm);
    fprintf(o, pairs, "wp", bm, "tail + (size_t)c * 64", bm);
    fprintf(o, fold, bm);
    fprintf(o, "    const int32_t *neg = (const int32_t *)(wp + (size_t)(nc - c3) * %d);\n", bm);
    fprintf(o, "    for (int i = 0; i < %d; i++) out[i] += neg[i];\n", bm);
    fprintf(o, "}\n\n");
}

/* ---------------------------------------------------------------------------------------------------------------
 * Entry point: the row loop over tiles (a partial last tile goes through a temporary). */

static void tl_emit(FILE *o, const gen_variant *v)
{
    const int bm = v->x.p.bm;
    char fn[200];
    snprintf(fn, sizeof fn, "%s_tile", v->name);
    if (v->x.isa == TT_ISA_SCALAR) emit_scalar_tile(o, v, fn);
    else if (v->x.isa == TT_ISA_NEON) emit_neon_tile(o, v, fn);
    else {
        const gen_x86 *X = gen_x86_ops(v->x.isa);
        if (v->x.fmt == TT_FMT_TL1) emit_x86_tl1_tile(o, v, X, fn);
        else if (v->layout == TT_LAYOUT_TL2_BYTE) emit_x86_tl2_byte_tile(o, v, X, fn);
        else emit_x86_tl2_tile(o, v, X, fn);
    }
    emit_prep(o, v);
    fprintf(o, "void %s(const tt_gemv_args *a, int32_t *dot, int r0, int r1)\n{\n", v->name);
    fprintf(o, "    assert(a && a->w && a->ws && dot && a->k %% %d == 0 && a->k <= %d);\n", v->k_align, v->k_max);
    fprintf(o, "    assert(0 <= r0 && r0 <= r1 && r1 <= a->m && r0 %% %d == 0 && (r1 %% %d == 0 || r1 == a->m));\n", bm, bm);
    if (v->layout == TT_LAYOUT_TL2_TILE) fprintf(o, "    assert(((uintptr_t)a->w & 3) == 0); /* int32 counts in the tiles */\n");
    fprintf(o, "    const int k = a->k;\n");
    if (v->x.fmt == TT_FMT_TL1) fprintf(o, "    const size_t tb = (size_t)%d * (k / 4);\n", bm);
    else if (v->layout == TT_LAYOUT_TL2_TILE)
        fprintf(o, "    const int k3 = (k / 96) * 96;\n    const size_t tb = (size_t)%d * (5 * (k3 / 24) + (k - k3) / 4 + 4);\n", bm);
    else fprintf(o, "    const int k3 = (k / 96) * 96;\n    const size_t tb = (size_t)%d * (k3 / 3 + (k - k3) / 4);\n", bm);
    fprintf(o, "    const uint8_t *lut = (const uint8_t *)a->ws;\n");
    fprintf(o, "    for (int r = r0; r < r1; r += %d) {\n", bm);
    fprintf(o, "        const uint8_t *wt = a->w + (size_t)(r / %d) * tb;\n", bm);
    fprintf(o, "        if (r + %d <= r1) {\n            %s(wt, lut, k, dot + r);\n", bm, fn);
    fprintf(o, "        } else {\n            int32_t tmp[%d];\n            %s(wt, lut, k, tmp);\n", bm, fn);
    fprintf(o, "            for (int i = 0; i < r1 - r; i++) dot[r + i] = tmp[i];\n        }\n    }\n}\n");
}

/* File-level helpers: table builders and, for x86, the int16 -> int32 fold into memory. */
static void tl_file_prelude(FILE *o, tt_isa isa)
{
    tl_prelude(o, isa);
    if (isa == TT_ISA_AVX2 || isa == TT_ISA_AVX512BW || isa == TT_ISA_AVX512VBMI)
        fprintf(o, "/* out[0..8) += the 8 int16 lanes of h, widened. */\n"
                   "static inline void tl_acc8(int32_t *out, __m128i h)\n{\n"
                   "    _mm256_storeu_si256((__m256i *)out, _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)out), _mm256_cvtepi16_epi32(h)));\n}\n\n");
    if (isa == TT_ISA_AVX512BW || isa == TT_ISA_AVX512VBMI)
        fprintf(o, "/* out[0..16) += the 16 int16 lanes of h, widened. */\n"
                   "static inline void tl_acc16(int32_t *out, __m256i h)\n{\n"
                   "    _mm512_storeu_si512((void *)out, _mm512_add_epi32(_mm512_loadu_si512((const void *)out), _mm512_cvtepi16_epi32(h)));\n}\n\n");
}

const gen_family gen_family_tl1 = {TT_FMT_TL1, TT_OP_GEMV, tl1_derive, tl_emit, tl_file_prelude};
const gen_family gen_family_tl2 = {TT_FMT_TL2, TT_OP_GEMV, tl2_derive, tl_emit, tl_file_prelude};
