/* I2_S multiply-add GEMM emitter (batched prefill): dot[t][r] = Σ_k T[r][k]·q[t][k] for n tokens.
 *
 * Same arithmetic as the GEMV family (emit_i2s.c; docs/FORMATS.md §1-§3): codes c = T + 1 unpacked from a 32-byte
 * I2_S block by shift (6, 4, 2, 0) and mask 3 into four 32-weight groups, multiplied by int8 activations with an
 * unsigned x signed multiply-add, and Σq subtracted once per token (offset trick). The difference is reuse: a block
 * function holds r rows x n tokens of accumulators in registers; for each row it unpacks a vector of codes once
 * and feeds it to all n tokens, so the unpack (and the weight load) is amortized over n tokens and each activation
 * load over r rows. A call walks row blocks (outer) and token blocks (inner): the r rows' codes stay in L1 while
 * the n tokens stream from L2.
 *
 *   x86 dot ISAs (avx512vnni, avx512vbmi, avxvnni): vpdpbusd into int32 (f = 0).
 *   x86 maddubs ISAs (avx2, avx512bw): int16 lanes take f maddubs terms (4 per step, f <= 64: docs/FORMATS.md §2), then
 *       fold into int32 with madd(h, 1). f = 4 keeps one transient int16 register; f > 4 keeps one per (row, token).
 *   AVX-512 vectors hold two blocks: activations are pre-interleaved per token by tt_i2s_prep_q256 into the
 *       workspace (token t at ws + t*ldq); an odd last block runs 256-bit maddubs folded at once.
 *   ARM: dotprod sdot on T = c - 1 (no Σq), i8mm usdot on c (minus Σq); 16-byte halves of each 32-byte block.
 *   scalar: portable C, one byte (four weights) at a time.
 *
 * Register budget (refused otherwise, so a manifest row cannot silently spill): r*n accumulators (2*r*n with a
 * persistent int16 fold) plus 7 temporaries fit the ISA's vector registers (32 zmm / 16 ymm / 32 NEON).
 * Names: tt_i2s_gemm_r<R>_n<N>_u1_f<F>_p<P>[_il]__<isa>. */
#include "gen.h"

#include <string.h>

static int is_dot(tt_isa i)
{
    return i == TT_ISA_AVXVNNI || i == TT_ISA_AVX512VNNI || i == TT_ISA_AVX512VBMI || i == TT_ISA_DOTPROD ||
           i == TT_ISA_I8MM || i == TT_ISA_SCALAR;
}

static int vregs(tt_isa i)
{
    if (i == TT_ISA_SCALAR) return 64; /* the compiler's problem; blocks stay small in the manifest */
    return gen_isa_vbytes(i) == 32 ? 16 : 32;
}

static const char *gemm_derive(gen_variant *v)
{
    const tt_params *p = &v->x.p;
    tt_isa isa = v->x.isa;
    if (isa == TT_ISA_AMX) return gen_amx_derive(v); /* tiles, not vector registers: emit_amx.c */
    if (p->rows < 1 || p->rows > 16) return "rows per block must be 1..16";
    if (p->n < 1 || p->n > 16) return "tokens per block (n) must be 1..16";
    if (p->unroll != 1) return "GEMM variants take u1 (the token block is the unroll)";
    if (p->pf < 0 || p->pf % 64) return "prefetch distance must be a multiple of 64 bytes";
    if (p->il && p->rows == 1) return "skip: il with r1 is the plain layout";
    if (isa == TT_ISA_SCALAR && (p->pf || p->il)) return "scalar takes p0 and no il";
    if (isa == TT_ISA_NEON) return "no NEON GEMM family (vmlal): use dotprod or i8mm";
    if (p->bm || p->bk || p->lut) return "i2s gemm takes no TL parameters";
    int persistent = 0;
    if (is_dot(isa)) {
        if (p->fold) return "dot-product ISAs accumulate in int32: f must be 0";
    } else {
        if (p->fold < 4 || p->fold > 64)
            return "maddubs int16 lanes overflow after 64 terms (64*-512 = -32768, docs/FORMATS.md §2): 4 <= f <= 64";
        if (p->fold % 4) return "f must be a multiple of the maddubs terms per step (4)";
        persistent = p->fold > 4;
    }
    int need = p->rows * p->n * (persistent ? 2 : 1) + 7;
    if (need > vregs(isa)) return "r*n accumulators (+7 temporaries) exceed the ISA's vector registers";
    if (v->x.trick[0]) return "no tricks for i2s gemm";
    gen_i2s_fill(v);
    return NULL;
}

