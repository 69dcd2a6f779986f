/* I2_S multiply-add GEMV emitter. One 128-weight block = 32 code bytes; a vector of VB bytes holds VB/32 blocks.
 * Group g (0..3) of a block is (bytes >> (6 - 2g)) & 3 and multiplies q[block*128 + g*32 + b] (docs/FORMATS.md §3).
 * x86: maddubs (u8 codes x s8 q -> int16, folded into int32 every f terms) or a VNNI dot (vpdpbusd, int32),
 *      then dot = Σ c*q - Σq (offset trick). AVX-512 vectors hold two blocks, so q is pre-interleaved per token
 *      (tt_i2s_prep_q256) to line its groups up with the shifted codes; an odd last block runs 256-bit.
 * ARM: NEON vmlal_s8 on T = c - 1 (int16, widened every f products), dotprod sdot on T, i8mm usdot on c.
 * Rows per block (r) share every activation load; u vectors per row per step; p bytes software prefetch;
 * il = row-interleaved layout (one stream per r-row tile). */
#include "gen.h"

#include <string.h>

static int is_dot_isa(tt_isa i)
{
    return i == TT_ISA_AVXVNNI || i == TT_ISA_AVX512VNNI || i == TT_ISA_AVX512VBMI || i == TT_ISA_DOTPROD ||
           i == TT_ISA_I8MM || i == TT_ISA_SCALAR;
}

/* Multiply-add terms one int16 lane receives per step of u vectors (docs/FORMATS.md §2 budgets). */
static int terms_per_step(const gen_variant *v)
{
    return gen_isa_is_arm(v->x.isa) ? 16 * v->x.p.unroll : 4 * v->x.p.unroll;
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
    if (is_dot_isa(isa)) {
        if (p->fold) return "dot-product ISAs accumulate in int32: f must be 0";
    } else if (gen_isa_is_arm(isa)) {
        if (p->fold < 1 || p->fold > 128)
            return "vmlal_s8 int16 lanes must widen at least every 128 products (docs/FORMATS.md §2): 1 <= f <= 128";
        if (p->fold % terms_per_step(v)) return "f must be a multiple of the products per step (16*u)";
    } else {
        if (p->fold < 1 || p->fold > 64)
            return "maddubs int16 lanes overflow after 64 terms (64*-512 = -32768, docs/FORMATS.md §2): 1 <= f <= 64";
        if (p->fold % terms_per_step(v)) return "f must be a multiple of the maddubs terms per step (4*u)";
    }
    if (v->x.trick[0] && strcmp(v->x.trick, "base")) return "unknown trick for i2s";
    if (!strcmp(v->x.trick, "base") &&
        (isa != TT_ISA_AVX2 || p->rows != 1 || p->unroll != 1 || p->il || p->pf || p->fold != 64))
        return "the baseline is bitnet.cpp's loop: avx2 r1 u1 f64 p0, plain layout";
    gen_i2s_fill(v);
    return NULL;
}

void gen_i2s_fill(gen_variant *v)
{
    const tt_params *p = &v->x.p;
    v->layout = p->il ? TT_LAYOUT_I2S_IL : TT_LAYOUT_I2S;
    v->exact = 1; /* multiply-add kernels are exact over the whole int8 range (docs/FORMATS.md §2) */
    v->act_min = -128;
    v->act_max = 127;
    v->row_align = p->il ? p->rows : 1;
    v->k_align = 128;
    v->k_max = TT_K_MAX;
    v->has_prep = gen_isa_vbytes(v->x.isa) == 64; /* 512-bit vectors read q interleaved per 256 weights */
}

/* ---- x86: the shared spelling table (gen_x86, gen/isa_x86.c) ---- */
static void emit_load(FILE *o, const gen_x86 *X, const char *var, const char *addr)
{
    fprintf(o, "%s %s = ", X->V, var);
    gen_x86_load(o, X, addr);
    fprintf(o, ";\n");
}

/* Address of row i's u-th vector at byte offset j (plain: own stream; il: tile stream, granule-major). */
static void waddr(char *buf, size_t n, const gen_variant *v, int i, int u, int vb)
{
    if (v->x.p.il) snprintf(buf, n, "t + (size_t)(j + %d) * %d + %d", u * vb, v->x.p.rows, i * vb);
    else snprintf(buf, n, "w%d + j + %d", i, u * vb);
}

