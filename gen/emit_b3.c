/* B3 emitter: GEMV kernels on base-3 bytes, five trits per byte (1.6 bits per weight; kernels/tt_format.h). A row is
 * 64-byte groups; byte j of a group holds digit i (0..4) of column 320g + 64i + j, so each digit of a vector of bytes
 * multiplies a contiguous vector of activations (no activation prep). Decoders:
 *   compare (lut = 0; every ISA): digit_i = (x_i > -43) + (x_i > 42) on signed bytes, x_{i+1} = 3·x_i (mod 256) —
 *       x86: two compares, then |c1 + c2| (AVX2) or a zero-masked move and a masked add (AVX-512, compares into masks);
 *       ARM: the trit T = -1 - c1 - c2 directly, advanced by one byte multiply.
 *   table (lut = 1; AVX-512 VBMI): digit_i = LUT_i[x], a 256-entry byte table per digit held in four zmm registers;
 *       two merge-masked vpermi2b (bit 7 of x picks the half) and no advance.
 *   carry (lut = 2; avxvnni, avx512vnni, dotprod): no digit is ever formed. With u_i = x_i ^ 0x80 (0..255),
 *       3·u_i = 256·digit_i + u_{i+1} exactly, so Σ digit_i·a = (3·Σ u_i·a - Σ u_{i+1}·a) / 256: two byte dots of the
 *       raw bytes per digit (P += u_i·a_i, Q += u_{i+1}·a_i) and the advance. The identity holds per element, so every
 *       int32 lane of 3P - Q is a multiple of 256 and is shifted down exactly, once per chunk of at most 512 groups
 *       (|3P - Q| <= 512 groups · 5 · 4 · 4·255·128 < 2^31). ARM's sdot takes the signed bytes s = u - 128 instead:
 *       3·s_i - s_{i+1} = 256·(digit_i - 1), so (3P - Q) / 256 is already Σ T·a (no Σq).
 * Products: x86 vpdpbusd (avxvnni, avx512vnni, avx512vbmi) or maddubs + madd (avx2; a pair of products is at most
 * 2·2·128 = 512, far from int16 overflow) on the digit c = T + 1, minus Σq at the end; ARM sdot (dotprod) or
 * vmull + vpadal (neon) on T; scalar C. All int32 accumulation: exact for every q in [-128, 127] up to TT_K_MAX.
 * r rows per block share each activation load; p bytes of software prefetch per row (gen_prefetch).
 * st: the block's r rows are not neighbours but a part of the range apart (rows r0 + i, r0 + i + part, ..., part =
 * (r1 - r0) / r; the rows past r parts one at a time), so a block reads r independent streams, each prefetching p
 * bytes ahead of itself. Neighbouring rows (512 bytes each at K = 2560) are one stream to the memory system; on the
 * 2-core Xeon VM r such streams read 1.2-1.3x faster than one (docs/MEASUREMENT.md). Every row is still summed by
 * the same code, so st changes no bit.
 * Names: tt_b3_gemv_r<R>_lut<0|1|2>_p<P>[_st]__<isa>. */
#include "gen.h"

#include <string.h>