/* ---- x86 ---- */
/* the shared spelling table (gen_x86, gen/isa_x86.c) */
static void ld(FILE *o, const gen_x86 *X, const char *ind, const char *var, const char *addr)
{
    fprintf(o, "%sconst %s %s = ", ind, X->V, var);
    gen_x86_load(o, X, addr);
    fprintf(o, ";\n");
}

/* Address of row i's code bytes at offset j (+ off): plain rows w<i>, or the il tile (granule G bytes). */
static void row_addr(char *buf, size_t n, const gen_variant *v, int i, int R, int G, const char *j)
{
    if (v->x.p.il) snprintf(buf, n, "t + (size_t)(%s) * %d + %d", j, R, i * G);
    else snprintf(buf, n, "w%d + %s", i, j);
}

/* One step's hints (gen_prefetch): the interleaved tile's R vectors, or each row's vector. */
static void emit_pf(FILE *o, const gen_variant *v, int R, int vb, const char *ind, int arm)
{
    const tt_params *p = &v->x.p;
    char base[64];
    if (p->il) {
        snprintf(base, sizeof base, "t + (size_t)j * %d", R);
        gen_prefetch(o, ind, arm, base, p->pf, R * vb);
    } else {
        for (int i = 0; i < R; i++) {
            snprintf(base, sizeof base, "w%d + j", i);
            gen_prefetch(o, ind, arm, base, p->pf, vb);
        }
    }
}

static void emit_head(FILE *o, const gen_variant *v, int R, int N, const char *fn)
{
    fprintf(o, "/* %d row(s) x %d token(s): out[t*ldo + i] = Σ T*q (plain rows at stride kb, or one %d-row il tile). */\n",
            R, N, v->x.p.rows);
    fprintf(o, "static inline void %s(const uint8_t *wb, const int8_t *q, size_t ldq, int kb, const int32_t *sum_q, "
               "int32_t *out, int ldo)\n{\n", fn);
    if (v->x.p.il) fprintf(o, "    const uint8_t *t = wb;\n");
    else
        for (int i = 0; i < R; i++) fprintf(o, "    const uint8_t *w%d = wb + (size_t)%d * kb;\n", i, i);
    for (int t = 0; t < N; t++) fprintf(o, "    const int8_t *q%d = q + (size_t)%d * ldq;\n", t, t);
}