/* One step's hints (gen_prefetch): the interleaved tile's R·U vectors, or each row's U vectors. */
static void emit_prefetch(FILE *o, const gen_variant *v, int R, int vb, const char *ind, int arm)
{
    const tt_params *p = &v->x.p;
    char base[64];
    if (p->il) {
        snprintf(base, sizeof base, "t + (size_t)j * %d", R);
        gen_prefetch(o, ind, arm, base, p->pf, R * p->unroll * vb);
    } else {
        for (int i = 0; i < R; i++) {
            snprintf(base, sizeof base, "w%d + j", i);
            gen_prefetch(o, ind, arm, base, p->pf, p->unroll * vb);
        }
    }
}

/* One step of U vectors for R rows (x86). h = int16 accumulators (maddubs) or acc (dot). */
static void emit_x86_step(FILE *o, const gen_variant *v, const gen_x86 *X, int R, int U, int vb, const char *ind)
{
    int dot = is_dot_isa(v->x.isa);
    char var[32], addr[128];
    for (int u = 0; u < U; u++)
        for (int g = 0; g < 4; g++) {
            snprintf(var, sizeof var, "q%d_%d", u, g);
            snprintf(addr, sizeof addr, "q + (size_t)(j + %d) * 4 + %d", u * vb, g * vb);
            fprintf(o, "%s", ind);
            emit_load(o, X, var, addr);
        }
    for (int i = 0; i < R; i++)
        for (int u = 0; u < U; u++) {
            snprintf(var, sizeof var, "x%d_%d", i, u);
            waddr(addr, sizeof addr, v, i, u, vb);
            fprintf(o, "%s", ind);
            emit_load(o, X, var, addr);
            for (int g = 0; g < 4; g++) {
                char c[96], x[32];
                snprintf(x, sizeof x, "x%d_%d", i, u);
                gen_x86_code(c, sizeof c, X, x, g);
                if (dot) fprintf(o, "%sacc%d = %s(acc%d, %s, q%d_%d);\n", ind, i, X->dot, i, c, u, g);
                else fprintf(o, "%sh%d = %s(h%d, %s(%s, q%d_%d));\n", ind, i, X->add16, i, X->maddubs, c, u, g);
            }
        }
}

