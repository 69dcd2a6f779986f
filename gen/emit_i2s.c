/* I2_S multiply-add emitter: the GEMV family (decode, one token) and the GEMM family (batched prefill, n tokens),
 * written once. One block emitter makes an R rows x N tokens block (the GEMV's blocks are N = 1) and one driver
 * walks the rows (plain or row-interleaved tiles, with their tails) and the tokens (blocks of N, then single ones).
 *
 * Arithmetic (docs/FORMATS.md §1-§3): one 128-weight block = 32 code bytes; group g (0..3) of a block is
 * (bytes >> (6 - 2g)) & 3 = c = T + 1 and multiplies q[block*128 + g*32 + b]. dot = Σ c·q - Σq (offset trick).
 *   x86 dot ISAs (avxvnni, avx512vnni, avx512vbmi): vpdpbusd into int32 (f = 0).
 *   x86 maddubs ISAs (avx2, avx512bw): u8 codes x s8 q -> int16 lanes, each lane takes f terms (4 per vector step,
 *       f <= 64: docs/FORMATS.md §2), then folds into int32 with madd(h, 1).
 *   AVX-512 vectors hold two blocks: q is pre-interleaved per token (tt_i2s_prep_q256) to line its groups up with
 *       the shifted codes; an odd last block runs 256-bit maddubs folded at once.
 *   ARM (16-byte halves of each block): NEON vmlal_s8 on T = c - 1 (int16 lanes widened every f products), dotprod
 *       sdot on T (no Σq), i8mm usdot on c (minus Σq).
 *   scalar: portable C, one byte (four weights) at a time.
 * Reuse: a block unpacks a row's code vector once and feeds it to its N tokens; each activation vector serves its R
 * rows (a single token's are loaded once per step and named; several tokens' are loaded where used). u vectors per
 * row per step (GEMV), p bytes of software prefetch (gen_prefetch), il = the row-interleaved layout (one stream per
 * R-row tile, kernels/tt_layout.c).
 * GEMM register budget (refused otherwise, so a manifest row cannot silently spill): R*N accumulators (2*R*N with a
 * persistent int16 fold) plus 7 temporaries fit the ISA's vector registers (32 zmm / 16 ymm / 32 NEON).
 * st (GEMV, plain layout): a block's R rows are a part of the range apart (rows r0 + j + i·part, part = (r1 - r0) /
 * R; the rows past R parts one at a time), so a block reads R independent streams, each prefetching p ahead of
 * itself: on the 2-core Zen 3 VM four streams of one thread read ~1.2x one stream (the tuner's cold ceilings,
 * docs/MEASUREMENT.md). Every row is summed by the same code, so st changes no bit.
 * Names: tt_i2s_gemv_r<R>_u<U>_f<F>_p<P>[_il|_st]__<isa>, tt_i2s_gemm_r<R>_n<N>_u1_f<F>_p<P>[_il]__<isa>. */
#include "gen.h"

#include <string.h>

static int is_dot_isa(tt_isa i)
{
    return i == TT_ISA_AVXVNNI || i == TT_ISA_AVX512VNNI || i == TT_ISA_AVX512VBMI || i == TT_ISA_DOTPROD ||
           i == TT_ISA_I8MM || i == TT_ISA_SCALAR;
}

static int vregs(tt_isa i)
{
    if (i == TT_ISA_SCALAR) return 64; /* the compiler's problem; blocks stay small in the manifest */
    return gen_isa_vbytes(i) == 32 ? 16 : 32;
}

/* Multiply-add terms one int16 lane receives per step of u vectors (docs/FORMATS.md §2 budgets). */
static int terms_per_step(const gen_variant *v)
{
    return gen_isa_is_arm(v->x.isa) ? 16 * v->x.p.unroll : 4 * v->x.p.unroll;
}