static const char *b3_derive(gen_variant *v)
{
    const tt_params *p = &v->x.p;
    tt_isa isa = v->x.isa;
    if (p->rows < 1 || p->rows > 8) return "rows per block must be 1..8";
    if (p->pf < 0 || p->pf % 64) return "prefetch distance must be a multiple of 64 bytes";
    if (p->unroll || p->fold || p->il || p->bm || p->bk || p->n) return "b3 takes r, lut, p and st only";
    if (p->st && p->rows < 2) return "st needs r >= 2 (one stream per row of a block)";
    if (p->lut < 0 || p->lut > 2) return "lut must be 0 (compare decoder), 1 (vpermi2b tables) or 2 (carry identity)";
    if (p->lut == 1 && isa != TT_ISA_AVX512VBMI) return "the table decoder (lut1) needs avx512vbmi";
    if (p->lut == 2 && isa != TT_ISA_AVXVNNI && isa != TT_ISA_AVX512VNNI && isa != TT_ISA_DOTPROD)
        return "the carry decoder (lut2) needs a byte dot instruction on raw bytes: avxvnni, avx512vnni or dotprod";
    if (isa == TT_ISA_AVX512VBMI && p->lut != 1) return "skip: avx512vbmi's other decoders are avx512vnni's";
    if (isa == TT_ISA_AVX512BW || isa == TT_ISA_I8MM || isa == TT_ISA_AMX) return "no b3 kernels for this ISA";
    if (isa == TT_ISA_SCALAR && (p->rows != 1 || p->pf)) return "scalar takes r1 p0";
    if (v->x.trick[0]) return "no tricks for b3";
    v->layout = TT_LAYOUT_B3;
    v->exact = 1;
    v->act_min = -128;
    v->act_max = 127;
    v->row_align = 1;
    v->k_align = 64;
    v->k_max = TT_K_MAX;
    v->has_prep = 0;
    return NULL;
}

static void b3_prelude(FILE *o, tt_isa isa)
{
    if (isa == TT_ISA_AVX2 || isa == TT_ISA_AVXVNNI) {
        gen_x86_hsum_prelude(o);
        fprintf(o, "/* B3 digit (0..2) of each signed byte: (x > -43) + (x > 42), as |c1 + c2| of the compare masks. */\n"
                   "static inline __m256i tt_b3_digit256(__m256i x)\n{\n"
                   "    __m256i c1 = _mm256_cmpgt_epi8(x, _mm256_set1_epi8(-43)), c2 = _mm256_cmpgt_epi8(x, _mm256_set1_epi8(42));\n"
                   "    return _mm256_abs_epi8(_mm256_add_epi8(c1, c2));\n}\n\n"
                   "static inline __m256i tt_b3_x3_256(__m256i x) { return _mm256_add_epi8(x, _mm256_add_epi8(x, x)); }\n\n");
        if (isa == TT_ISA_AVX2)
            fprintf(o, "static inline __m256i tt_b3_dot256(__m256i acc, __m256i c, __m256i a)\n{\n"
                       "    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(c, a), _mm256_set1_epi16(1)));\n}\n\n");
        else
            fprintf(o, "static inline __m256i tt_b3_dot256(__m256i acc, __m256i c, __m256i a) { return _mm256_dpbusd_avx_epi32(acc, c, a); }\n\n");
    } else if (isa == TT_ISA_AVX512VNNI) {
        fprintf(o, "/* B3 digit (0..2) of each signed byte: compares into masks, then a zero-masked 1 plus a masked 1. */\n"
                   "static inline __m512i tt_b3_digit512(__m512i x)\n{\n"
                   "    const __m512i one = _mm512_set1_epi8(1);\n"
                   "    __mmask64 k1 = _mm512_cmpgt_epi8_mask(x, _mm512_set1_epi8(-43)), k2 = _mm512_cmpgt_epi8_mask(x, _mm512_set1_epi8(42));\n"
                   "    __m512i t = _mm512_maskz_mov_epi8(k1, one);\n"
                   "    return _mm512_mask_add_epi8(t, k2, t, one);\n}\n\n"
                   "static inline __m512i tt_b3_x3_512(__m512i x) { return _mm512_add_epi8(x, _mm512_add_epi8(x, x)); }\n\n");
    } else if (isa == TT_ISA_AVX512VBMI) {
        fprintf(o, "/* LUT_i[s] = digit i of byte s (tt_b3_digit), 256 entries per digit. */\n"
                   "static const uint8_t tt_b3_lut[5][256] __attribute__((aligned(64))) = {\n");
        for (int d = 0; d < 5; d++) {
            fprintf(o, "    {");
            for (int s = 0; s < 256; s++) fprintf(o, "%s%d", s ? "," : "", tt_b3_digit((uint8_t)s, d));
            fprintf(o, "},\n");
        }
        fprintf(o, "};\n\n"
                   "/* Digit by table: lanes with bit 7 set look up the upper half (t2, t3), then the others the lower (t0, t1);\n"
                   " * vpermi2b merges into its index operand, so each lookup keeps the lanes it does not own. */\n"
                   "static inline __m512i tt_b3_lut512(__m512i x, __mmask64 khi, __m512i t0, __m512i t1, __m512i t2, __m512i t3)\n{\n"
                   "    __m512i r = _mm512_mask2_permutex2var_epi8(t2, x, khi, t3);\n"
                   "    return _mm512_mask2_permutex2var_epi8(t0, r, ~khi, t1);\n}\n\n");
    } else if (isa == TT_ISA_NEON || isa == TT_ISA_DOTPROD) {
        fprintf(o, "/* B3 trit T = digit - 1 of each signed byte: -1 - (x > -43) - (x > 42) (compare masks are -1 / 0). */\n"
                   "static inline int8x16_t tt_b3_trit(int8x16_t x)\n{\n"
                   "    int8x16_t c1 = vreinterpretq_s8_u8(vcgtq_s8(x, vdupq_n_s8(-43))), c2 = vreinterpretq_s8_u8(vcgtq_s8(x, vdupq_n_s8(42)));\n"
                   "    return vsubq_s8(vsubq_s8(vdupq_n_s8(-1), c1), c2);\n}\n\n");
        if (isa == TT_ISA_DOTPROD)
            fprintf(o, "static inline int32x4_t tt_b3_dot(int32x4_t acc, int8x16_t t, int8x16_t a) { return vdotq_s32(acc, t, a); }\n\n");
        else
            fprintf(o, "static inline int32x4_t tt_b3_dot(int32x4_t acc, int8x16_t t, int8x16_t a)\n{\n"
                       "    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(t), vget_low_s8(a)));\n"
                       "    return vpadalq_s16(acc, vmull_high_s8(t, a));\n}\n\n");
    }
}