static void emit_x86_block_fn(FILE *o, const gen_variant *v, int R, const char *fn)
{
    const tt_params *p = &v->x.p;
    int vb = gen_isa_vbytes(v->x.isa), U = p->unroll, dot = is_dot_isa(v->x.isa);
    const gen_x86 *X = gen_x86_ops(v->x.isa);
    fprintf(o, "/* %d row(s): out[i] = Σ T*q for the rows at wb (plain: stride kb; il: one %d-row tile). */\n", R,
            R);
    fprintf(o, "static inline void %s(const uint8_t *wb, const int8_t *q, int kb, int32_t sum_q, int32_t *out)\n{\n",
            fn);
    fprintf(o, "    const %s m3 = %s(3);\n", X->V, X->set1_8);
    if (!dot) fprintf(o, "    const %s ones = %s(1);\n", X->V, X->set1_16);
    if (p->il) fprintf(o, "    const uint8_t *t = wb;\n");
    else
        for (int i = 0; i < R; i++) fprintf(o, "    const uint8_t *w%d = wb + (size_t)%d * kb;\n", i, i);
    for (int i = 0; i < R; i++) fprintf(o, "    %s acc%d = %s;\n", X->V, i, X->zero);
    fprintf(o, "    int j = 0;\n");
    if (dot) {
        fprintf(o, "    for (; j + %d <= kb; j += %d) {\n", U * vb, U * vb);
        emit_prefetch(o, v, R, vb, "        ", 0);
        emit_x86_step(o, v, X, R, U, vb, "        ");
        fprintf(o, "    }\n");
        if (U > 1) {
            fprintf(o, "    for (; j + %d <= kb; j += %d) {\n", vb, vb);
            emit_x86_step(o, v, X, R, 1, vb, "        ");
            fprintf(o, "    }\n");
        }
    } else {
        int steps = p->fold / (4 * U);
        fprintf(o, "    while (j + %d <= kb) { /* int16 lanes take %d maddubs terms (<= 64), then fold */\n", U * vb,
                p->fold);
        for (int i = 0; i < R; i++) fprintf(o, "        %s h%d = %s;\n", X->V, i, X->zero);
        fprintf(o, "        for (int s = 0; s < %d && j + %d <= kb; s++, j += %d) {\n", steps, U * vb, U * vb);
        emit_prefetch(o, v, R, vb, "            ", 0);
        emit_x86_step(o, v, X, R, U, vb, "            ");
        fprintf(o, "        }\n");
        for (int i = 0; i < R; i++) fprintf(o, "        acc%d = %s(acc%d, %s(h%d, ones));\n", i, X->add32, i, X->madd, i);
        fprintf(o, "    }\n");
        if (U > 1) {
            fprintf(o, "    for (; j + %d <= kb; j += %d) { /* 4 terms per lane, folded at once */\n", vb, vb);
            for (int i = 0; i < R; i++) fprintf(o, "        %s h%d = %s;\n", X->V, i, X->zero);
            emit_x86_step(o, v, X, R, 1, vb, "        ");
            for (int i = 0; i < R; i++)
                fprintf(o, "        acc%d = %s(acc%d, %s(h%d, ones));\n", i, X->add32, i, X->madd, i);
            fprintf(o, "    }\n");
        }
    }
    if (vb == 64) {
        /* An odd last block: 256-bit maddubs (AVX2 is implied by AVX-512BW), folded at once; q is not
         * interleaved for a lone block. */
        fprintf(o, "    int32_t tail[%d] = {0};\n", R);
        fprintf(o, "    if (j < kb) { /* one 128-weight block left */\n");
        fprintf(o, "        const __m256i m3y = _mm256_set1_epi8(3), onesy = _mm256_set1_epi16(1);\n");
        for (int g = 0; g < 4; g++)
            fprintf(o, "        const __m256i qt%d = _mm256_loadu_si256((const __m256i *)(q + (size_t)j * 4 + %d));\n",
                    g, 32 * g);
        for (int i = 0; i < R; i++) {
            if (p->il) fprintf(o, "        const __m256i y%d = _mm256_loadu_si256((const __m256i *)(t + (size_t)j * %d + %d));\n", i, R, 32 * i);
            else fprintf(o, "        const __m256i y%d = _mm256_loadu_si256((const __m256i *)(w%d + j));\n", i, i);
            fprintf(o, "        __m256i s%d = _mm256_maddubs_epi16(_mm256_and_si256(y%d, m3y), qt3);\n", i, i);
            for (int g = 0; g < 3; g++)
                fprintf(o, "        s%d = _mm256_add_epi16(s%d, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(y%d, %d), m3y), qt%d));\n",
                        i, i, i, 6 - 2 * g, g);
            fprintf(o, "        tail[%d] = tt_hsum256(_mm256_madd_epi16(s%d, onesy));\n", i, i);
        }
        fprintf(o, "    }\n");
        for (int i = 0; i < R; i++) fprintf(o, "    out[%d] = %s(acc%d) + tail[%d] - sum_q;\n", i, X->hsum, i, i);
    } else {
        for (int i = 0; i < R; i++) fprintf(o, "    out[%d] = %s(acc%d) - sum_q;\n", i, X->hsum, i);
    }
    fprintf(o, "}\n\n");
}