/* The int16 fold rule shared by both families: NULL when f suits the ISA. */
static const char *fold_rule(const gen_variant *v)
{
    const tt_params *p = &v->x.p;
    tt_isa isa = v->x.isa;
    if (is_dot_isa(isa)) return p->fold ? "dot-product ISAs accumulate in int32: f must be 0" : NULL;
    if (gen_isa_is_arm(isa)) {
        if (p->fold < 1 || p->fold > 128)
            return "vmlal_s8 int16 lanes must widen at least every 128 products (docs/FORMATS.md §2): 1 <= f <= 128";
        return p->fold % terms_per_step(v) ? "f must be a multiple of the products per step (16*u)" : NULL;
    }
    if (p->fold < 1 || p->fold > 64)
        return "maddubs int16 lanes overflow after 64 terms (64*-512 = -32768, docs/FORMATS.md §2): 1 <= f <= 64";
    return p->fold % terms_per_step(v) ? "f must be a multiple of the maddubs terms per step (4*u)" : NULL;
}

static const char *i2s_derive(gen_variant *v)
{
    const tt_params *p = &v->x.p;
    tt_isa isa = v->x.isa;
    if (p->rows < 1 || p->rows > 16) return "rows per block must be 1..16";
    if (p->unroll < 1 || p->unroll > 2) return "u must be 1 or 2";
    if (p->pf < 0 || p->pf % 64) return "prefetch distance must be a multiple of 64 bytes";
    if (p->il && p->rows == 1) return "skip: il with r1 is the plain layout";
    if (isa == TT_ISA_SCALAR && (p->unroll != 1 || p->pf || p->il)) return "scalar takes u1 p0 and no il";
    if (p->st && (p->rows < 2 || p->il)) return "st needs r >= 2 and the plain layout (one stream per row of a block)";
    const char *why = fold_rule(v);
    if (why) return why;
    if (v->x.trick[0] && strcmp(v->x.trick, "base")) return "unknown trick for i2s";
    if (!strcmp(v->x.trick, "base") &&
        (isa != TT_ISA_AVX2 || p->rows != 1 || p->unroll != 1 || p->il || p->pf || p->fold != 64 || p->st))
        return "the baseline is bitnet.cpp's loop: avx2 r1 u1 f64 p0, plain layout";
    gen_i2s_fill(v);
    return NULL;
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
    if (p->st) return "st is a GEMV parameter (a GEMM block's rows share its token loads)";
    if (isa == TT_ISA_NEON) return "no NEON GEMM family (vmlal): use dotprod or i8mm";
    if (p->bm || p->bk || p->lut) return "i2s gemm takes no TL parameters";
    if (!is_dot_isa(isa) && p->fold < 4) return "maddubs GEMM blocks fold at least every step: 4 <= f <= 64";
    const char *why = fold_rule(v);
    if (why) return why;
    int persistent = !is_dot_isa(isa) && p->fold > terms_per_step(v);
    int need = p->rows * p->n * (persistent ? 2 : 1) + 7;
    if (need > vregs(isa)) return "r*n accumulators (+7 temporaries) exceed the ISA's vector registers";
    if (v->x.trick[0]) return "no tricks for i2s gemm";
    gen_i2s_fill(v);
    return NULL;
}

/* ---- the block: R rows x N tokens ----
 * static inline void blk(const uint8_t *wb, const int8_t *q, size_t ldq, int kb, const int32_t *sum_q, int32_t *out,
 *                        int ldo): out[t*ldo + i] = Σ T*q for row i at wb (plain: stride kb; il: one tile) and token t
 * at q + t*ldq. */
static void emit_head(FILE *o, const gen_variant *v, int R, int N, const char *fn)
{
    if (v->x.p.st) {
        fprintf(o, "/* %d row(s), rs rows apart (st: one stream each): out[i*rs] = Σ T*q. */\n", R);
        fprintf(o, "static inline void %s(const uint8_t *wb, const int8_t *q, size_t ldq, int kb, const int32_t *sum_q, "
                   "int32_t *out, int ldo, size_t rs)\n{\n", fn);
        for (int i = 0; i < R; i++) fprintf(o, "    const uint8_t *w%d = wb + (size_t)%d * rs * kb;\n", i, i);
        fprintf(o, "    (void)ldo;\n");
    } else {
        fprintf(o, "/* %d row(s) x %d token(s): out[t*ldo + i] = Σ T*q (plain rows at stride kb, or one %d-row il tile). */\n",
                R, N, v->x.p.rows);
        fprintf(o, "static inline void %s(const uint8_t *wb, const int8_t *q, size_t ldq, int kb, const int32_t *sum_q, "
                   "int32_t *out, int ldo)\n{\n", fn);
    }
    if (v->x.p.il) fprintf(o, "    const uint8_t *t = wb;\n");
    else if (!v->x.p.st)
        for (int i = 0; i < R; i++) fprintf(o, "    const uint8_t *w%d = wb + (size_t)%d * kb;\n", i, i);
    for (int t = 0; t < N; t++) fprintf(o, "    const int8_t *q%d = q + (size_t)%d * ldq;\n", t, t);
    if (N == 1) fprintf(o, "    (void)ldq;\n");
}