/* The unaligned load of one vector of vb bytes at ptr + off, as an expression. */
static void vload(char *b, size_t n, int arm, int vb, const char *ptr, int off)
{
    if (arm) snprintf(b, n, "vld1q_s8((const int8_t *)(%s + %d))", ptr, off);
    else if (vb == 64) snprintf(b, n, "_mm512_loadu_si512((const void *)(%s + %d))", ptr, off);
    else snprintf(b, n, "_mm256_loadu_si256((const __m256i *)(%s + %d))", ptr, off);
}

/* One group's digits (0..4) for R rows at byte offset `off` of the group (one vector of vb bytes). tail: digits past
 * the first are guarded by the run-time digit count nt.
 * The x86 carry decoder's full groups go digit-major: the R rows' digit d, then digit d + 1, each activation vector
 * loaded once, just before its digit. Row by row (every digit of row 0, then of row 1, ...) the same operations ran
 * ~8 cycles per row and group on the Zen 5 VM (vector-pipe bound: 21 operations, about 3 per cycle), digit-major
 * ~7 with 8 rows (docs/MEASUREMENT.md). The sums are the same, so no bit changes. */
static void emit_group(FILE *o, const gen_variant *v, int R, int vb, int off, int tail, const char *ind)
{
    tt_isa isa = v->x.isa;
    int arm = gen_isa_is_arm(isa), lut = v->x.p.lut;
    const char *V = arm ? "int8x16_t" : vb == 64 ? "__m512i" : "__m256i";
    const char *e = vb == 64 ? "_mm512" : "_mm256";
    const char *dot = vb == 64 ? "_mm512_dpbusd_epi32" : "_mm256_dpbusd_avx_epi32";
    const char *x3 = vb == 64 ? "tt_b3_x3_512" : "tt_b3_x3_256";
    char ld[96], wp[32];
    if (lut == 2 && !arm && !tail) { /* digit-major: every row's digit d, then digit d + 1 (the comment above) */
        for (int i = 0; i < R; i++) {
            snprintf(wp, sizeof wp, "w%d + gb", i);
            vload(ld, sizeof ld, arm, vb, wp, off);
            fprintf(o, "%s%s x%d = %s;\n", ind, V, i, ld);
            fprintf(o, "%sx%d = %s_xor_si%d(x%d, %s_set1_epi8(-128));\n", ind, i, e, vb * 8, i, e);
        }
        for (int d = 0; d < 5; d++) {
            vload(ld, sizeof ld, arm, vb, "qg", d * 64 + off);
            fprintf(o, "%s{\n%s    const %s a = %s;\n", ind, ind, V, ld);
            for (int i = 0; i < R; i++)
                fprintf(o, "%s    p%d = %s(p%d, x%d, a); x%d = %s(x%d); q%d = %s(q%d, x%d, a);\n", ind, i, dot, i, i, i, x3, i, i,
                        dot, i, i);
            fprintf(o, "%s}\n", ind);
        }
        return;
    }
    for (int d = 0; d < 5; d++) {
        vload(ld, sizeof ld, arm, vb, "qg", d * 64 + off);
        if (tail && d) fprintf(o, "%s%s a%d = nt > %d ? %s : a0;\n", ind, V, d, d, ld);
        else fprintf(o, "%sconst %s a%d = %s;\n", ind, V, d, ld);
    }
    for (int i = 0; i < R; i++) {
        fprintf(o, "%s{\n", ind);
        snprintf(wp, sizeof wp, "w%d + gb", i);
        vload(ld, sizeof ld, arm, vb, wp, off);
        fprintf(o, "%s    %s x = %s;\n", ind, V, ld);
        if (lut == 1) fprintf(o, "%s    const __mmask64 khi = _mm512_movepi8_mask(x);\n", ind);
        if (lut == 2 && !arm) fprintf(o, "%s    x = %s_xor_si%d(x, %s_set1_epi8(-128));\n", ind, e, vb * 8, e);
        for (int d = 0; d < 5; d++) {
            char step[400];
            if (lut == 2 && arm)
                snprintf(step, sizeof step, "p%d = vdotq_s32(p%d, x, a%d); x = vmulq_s8(x, three); q%d = vdotq_s32(q%d, x, a%d);",
                         i, i, d, i, i, d);
            else if (lut == 2)
                snprintf(step, sizeof step, "p%d = %s(p%d, x, a%d); x = %s(x); q%d = %s(q%d, x, a%d);", i, dot, i, d, x3, i,
                         dot, i, d);
            else if (lut)
                snprintf(step, sizeof step, "acc%d = _mm512_dpbusd_epi32(acc%d, tt_b3_lut512(x, khi, L%d_0, L%d_1, L%d_2, L%d_3), a%d);",
                         i, i, d, d, d, d, d);
            else if (arm)
                snprintf(step, sizeof step, "%sacc%d = tt_b3_dot(acc%d, tt_b3_trit(x), a%d);", d ? "x = vmulq_s8(x, three); " : "",
                         i, i, d);
            else if (vb == 64)
                snprintf(step, sizeof step, "%sacc%d = _mm512_dpbusd_epi32(acc%d, tt_b3_digit512(x), a%d);",
                         d ? "x = tt_b3_x3_512(x); " : "", i, i, d);
            else
                snprintf(step, sizeof step, "%sacc%d = tt_b3_dot256(acc%d, tt_b3_digit256(x), a%d);",
                         d ? "x = tt_b3_x3_256(x); " : "", i, i, d);
            if (tail && d) fprintf(o, "%s    if (nt > %d) { %s }\n", ind, d, step);
            else fprintf(o, "%s    %s\n", ind, step);
        }
        fprintf(o, "%s}\n", ind);
    }
}