/* ---- ARM (16-byte NEON vectors; a 32-byte block is two) ---- */
static void emit_arm_step(FILE *o, const gen_variant *v, int R, int U, const char *ind)
{
    tt_isa isa = v->x.isa;
    const gen_arm *A = gen_arm_ops();
    for (int u = 0; u < U; u++)
        for (int g = 0; g < 4; g++)
            for (int h = 0; h < 2; h++)
                fprintf(o, "%sconst %s q%d_%d_%d = %s(q + (size_t)(j + %d) * 4 + %d);\n", ind, A->S8, u, g, h, A->ld_s8,
                        32 * u, 32 * g + 16 * h);
    for (int i = 0; i < R; i++)
        for (int u = 0; u < U; u++)
            for (int h = 0; h < 2; h++) {
                char addr[128];
                if (v->x.p.il) snprintf(addr, sizeof addr, "t + (size_t)(j + %d) * %d + %d", 32 * u, R, 32 * i + 16 * h);
                else snprintf(addr, sizeof addr, "w%d + j + %d", i, 32 * u + 16 * h);
                fprintf(o, "%sconst %s x%d_%d_%d = %s(%s);\n", ind, A->U8, i, u, h, A->ld_u8, addr);
                for (int g = 0; g < 4; g++) {
                    char x[32], c[96], tr[160];
                    snprintf(x, sizeof x, "x%d_%d_%d", i, u, h);
                    gen_arm_code(c, sizeof c, x, g);
                    if (isa == TT_ISA_I8MM)
                        fprintf(o, "%sacc%d = %s(acc%d, %s, q%d_%d_%d);\n", ind, i, A->usdot, i, c, u, g, h);
                    else {
                        gen_arm_trit(tr, sizeof tr, c);
                        fprintf(o, "%s{ const %s tr = %s;\n", ind, A->S8, tr);
                        if (isa == TT_ISA_DOTPROD)
                            fprintf(o, "%s  acc%d = %s(acc%d, tr, q%d_%d_%d); }\n", ind, i, A->dot, i, u, g, h);
                        else
                            fprintf(o, "%s  h%d = vmlal_s8(h%d, vget_low_s8(tr), vget_low_s8(q%d_%d_%d));\n"
                                       "%s  h%d = vmlal_high_s8(h%d, tr, q%d_%d_%d); }\n",
                                    ind, i, i, u, g, h, ind, i, i, u, g, h);
                    }
                }
            }
}

static void emit_arm_block_fn(FILE *o, const gen_variant *v, int R, const char *fn)
{
    const tt_params *p = &v->x.p;
    int U = p->unroll, mla = v->x.isa == TT_ISA_NEON;
    const gen_arm *A = gen_arm_ops();
    fprintf(o, "static inline void %s(const uint8_t *wb, const int8_t *q, int kb, int32_t sum_q, int32_t *out)\n{\n", fn);
    gen_arm_i2s_consts(o, "    ");
    if (p->il) fprintf(o, "    const uint8_t *t = wb;\n");
    else
        for (int i = 0; i < R; i++) fprintf(o, "    const uint8_t *w%d = wb + (size_t)%d * kb;\n", i, i);
    for (int i = 0; i < R; i++) fprintf(o, "    %s acc%d = %s(0);\n", A->S32, i, A->dup_s32);
    fprintf(o, "    int j = 0;\n");
    if (!mla) {
        fprintf(o, "    for (; j + %d <= kb; j += %d) {\n", 32 * U, 32 * U);
        emit_prefetch(o, v, R, 32, "        ", 1);
        emit_arm_step(o, v, R, U, "        ");
        fprintf(o, "    }\n");
        if (U > 1) {
            fprintf(o, "    for (; j + 32 <= kb; j += 32) {\n");
            emit_arm_step(o, v, R, 1, "        ");
            fprintf(o, "    }\n");
        }
    } else {
        int steps = p->fold / terms_per_step(v);
        fprintf(o, "    while (j + %d <= kb) { /* int16 lanes take %d products (<= 128), then widen */\n", 32 * U, p->fold);
        for (int i = 0; i < R; i++) fprintf(o, "        int16x8_t h%d = vdupq_n_s16(0);\n", i);
        fprintf(o, "        for (int s = 0; s < %d && j + %d <= kb; s++, j += %d) {\n", steps, 32 * U, 32 * U);
        emit_prefetch(o, v, R, 32, "            ", 1);
        emit_arm_step(o, v, R, U, "            ");
        fprintf(o, "        }\n");
        for (int i = 0; i < R; i++) fprintf(o, "        acc%d = vpadalq_s16(acc%d, h%d);\n", i, i, i);
        fprintf(o, "    }\n");
    }
    for (int i = 0; i < R; i++)
        fprintf(o, "    out[%d] = %s(acc%d)%s;\n", i, A->hsum, i, v->x.isa == TT_ISA_I8MM ? " - sum_q" : "");
    fprintf(o, "    (void)sum_q;\n}\n\n");
}