/* Where token t's row i lands: out[t*ldo + i], or (st, one token) out[i*rs]. */
static void oaddr(char *buf, size_t n, const gen_variant *v, int t, int i)
{
    if (v->x.p.st) snprintf(buf, n, "(size_t)%d * rs", i);
    else snprintf(buf, n, "(size_t)%d * ldo + %d", t, i);
}

/* Row i's u-th vector of `gran` bytes at byte offset j (plain: its own stream; il: the tile, granule-major). */
static void waddr(char *buf, size_t n, const gen_variant *v, int i, int u, int gran)
{
    if (v->x.p.il) snprintf(buf, n, "t + (size_t)(j + %d) * %d + %d", u * gran, v->x.p.rows, i * gran);
    else snprintf(buf, n, "w%d + j + %d", i, u * gran);
}

/* One step's hints (gen_prefetch): the tile's R·U vectors, or each row's U vectors. */
static void emit_prefetch(FILE *o, const gen_variant *v, int R, int U, int vb, const char *ind, int arm)
{
    const tt_params *p = &v->x.p;
    char base[64];
    if (p->il) {
        snprintf(base, sizeof base, "t + (size_t)j * %d", R);
        gen_prefetch(o, ind, arm, base, p->pf, R * U * vb);
    } else {
        for (int i = 0; i < R; i++) {
            snprintf(base, sizeof base, "w%d + j", i);
            gen_prefetch(o, ind, arm, base, p->pf, U * vb);
        }
    }
}

/* How the int16 lanes of the multiply-add ISAs are folded: DOT (none: int32 directly), PERSIST (h<i>_<t> live over
 * `steps` steps, then folded), STEP (h<i>_<t> made by a row's first product of the step and folded at its end). */
typedef enum { ACC_DOT, ACC_PERSIST, ACC_STEP } acc_mode;

static acc_mode mode_of(const gen_variant *v, int U)
{
    if (is_dot_isa(v->x.isa)) return ACC_DOT;
    int per = gen_isa_is_arm(v->x.isa) ? 16 * U : 4 * U;
    return v->x.p.fold / per > 1 ? ACC_PERSIST : ACC_STEP;
}

/* x86: token t's activation vector u, group g: the step's named load (one token) or a load where used. */
static void emit_x86_act(FILE *o, const gen_x86 *X, int N, int t, int u, int g)
{
    char addr[96];
    if (N == 1) {
        fprintf(o, "q%d_%d", u, g);
        return;
    }
    snprintf(addr, sizeof addr, "q%d + (size_t)(j + %d) * 4 + %d", t, u * X->vb, g * X->vb);
    gen_x86_load(o, X, addr);
}