/* R rows: out[i] = Σ_k T[i][k]·q[k] over full groups, then the last group's nt digits (0 = none). */
static void emit_block(FILE *o, const gen_variant *v, int R, const char *fn)
{
    tt_isa isa = v->x.isa;
    int arm = gen_isa_is_arm(isa), vb = gen_isa_vbytes(isa), lut = v->x.p.lut;
    /* rb: bytes from one row of the block to the next; os: elements from one row's output to the next */
    fprintf(o, "static inline void %s(const uint8_t *wb, size_t rb, const int8_t *q, int G, int nt, int32_t sum_q, int32_t *out, size_t os)\n{\n", fn);
    for (int i = 0; i < R; i++) fprintf(o, "    const uint8_t *w%d = wb + (size_t)%d * rb;\n", i, i);
    if (isa == TT_ISA_SCALAR) {
        fprintf(o, "    (void)sum_q;\n    int32_t s = 0;\n"
                   "    for (int g = 0; g <= G; g++) {\n"
                   "        int n = g < G ? 5 : nt;\n"
                   "        for (int j = 0; j < 64 && n; j++) {\n"
                   "            int8_t x = (int8_t)w0[(size_t)g * 64 + j];\n"
                   "            for (int d = 0; d < n; d++) {\n"
                   "                s += ((x > -43) + (x > 42) - 1) * q[(size_t)g * 320 + d * 64 + j];\n"
                   "                x = (int8_t)(uint8_t)(3u * (uint8_t)x);\n"
                   "            }\n        }\n    }\n    (void)os;\n    out[0] = s;\n}\n\n");
        return;
    }
    const char *V = arm ? "int32x4_t" : vb == 64 ? "__m512i" : "__m256i";
    const char *zero = arm ? "vdupq_n_s32(0)" : vb == 64 ? "_mm512_setzero_si512()" : "_mm256_setzero_si256()";
    for (int i = 0; i < R; i++) fprintf(o, "    %s acc%d = %s;\n", V, i, zero);
    if (arm) fprintf(o, "    const int8x16_t three = vdupq_n_s8(3);\n    (void)sum_q;\n");
    if (arm && lut == 2) fprintf(o, "    /* sdot on the signed bytes: (3P - Q) / 256 is Σ T·q itself */\n");
    if (lut == 1)
        for (int d = 0; d < 5; d++)
            for (int h = 0; h < 4; h++)
                fprintf(o, "    const __m512i L%d_%d = _mm512_load_si512((const void *)(tt_b3_lut[%d] + %d));\n", d, h, d, 64 * h);
    int carry = lut == 2;
    const char *gi = "        "; /* indentation of a group's body */
    if (carry) { /* chunks of at most 512 groups: P and Q stay far inside int32 (header comment) */
        fprintf(o, "    for (int g0 = 0;; g0 += 512) {\n"
                   "        const int g1 = G - g0 <= 512 ? G : g0 + 512;\n");
        for (int i = 0; i < R; i++) fprintf(o, "        %s p%d = %s, q%d = %s;\n", V, i, zero, i, zero);
        fprintf(o, "        for (int g = g0; g < g1; g++) {\n");
        gi = "            ";
    } else {
        fprintf(o, "    for (int g = 0; g < G; g++) {\n");
    }
    fprintf(o, "%s    const int8_t *qg = q + (size_t)g * 320;\n"
               "%s    const size_t gb = (size_t)g * 64;\n", gi, gi);
    char base[32], ind[32], ind2[40];
    snprintf(ind, sizeof ind, "%s    ", gi);
    snprintf(ind2, sizeof ind2, "%s        ", gi);
    for (int i = 0; i < R; i++) {
        snprintf(base, sizeof base, "w%d + gb", i);
        gen_prefetch(o, ind, arm, base, v->x.p.pf, 64);
    }
    for (int off = 0; off < 64; off += vb) {
        fprintf(o, "%s{\n", ind);
        emit_group(o, v, R, vb, off, 0, ind2);
        fprintf(o, "%s}\n", ind);
    }
    fprintf(o, "%s}\n", gi + 4);
    fprintf(o, "%sif (%snt) {\n"
               "%s    const int8_t *qg = q + (size_t)G * 320;\n"
               "%s    const size_t gb = (size_t)G * 64;\n", gi + 4, carry ? "g1 == G && " : "", gi + 4, gi + 4);
    for (int off = 0; off < 64; off += vb) {
        fprintf(o, "%s{\n", ind);
        emit_group(o, v, R, vb, off, 1, ind2);
        fprintf(o, "%s}\n", ind);
    }
    fprintf(o, "%s}\n", gi + 4);
    if (carry) {
        for (int i = 0; i < R; i++) {
            if (arm)
                fprintf(o, "        acc%d = vaddq_s32(acc%d, vshrq_n_s32(vsubq_s32(vmulq_n_s32(p%d, 3), q%d), 8));\n", i, i, i, i);
            else {
                const char *e = vb == 64 ? "_mm512" : "_mm256";
                fprintf(o, "        acc%d = %s_add_epi32(acc%d, %s_srai_epi32(%s_sub_epi32(%s_add_epi32(p%d, %s_add_epi32(p%d, p%d)), q%d), 8));\n",
                        i, e, i, e, e, e, i, e, i, i, i);
            }
        }
        fprintf(o, "        if (g1 == G) break;\n    }\n");
    }
    for (int i = 0; i < R; i++) {
        if (arm) fprintf(o, "    out[%d * os] = vaddvq_s32(acc%d);\n", i, i);
        else if (vb == 64) fprintf(o, "    out[%d * os] = _mm512_reduce_add_epi32(acc%d) - sum_q;\n", i, i);
        else fprintf(o, "    out[%d * os] = tt_hsum256(acc%d) - sum_q;\n", i, i);
    }
    fprintf(o, "}\n\n");
}