static void emit_x86_blk(FILE *o, const gen_variant *v, int R, int N, const char *fn)
{
    const tt_params *p = &v->x.p;
    int vb = gen_isa_vbytes(v->x.isa), dot = is_dot(v->x.isa), persistent = !dot && p->fold > 4;
    int G = vb, R_tile = p->rows; /* il granule = the vector width (kernels/tt_layout.c) */
    const gen_x86 *X = gen_x86_ops(v->x.isa);
    char a[160], var[32];
    emit_head(o, v, R, N, fn);
    fprintf(o, "    const %s m3 = %s(3);\n", X->V, X->set1_8);
    if (!dot) fprintf(o, "    const %s ones = %s(1);\n", X->V, X->set1_16);
    for (int i = 0; i < R; i++)
        for (int t = 0; t < N; t++) fprintf(o, "    %s acc%d_%d = %s;\n", X->V, i, t, X->zero);
    fprintf(o, "    int j = 0;\n");
    const char *ind = "        ";
    if (persistent) {
        fprintf(o, "    while (j + %d <= kb) { /* int16 lanes take %d maddubs terms (<= 64), then fold */\n", vb, p->fold);
        for (int i = 0; i < R; i++)
            for (int t = 0; t < N; t++) fprintf(o, "        %s h%d_%d = %s;\n", X->V, i, t, X->zero);
        fprintf(o, "        for (int s = 0; s < %d && j + %d <= kb; s++, j += %d) {\n", p->fold / 4, vb, vb);
        ind = "            ";
    } else {
        fprintf(o, "    for (; j + %d <= kb; j += %d) {\n", vb, vb);
    }
    emit_pf(o, v, p->il ? R_tile : R, vb, ind, 0);
    for (int i = 0; i < R; i++) {
        /* one row: load its codes once, unpack the four groups, feed every token */
        row_addr(a, sizeof a, v, i, R_tile, G, "j");
        snprintf(var, sizeof var, "x%d", i);
        fprintf(o, "%s{\n", ind);
        ld(o, X, ind, var, a);
        for (int g = 0; g < 4; g++) {
            char c[96];
            gen_x86_code(c, sizeof c, X, var, g);
            fprintf(o, "%sconst %s c%d = %s;\n", ind, X->V, g, c);
        }
        for (int t = 0; t < N; t++) {
            char qa[4][96];
            for (int g = 0; g < 4; g++) snprintf(qa[g], sizeof qa[g], "q%d + (size_t)j * 4 + %d", t, g * vb);
            if (dot) {
                for (int g = 0; g < 4; g++) {
                    fprintf(o, "%sacc%d_%d = %s(acc%d_%d, c%d, ", ind, i, t, X->dot, i, t, g);
                    gen_x86_load(o, X, qa[g]);
                    fprintf(o, ");\n");
                }
            } else {
                const char *h = persistent ? "h" : "hh";
                if (persistent) fprintf(o, "%s%s%d_%d = %s(%s%d_%d, %s(c0, ", ind, h, i, t, X->add16, h, i, t, X->maddubs);
                else fprintf(o, "%s%s hh%d_%d = %s(%s(c0, ", ind, X->V, i, t, X->add16, X->maddubs);
                if (persistent) {
                    gen_x86_load(o, X, qa[0]);
                    fprintf(o, "));\n");
                    for (int g = 1; g < 4; g++) {
                        fprintf(o, "%sh%d_%d = %s(h%d_%d, %s(c%d, ", ind, i, t, X->add16, i, t, X->maddubs, g);
                        gen_x86_load(o, X, qa[g]);
                        fprintf(o, "));\n");
                    }
                } else {
                    gen_x86_load(o, X, qa[0]);
                    fprintf(o, "), %s(c1, ", X->maddubs);
                    gen_x86_load(o, X, qa[1]);
                    fprintf(o, "));\n");
                    for (int g = 2; g < 4; g++) {
                        fprintf(o, "%shh%d_%d = %s(hh%d_%d, %s(c%d, ", ind, i, t, X->add16, i, t, X->maddubs, g);
                        gen_x86_load(o, X, qa[g]);
                        fprintf(o, "));\n");
                    }
                    fprintf(o, "%sacc%d_%d = %s(acc%d_%d, %s(hh%d_%d, ones));\n", ind, i, t, X->add32, i, t, X->madd, i, t);
                }
            }
        }
        fprintf(o, "%s}\n", ind);
    }
    if (persistent) {
        fprintf(o, "        }\n");
        for (int i = 0; i < R; i++)
            for (int t = 0; t < N; t++)
                fprintf(o, "        acc%d_%d = %s(acc%d_%d, %s(h%d_%d, ones));\n", i, t, X->add32, i, t, X->madd, i, t);
    }
    fprintf(o, "    }\n");
    if (vb == 64) {
        /* An odd last block: 256-bit maddubs folded at once (q is not interleaved for a lone block). */
        fprintf(o, "    if (j < kb) { /* one 128-weight block left */\n");
        fprintf(o, "        const __m256i m3y = _mm256_set1_epi8(3), onesy = _mm256_set1_epi16(1);\n");
        for (int i = 0; i < R; i++) {
            if (p->il) fprintf(o, "        { const __m256i y = _mm256_loadu_si256((const __m256i *)(t + (size_t)j * %d + %d));\n", R_tile, 32 * i);
            else fprintf(o, "        { const __m256i y = _mm256_loadu_si256((const __m256i *)(w%d + j));\n", i);
            fprintf(o, "          const __m256i d0 = _mm256_and_si256(_mm256_srli_epi16(y, 6), m3y), d1 = _mm256_and_si256(_mm256_srli_epi16(y, 4), m3y);\n"
                       "          const __m256i d2 = _mm256_and_si256(_mm256_srli_epi16(y, 2), m3y), d3 = _mm256_and_si256(y, m3y);\n");
            for (int t = 0; t < N; t++) {
                fprintf(o, "          { const int8_t *qt = q%d + (size_t)j * 4;\n", t);
                fprintf(o, "            __m256i s = _mm256_maddubs_epi16(d0, _mm256_loadu_si256((const __m256i *)qt));\n");
                for (int g = 1; g < 4; g++)
                    fprintf(o, "            s = _mm256_add_epi16(s, _mm256_maddubs_epi16(d%d, _mm256_loadu_si256((const __m256i *)(qt + %d))));\n", g, 32 * g);
                fprintf(o, "            acc%d_%d = _mm512_add_epi32(acc%d_%d, _mm512_zextsi256_si512(_mm256_madd_epi16(s, onesy))); }\n", i, t, i, t);
            }
            fprintf(o, "        }\n");
        }
        fprintf(o, "    }\n");
    }
    for (int t = 0; t < N; t++)
        for (int i = 0; i < R; i++)
            fprintf(o, "    out[(size_t)%d * ldo + %d] = %s(acc%d_%d) - sum_q[%d];\n", t, i, X->hsum, i, t, t);
    fprintf(o, "}\n\n");
}