/* x86: one step of U vectors for R rows x N tokens. */
static void emit_x86_step(FILE *o, const gen_variant *v, const gen_x86 *X, int R, int N, int U, acc_mode mode,
                          const char *ind)
{
    int vb = X->vb;
    char var[32], addr[128];
    if (N == 1) /* one token: its activations serve every row, loaded once per step */
        for (int u = 0; u < U; u++)
            for (int g = 0; g < 4; g++) {
                snprintf(addr, sizeof addr, "q0 + (size_t)(j + %d) * 4 + %d", u * vb, g * vb);
                fprintf(o, "%sconst %s q%d_%d = ", ind, X->V, u, g);
                gen_x86_load(o, X, addr);
                fprintf(o, ";\n");
            }
    for (int i = 0; i < R; i++) {
        fprintf(o, "%s{\n", ind);
        for (int u = 0; u < U; u++) {
            /* one row's vector: loaded once, its four code groups unpacked once, fed to every token */
            snprintf(var, sizeof var, "x%d", u);
            waddr(addr, sizeof addr, v, i, u, vb);
            fprintf(o, "%s    const %s %s = ", ind, X->V, var);
            gen_x86_load(o, X, addr);
            fprintf(o, ";\n");
            /* codes: named once for several tokens; for one token written where used (one use each) */
            char code[4][96];
            for (int g = 0; g < 4; g++) {
                if (N == 1) {
                    gen_x86_code(code[g], sizeof code[g], X, var, g);
                    continue;
                }
                char c[96];
                gen_x86_code(c, sizeof c, X, var, g);
                fprintf(o, "%s    const %s c%d_%d = %s;\n", ind, X->V, u, g, c);
                snprintf(code[g], sizeof code[g], "c%d_%d", u, g);
            }
            for (int t = 0; t < N; t++) {
                for (int g = 0; g < 4; g++) {
                    fprintf(o, "%s    ", ind);
                    if (mode == ACC_DOT) {
                        fprintf(o, "acc%d_%d = %s(acc%d_%d, %s, ", i, t, X->dot, i, t, code[g]);
                        emit_x86_act(o, X, N, t, u, g);
                        fprintf(o, ");\n");
                    } else if (mode == ACC_STEP && u == 0 && g == 0) { /* the step's first two products make h */
                        fprintf(o, "%s h%d_%d = %s(%s(%s, ", X->V, i, t, X->add16, X->maddubs, code[0]);
                        emit_x86_act(o, X, N, t, u, 0);
                        fprintf(o, "), %s(%s, ", X->maddubs, code[1]);
                        emit_x86_act(o, X, N, t, u, 1);
                        fprintf(o, "));\n");
                        g = 1;
                    } else {
                        fprintf(o, "h%d_%d = %s(h%d_%d, %s(%s, ", i, t, X->add16, i, t, X->maddubs, code[g]);
                        emit_x86_act(o, X, N, t, u, g);
                        fprintf(o, "));\n");
                    }
                }
                if (mode == ACC_STEP && u == U - 1) /* this row and token's step is complete: fold */
                    fprintf(o, "%s    acc%d_%d = %s(acc%d_%d, %s(h%d_%d, ones));\n", ind, i, t, X->add32, i, t, X->madd,
                            i, t);
            }
        }
        fprintf(o, "%s}\n", ind);
    }
}

/* x86: the main loop of steps of U vectors, in the block's accumulation mode and with prefetch, or (leftover) a loop
 * over the vectors the unrolled steps leave, one per step, folded at once. */
static void emit_x86_loop(FILE *o, const gen_variant *v, const gen_x86 *X, int R, int N, int U, int leftover)
{
    int vb = X->vb, st = U * vb, pf = !leftover;
    acc_mode mode = !leftover || is_dot_isa(v->x.isa) ? mode_of(v, U) : ACC_STEP;
    if (mode == ACC_PERSIST) {
        int steps = v->x.p.fold / (4 * U);
        fprintf(o, "    while (j + %d <= kb) { /* int16 lanes take %d maddubs terms (<= 64), then fold */\n", st,
                v->x.p.fold);
        for (int i = 0; i < R; i++)
            for (int t = 0; t < N; t++) fprintf(o, "        %s h%d_%d = %s;\n", X->V, i, t, X->zero);
        fprintf(o, "        for (int s = 0; s < %d && j + %d <= kb; s++, j += %d) {\n", steps, st, st);
        if (pf) emit_prefetch(o, v, R, U, vb, "            ", 0);
        emit_x86_step(o, v, X, R, N, U, mode, "            ");
        fprintf(o, "        }\n");
        for (int i = 0; i < R; i++)
            for (int t = 0; t < N; t++)
                fprintf(o, "        acc%d_%d = %s(acc%d_%d, %s(h%d_%d, ones));\n", i, t, X->add32, i, t, X->madd, i, t);
        fprintf(o, "    }\n");
    } else {
        fprintf(o, "    for (; j + %d <= kb; j += %d) {%s\n", st, st,
                mode == ACC_STEP ? " /* int16 lanes take one step's maddubs terms, then fold */" : "");
        if (pf) emit_prefetch(o, v, R, U, vb, "        ", 0);
        emit_x86_step(o, v, X, R, N, U, mode, "        ");
        fprintf(o, "    }\n");
    }
}