static void b3_emit(FILE *o, const gen_variant *v)
{
    int R = v->x.p.rows;
    char blk[200], blk1[200];
    snprintf(blk, sizeof blk, "%s_blk%d", v->name, R);
    snprintf(blk1, sizeof blk1, "%s_blk1", v->name);
    emit_block(o, v, R, blk);
    if (R > 1) emit_block(o, v, 1, blk1);
    fprintf(o, "void %s(const tt_gemv_args *a, int32_t *dot, int r0, int r1)\n{\n"
               "    assert(a && a->w && a->q && dot && a->k %% 64 == 0 && 0 <= r0 && r0 <= r1 && r1 <= a->m);\n"
               "    const int G = a->k / 320, nt = (a->k %% 320) / 64;\n"
               "    const size_t rb = (size_t)(G + (nt > 0)) * 64;\n"
               "    int r = r0;\n", v->name);
    if (v->x.p.st) /* row i of block j is row r0 + j + i * part: R streams, each part's rows in order */
        fprintf(o, "    const int part = (r1 - r0) / %d;\n"
                   "    for (; r < r0 + part; r++) %s(a->w + (size_t)r * rb, (size_t)part * rb, a->q, G, nt, a->sum_q, dot + r, (size_t)part);\n"
                   "    r = r0 + %d * part;\n", R, blk, R);
    else if (R > 1)
        fprintf(o, "    for (; r + %d <= r1; r += %d) %s(a->w + (size_t)r * rb, rb, a->q, G, nt, a->sum_q, dot + r, 1);\n", R, R, blk);
    fprintf(o, "    for (; r < r1; r++) %s(a->w + (size_t)r * rb, rb, a->q, G, nt, a->sum_q, dot + r, 1);\n}\n", R > 1 ? blk1 : blk);
}

const gen_family gen_family_b3 = {TT_FMT_B3, TT_OP_GEMV, b3_derive, b3_emit, b3_prelude};