/* ---- portable scalar ---- */
static void emit_scalar_block_fn(FILE *o, const gen_variant *v, int R, const char *fn)
{
    (void)v;
    fprintf(o, "static inline void %s(const uint8_t *wb, const int8_t *q, int kb, int32_t sum_q, int32_t *out)\n{\n", fn);
    for (int i = 0; i < R; i++) fprintf(o, "    int32_t acc%d = 0;\n", i);
    fprintf(o, "    for (int j = 0; j < kb; j++) {\n");
    fprintf(o, "        const int8_t *qb = q + (j / 32) * 128 + j %% 32;\n");
    fprintf(o, "        const int32_t q0 = qb[0], q1 = qb[32], q2 = qb[64], q3 = qb[96];\n");
    for (int i = 0; i < R; i++)
        fprintf(o, "        { const uint32_t x = wb[(size_t)%d * kb + j];\n"
                   "          acc%d += (int32_t)(x >> 6) * q0 + (int32_t)((x >> 4) & 3) * q1 + (int32_t)((x >> 2) & 3) * q2 + (int32_t)(x & 3) * q3; }\n",
                i, i);
    fprintf(o, "    }\n");
    for (int i = 0; i < R; i++) fprintf(o, "    out[%d] = acc%d - sum_q;\n", i, i);
    fprintf(o, "}\n\n");
}

static void emit_block_fn(FILE *o, const gen_variant *v, int R, const char *fn)
{
    if (v->x.isa == TT_ISA_SCALAR) emit_scalar_block_fn(o, v, R, fn);
    else if (gen_isa_is_arm(v->x.isa)) emit_arm_block_fn(o, v, R, fn);
    else emit_x86_block_fn(o, v, R, fn);
}

static void i2s_emit(FILE *o, const gen_variant *v)
{
    const tt_params *p = &v->x.p;
    int R = p->rows;
    char blk[200], blk1[200];
    snprintf(blk, sizeof blk, "%s_blk%d", v->name, R);
    snprintf(blk1, sizeof blk1, "%s_blk1", v->name);
    emit_block_fn(o, v, R, blk);
    if (R > 1 && !p->il) emit_block_fn(o, v, 1, blk1);
    fprintf(o, "void %s(const tt_gemv_args *a, int32_t *dot, int r0, int r1)\n{\n", v->name);
    fprintf(o, "    assert(a && a->w && a->q && dot && a->k %% 128 == 0 && 0 <= r0 && r0 <= r1 && r1 <= a->m);\n");
    if (p->il) fprintf(o, "    assert(r0 %% %d == 0 && (r1 %% %d == 0 || r1 == a->m));\n", R, R);
    fprintf(o, "    const int kb = a->k / 4;\n");
    fprintf(o, "    const int8_t *q = %s;\n", v->has_prep ? "(const int8_t *)a->ws" : "a->q");
    if (v->has_prep) fprintf(o, "    assert(q);\n");
    fprintf(o, "    int r = r0;\n");
    if (p->il) {
        fprintf(o, "    for (; r < r1; r += %d) {\n", R);
        fprintf(o, "        const uint8_t *t = a->w + (size_t)r * kb; /* tile r/%d, padded to %d rows */\n", R, R);
        fprintf(o, "        if (r + %d <= r1) {\n            %s(t, q, kb, a->sum_q, dot + r);\n", R, blk);
        fprintf(o, "        } else {\n            int32_t tmp[%d];\n            %s(t, q, kb, a->sum_q, tmp);\n", R, blk);
        fprintf(o, "            for (int i = 0; i < r1 - r; i++) dot[r + i] = tmp[i];\n        }\n    }\n");
    } else {
        fprintf(o, "    for (; r + %d <= r1; r += %d) %s(a->w + (size_t)r * kb, q, kb, a->sum_q, dot + r);\n", R, R, blk);
        if (R > 1) fprintf(o, "    for (; r < r1; r++) %s(a->w + (size_t)r * kb, q, kb, a->sum_q, dot + r);\n", blk1);
    }
    fprintf(o, "}\n");
}

static void i2s_prelude(FILE *o, tt_isa isa)
{
    if (gen_isa_is_x86(isa) && isa != TT_ISA_SCALAR) {
        gen_x86_hsum_prelude(o);
    }
}

const gen_family gen_family_i2s = {TT_FMT_I2S, TT_OP_GEMV, i2s_derive, i2s_emit, i2s_prelude};