static void emit_x86_blk(FILE *o, const gen_variant *v, int R, int N, const char *fn)
{
    const tt_params *p = &v->x.p;
    int vb = gen_isa_vbytes(v->x.isa), U = p->unroll;
    const gen_x86 *X = gen_x86_ops(v->x.isa);
    emit_head(o, v, R, N, fn);
    fprintf(o, "    const %s m3 = %s(3);\n", X->V, X->set1_8);
    if (!is_dot_isa(v->x.isa)) fprintf(o, "    const %s ones = %s(1);\n", X->V, X->set1_16);
    for (int i = 0; i < R; i++)
        for (int t = 0; t < N; t++) fprintf(o, "    %s acc%d_%d = %s;\n", X->V, i, t, X->zero);
    fprintf(o, "    int j = 0;\n");
    emit_x86_loop(o, v, X, R, N, U, 0);
    if (U > 1) emit_x86_loop(o, v, X, R, N, 1, 1);
    if (vb == 64) {
        /* An odd last block: 256-bit maddubs (AVX2 is implied by AVX-512BW), folded at once; q is not interleaved
         * for a lone block. */
        fprintf(o, "    if (j < kb) { /* one 128-weight block left */\n");
        fprintf(o, "        const __m256i m3y = _mm256_set1_epi8(3), onesy = _mm256_set1_epi16(1);\n");
        for (int i = 0; i < R; i++) {
            if (p->il) fprintf(o, "        { const __m256i y = _mm256_loadu_si256((const __m256i *)(t + (size_t)j * %d + %d));\n", p->rows, 32 * i);
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
        for (int i = 0; i < R; i++) {
            char oa[64];
            oaddr(oa, sizeof oa, v, t, i);
            fprintf(o, "    out[%s] = %s(acc%d_%d) - sum_q[%d];\n", oa, X->hsum, i, t, t);
        }
    fprintf(o, "}\n\n");
}

/* ---- ARM (16-byte vectors; a 32-byte block is two halves) ---- */
static void emit_arm_step(FILE *o, const gen_variant *v, int R, int N, int U, acc_mode mode, const char *ind)
{
    tt_isa isa = v->x.isa;
    const gen_arm *A = gen_arm_ops();
    if (N == 1)
        for (int u = 0; u < U; u++)
            for (int g = 0; g < 4; g++)
                for (int h = 0; h < 2; h++)
                    fprintf(o, "%sconst %s q%d_%d_%d = %s(q0 + (size_t)(j + %d) * 4 + %d);\n", ind, A->S8, u, g, h,
                            A->ld_s8, 32 * u, 32 * g + 16 * h);
    for (int i = 0; i < R; i++) {
        for (int u = 0; u < U; u++)
            for (int h = 0; h < 2; h++) {
                char addr[128];
                if (v->x.p.il)
                    snprintf(addr, sizeof addr, "t + (size_t)(j + %d) * %d + %d", 32 * u, v->x.p.rows, 32 * i + 16 * h);
                else snprintf(addr, sizeof addr, "w%d + j + %d", i, 32 * u + 16 * h);
                fprintf(o, "%s{\n%s    const %s x = %s(%s);\n", ind, ind, A->U8, A->ld_u8, addr);
                for (int g = 0; g < 4; g++) {
                    char c[96], tr[160];
                    gen_arm_code(c, sizeof c, "x", g);
                    fprintf(o, "%s    {\n%s        const %s c = %s;\n", ind, ind, A->U8, c);
                    if (isa != TT_ISA_I8MM) {
                        gen_arm_trit(tr, sizeof tr, "c");
                        fprintf(o, "%s        const %s tr = %s;\n", ind, A->S8, tr);
                    }
                    for (int t = 0; t < N; t++) {
                        char qv[96];
                        if (N == 1) snprintf(qv, sizeof qv, "q%d_%d_%d", u, g, h);
                        else {
                            snprintf(qv, sizeof qv, "qq");
                            fprintf(o, "%s        { const %s qq = %s(q%d + (size_t)(j + %d) * 4 + %d);\n", ind, A->S8,
                                    A->ld_s8, t, 32 * u, 32 * g + 16 * h);
                        }
                        const char *pre = N == 1 ? "        " : "          ";
                        if (isa == TT_ISA_I8MM)
                            fprintf(o, "%s%sacc%d_%d = %s(acc%d_%d, c, %s);", ind, pre, i, t, A->usdot, i, t, qv);
                        else if (mode == ACC_DOT)
                            fprintf(o, "%s%sacc%d_%d = %s(acc%d_%d, tr, %s);", ind, pre, i, t, A->dot, i, t, qv);
                        else
                            fprintf(o, "%s%sh%d_%d = vmlal_s8(h%d_%d, vget_low_s8(tr), vget_low_s8(%s));\n"
                                       "%s%sh%d_%d = vmlal_high_s8(h%d_%d, tr, %s);",
                                    ind, pre, i, t, i, t, qv, ind, pre, i, t, i, t, qv);
                        fprintf(o, N == 1 ? "\n" : " }\n");
                    }
                    fprintf(o, "%s    }\n", ind);
                }
                fprintf(o, "%s}\n", ind);
            }
    }
}

static void emit_arm_loop(FILE *o, const gen_variant *v, int R, int N, int U, int pf)
{
    int st = 32 * U;
    acc_mode mode = mode_of(v, U);
    if (mode == ACC_DOT) {
        fprintf(o, "    for (; j + %d <= kb; j += %d) {\n", st, st);
        if (pf) emit_prefetch(o, v, R, U, 32, "        ", 1);
        emit_arm_step(o, v, R, N, U, mode, "        ");
        fprintf(o, "    }\n");
        return;
    }
    /* vmlal: int16 lanes take f products, then widen into int32 (one step's when f is a step's) */
    int steps = v->x.p.fold / (16 * U);
    fprintf(o, "    while (j + %d <= kb) { /* int16 lanes take %d products (<= 128), then widen */\n", st,
            mode == ACC_PERSIST ? v->x.p.fold : 16 * U);
    for (int i = 0; i < R; i++)
        for (int t = 0; t < N; t++) fprintf(o, "        int16x8_t h%d_%d = vdupq_n_s16(0);\n", i, t);
    fprintf(o, "        for (int s = 0; s < %d && j + %d <= kb; s++, j += %d) {\n", mode == ACC_PERSIST ? steps : 1, st,
            st);
    if (pf) emit_prefetch(o, v, R, U, 32, "            ", 1);
    emit_arm_step(o, v, R, N, U, mode, "            ");
    fprintf(o, "        }\n");
    for (int i = 0; i < R; i++)
        for (int t = 0; t < N; t++) fprintf(o, "        acc%d_%d = vpadalq_s16(acc%d_%d, h%d_%d);\n", i, t, i, t, i, t);
    fprintf(o, "    }\n");
}

static void emit_arm_blk(FILE *o, const gen_variant *v, int R, int N, const char *fn)
{
    int U = v->x.p.unroll, i8mm = v->x.isa == TT_ISA_I8MM;
    const gen_arm *A = gen_arm_ops();
    emit_head(o, v, R, N, fn);
    gen_arm_i2s_consts(o, "    ");
    for (int i = 0; i < R; i++)
        for (int t = 0; t < N; t++) fprintf(o, "    %s acc%d_%d = %s(0);\n", A->S32, i, t, A->dup_s32);
    fprintf(o, "    int j = 0;\n");
    emit_arm_loop(o, v, R, N, U, 1);
    if (U > 1) emit_arm_loop(o, v, R, N, 1, 0);
    /* sdot and vmlal on T need no offset correction; usdot on c = T + 1 subtracts Σq */
    for (int t = 0; t < N; t++)
        for (int i = 0; i < R; i++) {
            char oa[64];
            oaddr(oa, sizeof oa, v, t, i);
            fprintf(o, "    out[%s] = %s(acc%d_%d)", oa, A->hsum, i, t);
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
    fprintf(o, "    for (int t = 0; t < %d; t++)\n        for (int i = 0; i < %d; i++) out[%s] = acc[i][t] - sum_q[t];\n",
            N, R, v->x.p.st ? "(size_t)i * rs" : "(size_t)t * ldo + i");
    fprintf(o, "}\n\n");
}

static void emit_blk(FILE *o, const gen_variant *v, int R, int N, const char *fn)
{
    if (v->x.isa == TT_ISA_SCALAR) emit_scalar_blk(o, v, R, N, fn);
    else if (gen_isa_is_arm(v->x.isa)) emit_arm_blk(o, v, R, N, fn);
    else emit_x86_blk(o, v, R, N, fn);
}

/* ---- the driver: rows (blocks of R, or il tiles with a partial last one), then tokens (blocks of N, then single
 * ones). A GEMV is the n = 1 case: its prologue sets n = 1, ldq = 0 and sum_q = &a->sum_q, and the token loop folds
 * away. ---- */

/* The token loop for one row block. */
static void emit_token_loop(FILE *o, const char *ind, const char *blkN, const char *blk1, int N, const char *wb,
                            const char *out)
{
    fprintf(o, "%sint tk = 0;\n", ind);
    fprintf(o, "%sfor (; tk + %d <= n; tk += %d) %s(%s, q + (size_t)tk * ldq, ldq, kb, sum_q + tk, %s + (size_t)tk * m, m);\n",
            ind, N, N, blkN, wb, out);
    if (N > 1)
        fprintf(o, "%sfor (; tk < n; tk++) %s(%s, q + (size_t)tk * ldq, ldq, kb, sum_q + tk, %s + (size_t)tk * m, m);\n",
                ind, blk1, wb, out);
}

static void emit_driver(FILE *o, const gen_variant *v, int gemm)
{
    const tt_params *p = &v->x.p;
    int R = p->rows, N = gemm ? p->n : 1;
    char bRN[200], bR1[200], b1N[200], b11[200];
    snprintf(bRN, sizeof bRN, "%s_blk%dx%d", v->name, R, N);
    snprintf(bR1, sizeof bR1, "%s_blk%dx1", v->name, R);
    snprintf(b1N, sizeof b1N, "%s_blk1x%d", v->name, N);
    snprintf(b11, sizeof b11, "%s_blk1x1", v->name);
    emit_blk(o, v, R, N, bRN);
    if (N > 1) emit_blk(o, v, R, 1, bR1);
    if (R > 1 && !p->il) {
        emit_blk(o, v, 1, N, b1N);
        if (N > 1) emit_blk(o, v, 1, 1, b11);
    }
    if (gemm) {
        fprintf(o, "void %s(const tt_gemm_args *a, int32_t *dot, int r0, int r1)\n{\n", v->name);
        fprintf(o, "    assert(a && a->w && a->q && a->sum_q && dot && a->k %% 128 == 0 && a->n >= 1 && a->ldq >= (size_t)a->k);\n");
        fprintf(o, "    const int n = a->n;\n    const size_t ldq = a->ldq;\n    const int32_t *sum_q = a->sum_q;\n");
    } else {
        fprintf(o, "void %s(const tt_gemv_args *a, int32_t *dot, int r0, int r1)\n{\n", v->name);
        fprintf(o, "    assert(a && a->w && a->q && dot && a->k %% 128 == 0);\n");
        fprintf(o, "    const int n = 1; /* one token */\n    const size_t ldq = 0;\n    const int32_t *sum_q = &a->sum_q;\n");
    }
    fprintf(o, "    assert(0 <= r0 && r0 <= r1 && r1 <= a->m);\n");
    if (p->il) fprintf(o, "    assert(r0 %% %d == 0 && (r1 %% %d == 0 || r1 == a->m));\n", R, R);
    fprintf(o, "    const int kb = a->k / 4, m = a->m;\n");
    fprintf(o, "    const int8_t *q = %s;\n", v->has_prep ? "(const int8_t *)a->ws" : "a->q");
    if (v->has_prep) fprintf(o, "    assert(q); /* the prep's q, interleaved per 256 weights: token t at ws + t*ldq */\n");
    fprintf(o, "    int r = r0;\n");
    if (p->il) {
        fprintf(o, "    for (; r < r1; r += %d) {\n", R);
        fprintf(o, "        const uint8_t *t = a->w + (size_t)r * kb; /* tile r/%d, padded to %d rows */\n", R, R);
        fprintf(o, "        if (r + %d <= r1) {\n", R);
        emit_token_loop(o, "            ", bRN, N > 1 ? bR1 : bRN, N, "t", "dot + r");
        fprintf(o, "        } else { /* the last tile's rows past r1 are padding: computed aside, not stored */\n");
        fprintf(o, "            int32_t tmp[%d];\n", R * N);
        fprintf(o, "            for (int t0 = 0; t0 < n; t0 += %d) {\n", N);
        fprintf(o, "                const int nt = n - t0 < %d ? n - t0 : %d;\n", N, N);
        fprintf(o, "                if (nt == %d) %s(t, q + (size_t)t0 * ldq, ldq, kb, sum_q + t0, tmp, %d);\n", N, bRN, R);
        if (N > 1)
            fprintf(o, "                else for (int u = 0; u < nt; u++) %s(t, q + (size_t)(t0 + u) * ldq, ldq, kb, sum_q + t0 + u, tmp + u * %d, %d);\n",
                    bR1, R, R);
        fprintf(o, "                for (int u = 0; u < nt; u++)\n                    for (int i = 0; i < r1 - r; i++) dot[(size_t)(t0 + u) * m + r + i] = tmp[u * %d + i];\n", R);
        fprintf(o, "            }\n        }\n    }\n");
    } else if (p->st) { /* row i of block j is row r0 + j + i * part: R streams, each part's rows in order */
        fprintf(o, "    (void)n, (void)ldq;\n");
        fprintf(o, "    const int part = (r1 - r0) / %d;\n", R);
        fprintf(o, "    for (; r < r0 + part; r++) %s(a->w + (size_t)r * kb, q, 0, kb, sum_q, dot + r, m, (size_t)part);\n", bRN);
        fprintf(o, "    for (r = r0 + %d * part; r < r1; r++) %s(a->w + (size_t)r * kb, q, 0, kb, sum_q, dot + r, m, 1);\n", R, b1N);
    } else {
        fprintf(o, "    for (; r + %d <= r1; r += %d) {\n", R, R);
        emit_token_loop(o, "        ", bRN, N > 1 ? bR1 : bRN, N, "a->w + (size_t)r * kb", "dot + r");
        fprintf(o, "    }\n");
        if (R > 1) {
            fprintf(o, "    for (; r < r1; r++) {\n");
            emit_token_loop(o, "        ", b1N, N > 1 ? b11 : b1N, N, "a->w + (size_t)r * kb", "dot + r");
            fprintf(o, "    }\n");
        }
    }
    fprintf(o, "}\n");
}

static void i2s_emit(FILE *o, const gen_variant *v) { emit_driver(o, v, 0); }

static void gemm_emit(FILE *o, const gen_variant *v)
{
    if (v->x.isa == TT_ISA_AMX) gen_amx_emit(o, v);
    else emit_driver(o, v, 1);
}

static void i2s_prelude(FILE *o, tt_isa isa)
{
    if (gen_isa_is_x86(isa) && isa != TT_ISA_SCALAR) gen_x86_hsum_prelude(o);
}

static void gemm_prelude(FILE *o, tt_isa isa)
{
    if (isa == TT_ISA_AMX) gen_amx_prelude(o);
    else i2s_prelude(o, isa);
}

const gen_family gen_family_i2s = {TT_FMT_I2S, TT_OP_GEMV, i2s_derive, i2s_emit, i2s_prelude};
const gen_family gen_family_i2s_gemm = {TT_FMT_I2S, TT_OP_GEMM, gemm_derive, gemm_emit, gemm_prelude};