/* ---- ARM (16-byte vectors; a 32-byte block is two halves) ---- */
static void emit_arm_blk(FILE *o, const gen_variant *v, int R, int N, const char *fn)
{
    int i8mm = v->x.isa == TT_ISA_I8MM, R_tile = v->x.p.rows;
    const gen_arm *A = gen_arm_ops();
    emit_head(o, v, R, N, fn);
    gen_arm_i2s_consts(o, "    ");
    for (int i = 0; i < R; i++)
        for (int t = 0; t < N; t++) fprintf(o, "    %s acc%d_%d = %s(0);\n", A->S32, i, t, A->dup_s32);
    fprintf(o, "    for (int j = 0; j + 32 <= kb; j += 32) {\n");
    emit_pf(o, v, v->x.p.il ? R_tile : R, 32, "        ", 1);
    for (int i = 0; i < R; i++)
        for (int h = 0; h < 2; h++) {
            char a[160];
            if (v->x.p.il) snprintf(a, sizeof a, "t + (size_t)j * %d + %d", R_tile, 32 * i + 16 * h);
            else snprintf(a, sizeof a, "w%d + j + %d", i, 16 * h);
            fprintf(o, "        {\n            const %s x = %s(%s);\n", A->U8, A->ld_u8, a);
            for (int g = 0; g < 4; g++) {
                char c[96], tr[160];
                gen_arm_code(c, sizeof c, "x", g);
                gen_arm_trit(tr, sizeof tr, "c");
                fprintf(o, "            {\n");
                fprintf(o, "                const %s c = %s;\n", A->U8, c);
                if (!i8mm) fprintf(o, "                const %s tr = %s;\n", A->S8, tr);
                for (int t = 0; t < N; t++) {
                    fprintf(o, "                { const %s qq = %s(q%d + (size_t)j * 4 + %d);\n", A->S8, A->ld_s8, t, 32 * g + 16 * h);
                    if (i8mm) fprintf(o, "                  acc%d_%d = %s(acc%d_%d, c, qq); }\n", i, t, A->usdot, i, t);
                    else fprintf(o, "                  acc%d_%d = %s(acc%d_%d, tr, qq); }\n", i, t, A->dot, i, t);
                }
                fprintf(o, "            }\n");
            }
            fprintf(o, "        }\n");
        }
    fprintf(o, "    }\n");
    /* sdot on T needs no offset correction; usdot on c = T + 1 subtracts Σq */
    for (int t = 0; t < N; t++)
        for (int i = 0; i < R; i++) {
            fprintf(o, "    out[(size_t)%d * ldo + %d] = %s(acc%d_%d)", t, i, A->hsum, i, t);
            if (i8mm) fprintf(o, " - sum_q[%d]", t);
            fprintf(o, ";\n");
        }
    fprintf(o, "    (void)sum_q;\n}\n\n");
}

/* ---- portable scalar ---- */
static void emit_scalar_blk(FILE *o, const gen_variant *v, int R, int N, const char *fn)
{
    emit_head(o, v, R, N, fn);
    fprintf(o, "    int32_t acc[%d][%d] = {{0}};\n", R, N);
    fprintf(o, "    for (int j = 0; j < kb; j++) {\n");
    fprintf(o, "        const size_t qo = (size_t)(j / 32) * 128 + (size_t)(j %% 32);\n");
    for (int i = 0; i < R; i++) {
        fprintf(o, "        { const uint32_t x = w%d[j];\n", i);
        fprintf(o, "          const int32_t c0 = (int32_t)(x >> 6), c1 = (int32_t)((x >> 4) & 3), c2 = (int32_t)((x >> 2) & 3), c3 = (int32_t)(x & 3);\n");
        for (int t = 0; t < N; t++)
            fprintf(o, "          acc[%d][%d] += c0 * q%d[qo] + c1 * q%d[qo + 32] + c2 * q%d[qo + 64] + c3 * q%d[qo + 96];\n", i, t,
                    t, t, t, t);
        fprintf(o, "        }\n");
    }
    fprintf(o, "    }\n");
    fprintf(o, "    for (int t = 0; t < %d; t++)\n        for (int i = 0; i < %d; i++) out[(size_t)t * ldo + i] = acc[i][t] - sum_q[t];\n",
            N, R);
    fprintf(o, "}\n\n");
}

static void emit_blk(FILE *o, const gen_variant *v, int R, int N, const char *fn)
{
    if (v->x.isa == TT_ISA_SCALAR) emit_scalar_blk(o, v, R, N, fn);
    else if (gen_isa_is_arm(v->x.isa)) emit_arm_blk(o, v, R, N, fn);
    else emit_x86_blk(o, v, R, N, fn);
}

/* The token loop for one row block: full token blocks of N, then single tokens. */
static void emit_token_loop(FILE *o, const char *ind, const char *blkN, const char *blk1, int N, const char *wb,
                            const char *out, const char *ldo)
{
    fprintf(o, "%sint tk = 0;\n", ind);
    fprintf(o, "%sfor (; tk + %d <= n; tk += %d) %s(%s, q + (size_t)tk * ldq, ldq, kb, a->sum_q + tk, %s + (size_t)tk * %s, %s);\n",
            ind, N, N, blkN, wb, out, ldo, ldo);
    if (N > 1)
        fprintf(o, "%sfor (; tk < n; tk++) %s(%s, q + (size_t)tk * ldq, ldq, kb, a->sum_q + tk, %s + (size_t)tk * %s, %s);\n",
                ind, blk1, wb, out, ldo, ldo);
}

static void gemm_emit(FILE *o, const gen_variant *v)
{
    if (v->x.isa == TT_ISA_AMX) {
        gen_amx_emit(o, v);
        return;
    }
    const tt_params *p = &v->x.p;
    int R = p->rows, N = p->n;
    char bRN[200], bR1[200], b1N[200], b11[200];
    snprintf(bRN, sizeof bRN, "%s_blk%dx%d", v->name, R, N);
    snprintf(bR1, sizeof bR1, "%s_blk%dx1", v->name, R);
    snprintf(b1N, sizeof b1N, "%s_blk1x%d", v->name, N);
    snprintf(b11, sizeof b11, "%s_blk1x1", v->name);
    emit_blk(o, v, R, N, bRN);
    if (N > 1) emit_blk(o, v, R, 1, bR1);
    else snprintf(bR1, sizeof bR1, "%s", bRN);
    if (R > 1 && !p->il) {
        emit_blk(o, v, 1, N, b1N);
        if (N > 1) emit_blk(o, v, 1, 1, b11);
        else snprintf(b11, sizeof b11, "%s", b1N);
    }
    fprintf(o, "void %s(const tt_gemm_args *a, int32_t *dot, int r0, int r1)\n{\n", v->name);
    fprintf(o, "    assert(a && a->w && a->q && a->sum_q && dot && a->k %% 128 == 0 && a->n >= 1 && a->ldq >= (size_t)a->k);\n");
    fprintf(o, "    assert(0 <= r0 && r0 <= r1 && r1 <= a->m);\n");
    if (p->il) fprintf(o, "    assert(r0 %% %d == 0 && (r1 %% %d == 0 || r1 == a->m));\n", R, R);
    fprintf(o, "    const int kb = a->k / 4, n = a->n, m = a->m;\n    const size_t ldq = a->ldq;\n");
    fprintf(o, "    const int8_t *q = %s;\n", v->has_prep ? "(const int8_t *)a->ws" : "a->q");
    if (v->has_prep) fprintf(o, "    assert(q); /* tt_variant_gemm_prep: token t interleaved at ws + t*ldq */\n");
    fprintf(o, "    int r = r0;\n");
    if (p->il) {
        fprintf(o, "    for (; r < r1; r += %d) {\n", R);
        fprintf(o, "        const uint8_t *t = a->w + (size_t)r * kb; /* tile r/%d, padded to %d rows */\n", R, R);
        fprintf(o, "        if (r + %d <= r1) {\n", R);
        emit_token_loop(o, "            ", bRN, bR1, N, "t", "dot + r", "m");
        fprintf(o, "        } else {\n            int32_t tmp[%d];\n", R * N);
        fprintf(o, "            for (int t0 = 0; t0 < n; t0 += %d) {\n", N);
        fprintf(o, "                const int nt = n - t0 < %d ? n - t0 : %d;\n", N, N);
        fprintf(o, "                if (nt == %d) %s(t, q + (size_t)t0 * ldq, ldq, kb, a->sum_q + t0, tmp, %d);\n", N, bRN, R);
        fprintf(o, "                else for (int u = 0; u < nt; u++) %s(t, q + (size_t)(t0 + u) * ldq, ldq, kb, a->sum_q + t0 + u, tmp + u * %d, %d);\n",
                bR1, R, R);
        fprintf(o, "                for (int u = 0; u < nt; u++)\n                    for (int i = 0; i < r1 - r; i++) dot[(size_t)(t0 + u) * m + r + i] = tmp[u * %d + i];\n", R);
        fprintf(o, "            }\n        }\n    }\n");
    } else {
        fprintf(o, "    for (; r + %d <= r1; r += %d) {\n", R, R);
        emit_token_loop(o, "        ", bRN, bR1, N, "a->w + (size_t)r * kb", "dot + r", "m");
        fprintf(o, "    }\n");
        if (R > 1) {
            fprintf(o, "    for (; r < r1; r++) {\n");
            emit_token_loop(o, "        ", b1N, b11, N, "a->w + (size_t)r * kb", "dot + r", "m");
            fprintf(o, "    }\n");
        }
    }
    fprintf(o, "}\n");
}

static void gemm_prelude(FILE *o, tt_isa isa)
{
    if (isa == TT_ISA_AMX) {
        gen_amx_prelude(o);
        return;
    }
    if (gen_isa_is_x86(isa)) {
        gen_x86_hsum_prelude(o);
    }
}

const gen_family gen_family_i2s_gemm = {TT_FMT_I2S, TT_OP_GEMM, gemm_derive, gemm_emit, gemm_prelude};
