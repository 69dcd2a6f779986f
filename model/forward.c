/* forward.c — BitNet b1.58's transformer layer, written once for n tokens at positions pos0.. (decode: n = 1, one
 * GEMV per linear; prefill: a chunk, one GEMM per linear), and tt_model_forward.
 *
 * Forward pass (docs/FORMATS.md §7), per token:
 *     x = embed(token)
 *     per layer:  xb = rmsnorm(x)·attn_norm          quantize once → q, k, v share it
 *                 q, k, v = Wq·xb, Wk·xb, Wv·xb      (ternary: exact int32 dots, then dot / a_s · s_w)
 *                 rope(q, k); cache k, v
 *                 xb = attention(q, cache)           (GQA: n_heads / n_kv_heads query heads share a KV head)
 *                 x += Wo · (rmsnorm(xb)·attn_sub_norm)
 *                 xb = rmsnorm(x)·ffn_norm           quantize once → gate, up share it
 *                 hb = act(Wgate·xb) ⊙ Wup·xb        act = relu(·)² (bitnet-b1.58) or silu (bitnet)
 *                 x += Wdown · (rmsnorm(hb)·ffn_sub_norm)
 *     logits = E · (rmsnorm(x)·output_norm)          E = token_embd (tied LM head, head.c)
 *
 * RoPE: NEOX pairing, element i of a head with element i + rope_dim/2, by the angle pos·θ^(−2i/rope_dim). Both
 * bitnet.cpp's llama.cpp fork (406a5036) and mainline llama.cpp list LLM_ARCH_BITNET under LLAMA_ROPE_TYPE_NEOX
 * (llama_rope_type()), and their HF converters do not permute q/k, so the HF rotate_half order stays in the
 * weights. Adjacent pairs (2i, 2i+1) would be another function: other logits from position 1 on
 * (tests/model/test_golden.c holds the model to bitnet.cpp's own logits; docs/FORMATS.md §7).
 *
 * Every per-token float operation is the same function on the same values in the same order for any n and any
 * thread count, so a chunk gives the bits of n single-token calls (tests/model/test_model.c checks it). The
 * ternary products go through each linear's plan (kernels/tt_plan.h) in linear(), the one place they run. */
#include "model_int.h"
#include "tt_errctx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const prof_names[TT_PROF_COUNT] = {"embed", "elementwise", "quantize", "gemv qkv", "attention",
                                                      "gemv o", "gemv gate+up", "gemv down", "lm head"};
const char *tt_prof_phase_name(tt_prof_phase p) { return (unsigned)p < TT_PROF_COUNT ? prof_names[p] : "?"; }

/* One step: n tokens at positions pos0.. through the layers. */
typedef struct step {
    tt_model *m;
    int n, pos0;
    bool gemm; /* n > 1: one GEMM per linear (else one GEMV) */
    bool prof; /* mark decode phases (tt_model.prof) */
} step;

/* fn(st, t, arg) for every token t: on the calling thread for one token, else tokens split over the pool (each
 * token's work is independent, so the split changes no bit). */
typedef void token_fn(const step *st, int t, void *arg);
typedef struct token_job {
    const step *st;
    token_fn *fn;
    void *arg;
} token_job;

static void token_worker(void *ctx, int tid, int nth)
{
    const token_job *j = ctx;
    int t0, t1;
    tt_split_even(j->st->n, 1, tid, nth, &t0, &t1);
    for (int t = t0; t < t1; t++) j->fn(j->st, t, j->arg);
}

static void each_token(const step *st, token_fn *fn, void *arg)
{
    if (st->n == 1) fn(st, 0, arg);
    else tt_pool_run(st->m->pool, token_worker, &(token_job){st, fn, arg});
}

/* ---- elementwise building blocks ---- */

/* Softmax as ggml computes it (the sum of the exponentials in double, then one multiply by the f32 reciprocal; the
 * exponential and the order of the sum are tritune's, kernels/tt_dense.h), and the weights rounded to f16 as
 * llama.cpp's V·softmax product converts them (its V cache is f16, and ggml converts the other operand of an f16
 * matrix product to f16). */
static void softmax(float *x, int n)
{
    tt_dense_softmax(x, n);
    tt_dense_round_f16(x, n);
}

/* hb = act(hb) ⊙ hb2. ReLU² as a select, not a branch: the sign of a gate is a coin toss, and the branchy form
 * cost ~1 ms per 2B4T token in mispredictions (6912 per layer). Same values: g > 0 gives g·g, anything else
 * (negative, zero, NaN) gives 0·0 = +0. */
static void gated_act(float *hb, const float *hb2, int n, tt_act act)
{
    if (act == TT_ACT_RELU2) {
        tt_dense_relu2_mul(hb, hb2, n); /* a pure select (maxps), then (g·g)·u */
    } else {
        for (int i = 0; i < n; i++) {
            float g = hb[i];
            hb[i] = g / (1.0f + expf(-g)) * hb2[i];
        }
    }
}

void tt_rope_cache(float *cs, int rope_dim, int pos, float theta)
{
    int half = rope_dim / 2;
    float theta_scale = powf(theta, -2.0f / (float)rope_dim), angle = (float)pos;
    for (int i = 0; i < half; i++) {
        cs[i] = cosf(angle);
        cs[half + i] = sinf(angle);
        angle *= theta_scale;
    }
}

/* RoPE (NEOX, see the top of this file) on every head of a q or k vector whose elements lie in [lo, hi): a head's
 * pairs span its first rope_dim elements, so only whole heads are turned; the table is tt_rope_cache's. */
static void rope_heads(float *v, int lo, int hi, int head_dim, int rope_dim, const float *cs)
{
    for (int h = (lo + head_dim - 1) / head_dim; (h + 1) * head_dim <= hi; h++)
        tt_dense_rope(v + (size_t)h * head_dim, cs, rope_dim / 2);
}

/* dst[t] = rmsnorm(src[t]) · w for every token (rows at strides ldd, lds). */
typedef struct norm_arg {
    float *dst;
    const float *src;
    size_t ldd, lds;
    const float *w;
    int dim;
} norm_arg;

static void norm_token(const step *st, int t, void *arg)
{
    const norm_arg *a = arg;
    model_rmsnorm(a->dst + (size_t)t * a->ldd, a->src + (size_t)t * a->lds, a->w, a->dim, st->m->config.norm_eps);
}

static void norm(const step *st, float *dst, size_t ldd, const float *src, size_t lds, const float *w, int dim)
{
    each_token(st, norm_token, &(norm_arg){dst, src, ldd, lds, w, dim});
}

/* ---- the ternary seam: up to three linears sharing one quantized input, rows split over the pool ----
 * A linear's output rows get their float epilogue from the thread that computed them, inside the same pool call,
 * when the split allows it (no other thread reads or writes those rows there, and each element gets the
 * operations the serial code gives it, so this changes no bit); otherwise after the call, token by token. */
typedef enum epilogue {
    EPI_NONE,
    EPI_ROPE,     /* q, k, v: RoPE on the q and k rows, then all of them rounded to f16: q in place, k and v into the
                   * f16 cache (llama.cpp's f16 KV cache) */
    EPI_RESIDUAL, /* one linear: resid[t][r] += y[t][r] */
    EPI_ACT,      /* gate and up: y0[t][r] = act(y0[t][r]) ⊙ y1[t][r] */
} epilogue;

typedef struct lin_part {
    const tt_linear *L;
    int32_t *dot;                /* (n, L's rows) */
    float *y[TT_LINEAR_MAX_SEG]; /* one output per segment of L: row t at y[s] + t·ldy[s] */
    size_t ldy[TT_LINEAR_MAX_SEG];
} lin_part;

typedef struct lin_job {
    const step *st;
    lin_part p[3];
    int np;
    epilogue epi;
    bool epi_here;     /* the epilogue runs in the workers, on their own rows */
    float *resid;      /* EPI_RESIDUAL: rows at stride ldr */
    size_t ldr;
    /* decode only: reads requested before the thread's rows */
    int layer;         /* with attn_pf: the attention that follows (its cache rows) */
    uint16_t *kv[2];   /* EPI_ROPE: the layer's key and value cache (kv_at: head-major rows of head_dim halves) */
    bool attn_pf;
    const float *pf;   /* by thread 0: what the caller reads right after the call */
    int pf_n;
} lin_job;

static void prefetch_bytes(const void *p, size_t n)
{
    for (size_t i = 0; i < n; i += 64) __builtin_prefetch((const char *)p + i, 0, 3);
}

/* The cache rows (positions before pos) this thread's heads read in the attention that follows the q/k/v GEMV,
 * requested before its GEMV rows: the weights that stream through every token evict the whole cache, and the
 * attention would otherwise wait on one miss after another. At most ATTN_PF_BYTES per thread (a long context's
 * rows would only evict each other; the hardware prefetchers follow the rest). */
#define ATTN_PF_BYTES ((size_t)512 << 10)

/* The key or value cache row of layer l, key/value head kvh, position pos: each (layer, head) holds its n_ctx rows
 * of head_dim halves back to back, so a head's attention reads one sequential stream (the rows of all heads of a
 * position side by side made every head's read a stride of n_kv_heads·head_dim: 4 GB/s on the 2-core Xeon VM at
 * 2100 positions, docs/MEASUREMENT.md). */
static uint16_t *kv_at(const tt_model *m, uint16_t *cache, int l, int kvh, int pos)
{
    const tt_model_config *c = &m->config;
    return cache + (((size_t)l * c->n_kv_heads + kvh) * m->n_ctx + pos) * (size_t)c->head_dim;
}

static void attn_prefetch(const tt_model *m, int layer, int pos, int tid, int nth)
{
    const tt_model_config *c = &m->config;
    int hd = c->head_dim, group = c->n_heads / c->n_kv_heads, h0, h1;
    tt_split_even(c->n_heads, 1, tid, nth, &h0, &h1);
    if (h0 >= h1) return;
    int kh0 = h0 / group, kh1 = (h1 - 1) / group + 1;
    size_t row = (size_t)hd * sizeof(uint16_t), heads = (size_t)(kh1 - kh0);
    int n = pos;
    if ((size_t)n * 2 * heads * row > ATTN_PF_BYTES) n = (int)(ATTN_PF_BYTES / (2 * heads * row));
    for (int kvh = kh0; kvh < kh1; kvh++) {
        prefetch_bytes(kv_at(m, m->s.key_cache, layer, kvh, 0), (size_t)n * row);
        prefetch_bytes(kv_at(m, m->s.value_cache, layer, kvh, 0), (size_t)n * row);
    }
}

/* The rows [r0, r1) of L thread tid of nth computes: the GEMV's or the GEMM's split (kernels/tt_plan.h). */
static void part_rows(const tt_linear *L, bool gemm, int tid, int nth, int *r0, int *r1)
{
    if (gemm) tt_plan_split_gemm(&L->plan, tid, nth, r0, r1);
    else tt_plan_split(&L->plan, tid, nth, r0, r1);
}

/* Rows [r0, r1) of a part's int32 dots for token t to floats, each segment with its scale into its own output. */
static void dots_to_out(const lin_part *p, int r0, int r1, float a_s, int t)
{
    const tt_linear *L = p->L;
    const int32_t *dot = p->dot + (size_t)t * L->plan.m;
    for (int sg = 0, base = 0; sg < L->nseg; base += L->seg_m[sg++]) {
        int lo = r0 > base ? r0 : base, hi = r1 < base + L->seg_m[sg] ? r1 : base + L->seg_m[sg];
        if (lo < hi)
            tt_dot_to_float(dot + lo, hi - lo, a_s, L->seg_scale[sg], p->y[sg] + (size_t)t * p->ldy[sg] + (lo - base));
    }
}

/* The epilogue of part i (whose first output is output o of the group) on its rows [r0, r1), token t. EPI_ACT is
 * done per group (act_rows). */
static void epi_rows(const lin_job *j, int i, int o, int r0, int r1, int t)
{
    const lin_part *p = &j->p[i];
    const tt_model_config *c = &j->st->m->config;
    if (j->epi == EPI_ROPE) {
        const float *cs = j->st->m->s.rope_cs + (size_t)t * c->rope_dim;
        for (int sg = 0, base = 0; sg < p->L->nseg && o + sg < 3; base += p->L->seg_m[sg++]) {
            int lo = r0 > base ? r0 : base, hi = r1 < base + p->L->seg_m[sg] ? r1 : base + p->L->seg_m[sg];
            if (lo >= hi) continue;
            float *y = p->y[sg] + (size_t)t * p->ldy[sg];
            if (o + sg < 2) rope_heads(y, lo - base, hi - base, c->head_dim, c->rope_dim, cs);
            if (o + sg == 0) {
                tt_dense_round_f16(y + (lo - base), hi - lo);
                continue;
            }
            const tt_model *m = j->st->m;
            for (int r = lo - base, e; r < hi - base; r = e) { /* row r is element r % hd of key/value head r / hd */
                int kvh = r / c->head_dim;
                e = (kvh + 1) * c->head_dim < hi - base ? (kvh + 1) * c->head_dim : hi - base;
                tt_dense_to_f16(kv_at(m, j->kv[o + sg - 1], 0, kvh, j->st->pos0 + t) + r % c->head_dim, y + r, e - r);
            }
        }
    } else if (j->epi == EPI_RESIDUAL) {
        tt_dense_add(j->resid + (size_t)t * j->ldr + r0, p->y[0] + (size_t)t * p->ldy[0] + r0, r1 - r0);
    }
}

/* EPI_ACT on rows [r0, r1) of token t: the gate is the group's first output, the up the second (a second part, or
 * the second segment of one fused part). */
static void act_rows(const lin_job *j, int r0, int r1, int t)
{
    const lin_part *g = &j->p[0];
    float *gate = g->y[0] + (size_t)t * g->ldy[0];
    const float *up = j->np == 2 ? j->p[1].y[0] + (size_t)t * j->p[1].ldy[0] : g->y[1] + (size_t)t * g->ldy[1];
    gated_act(gate + r0, up + r0, r1 - r0, j->st->m->config.act);
}

static void lin_worker(void *ctx, int tid, int nth)
{
    const lin_job *j = ctx;
    const step *st = j->st;
    tt_run_state *s = &st->m->s;
    if (tid == 0 && j->pf) prefetch_bytes(j->pf, (size_t)j->pf_n * sizeof(float));
    if (j->attn_pf) attn_prefetch(st->m, j->layer, st->pos0, tid, nth);
    int a0 = 0, a1 = 0;
    for (int i = 0, o = 0; i < j->np; o += j->p[i++].L->nseg) {
        const lin_part *p = &j->p[i];
        int r0, r1;
        part_rows(p->L, st->gemm, tid, nth, &r0, &r1);
        if (i == 0) a0 = r0, a1 = r1;
        if (r0 >= r1) continue;
        if (st->gemm) tt_plan_gemm(&p->L->plan, s->xq, s->ldq, s->ws, s->sum_q, st->n, p->dot, r0, r1);
        else tt_plan_gemv(&p->L->plan, s->xq, s->sum_q[0], p->dot, r0, r1);
        for (int t = 0; t < st->n; t++) {
            dots_to_out(p, r0, r1, s->a_s[t], t);
            if (j->epi_here) epi_rows(j, i, o, r0, r1, t);
        }
    }
    if (j->epi == EPI_ACT && j->epi_here && a0 < a1)
        for (int t = 0; t < st->n; t++) act_rows(j, a0, a1, t);
}

/* The epilogue after the pool call, for one token, on all rows. */
static void epi_token(const step *st, int t, void *arg)
{
    (void)st;
    const lin_job *j = arg;
    if (j->epi == EPI_ACT) {
        act_rows(j, 0, j->p[0].L->seg_m[0], t);
        return;
    }
    for (int i = 0, o = 0; i < j->np; o += j->p[i++].L->nseg) epi_rows(j, i, o, 0, j->p[i].L->plan.m, t);
}

/* Whether every split point of L's rows over nth threads falls on a head boundary (NEOX pairs span a head). */
static bool split_on_heads(const tt_linear *L, bool gemm, int nth, int head_dim)
{
    for (int t = 0; t < nth; t++) {
        int r0, r1;
        part_rows(L, gemm, t, nth, &r0, &r1);
        if (r0 % head_dim || (r1 % head_dim && r1 != L->plan.m)) return false;
    }
    return true;
}

/* Whether two linears split their rows over nth threads at the same points. */
static bool same_split(const tt_linear *a, const tt_linear *b, bool gemm, int nth)
{
    if (a->plan.m != b->plan.m) return false;
    for (int t = 0; t < nth; t++) {
        int a0, a1, b0, b1;
        part_rows(a, gemm, t, nth, &a0, &a1);
        part_rows(b, gemm, t, nth, &b0, &b1);
        if (a0 != b0 || a1 != b1) return false;
    }
    return true;
}

/* Per-token quantization (and GEMM prep) of a chunk, tokens split over the pool. */
typedef struct quant_arg {
    const float *x;
    size_t ldx;
    int k;
    tt_prep_fn prep;
} quant_arg;

static void quant_token(const step *st, int t, void *arg)
{
    const quant_arg *a = arg;
    tt_run_state *s = &st->m->s;
    int8_t *q = s->xq + (size_t)t * s->ldq;
    tt_quant_act(a->x + (size_t)t * a->ldx, a->k, q, &s->a_s[t], &s->sum_q[t]);
    if (a->prep) a->prep(q, a->k, (int8_t *)s->ws + (size_t)t * s->ldq);
}

/* y_i = W_i · x for the np linears of one group (same K): x (rows at stride ldx) quantized once per token
 * (docs/FORMATS.md §1); y holds one output per segment, linear after linear (a fused linear has several), at
 * strides ldy. j carries the epilogue and the decode's prefetches; phase is the decode profile's. */
static void linear(const step *st, const float *x, size_t ldx, int k, int np, const tt_linear *const *L,
                   float *const *y, const size_t *ldy, lin_job j, tt_prof_phase phase)
{
    tt_model *m = st->m;
    tt_run_state *s = &m->s;
    int nth = m->threads;
    model_prof_mark(m, st->prof, TT_PROF_ELEMWISE);
    j.st = st, j.np = np;
    quant_arg qa = {x, ldx, k, NULL};
    int32_t *dot = s->dot;
    for (int i = 0, o = 0; i < np; o += L[i++]->nseg) {
        j.p[i] = (lin_part){.L = L[i], .dot = dot};
        for (int sg = 0; sg < L[i]->nseg; sg++) j.p[i].y[sg] = y[o + sg], j.p[i].ldy[sg] = ldy[o + sg];
        dot += (size_t)st->n * L[i]->plan.m;
        /* every I2_S GEMM prep is the same function (tt_i2s_prep_q256): the chunk is prepped once */
        const tt_variant *vg = L[i]->plan.vg;
        if (st->gemm && vg->prep) {
            if (qa.prep && vg->prep != qa.prep) fprintf(stderr, "tritune: two different GEMM preps in one linear group\n");
            qa.prep = vg->prep;
        }
    }
    /* Where the epilogue runs: in the workers on their own rows when the plans' splits allow it, which their
     * granules make the rule (load.c: whole heads for q/k/v, matching gate/up splits); after the call otherwise
     * (a fused gate/up: a thread's rows are gate rows or up rows). */
    switch (j.epi) {
    case EPI_NONE: j.epi_here = false; break;
    case EPI_RESIDUAL: j.epi_here = true; break;
    case EPI_ACT: j.epi_here = np == 2 && same_split(L[0], L[1], st->gemm, nth); break;
    case EPI_ROPE:
        j.epi_here = true;
        for (int i = 0; i < np && i < 2; i++) j.epi_here &= split_on_heads(L[i], st->gemm, nth, m->config.head_dim);
        break;
    }
    each_token(st, quant_token, &qa); /* one token: on the caller; a chunk: over the pool */
    if (st->gemm) j.attn_pf = false, j.pf = NULL;
    else
        for (int i = 0; i < np; i++) tt_plan_prep(&L[i]->plan, s->xq);
    model_prof_mark(m, st->prof, TT_PROF_QUANT);
    tt_pool_run(m->pool, lin_worker, &j);
    model_prof_mark(m, st->prof, phase);
    if (j.epi != EPI_NONE && !j.epi_here) each_token(st, epi_token, &j);
}

/* ---- the layer's operations, named as the layer calls them ---- */

/* The linears of a layer's q/k/v group and gate/up group: one fused linear each, or the parts. Returns the counts. */
static void layer_groups(const tt_layer_weights *w, const tt_linear **qkv, int *nqkv, const tt_linear **gu, int *ngu)
{
    bool fq = w->wqkv.plan.m, fg = w->w_gate_up.plan.m;
    qkv[0] = fq ? &w->wqkv : &w->wq, qkv[1] = &w->wk, qkv[2] = &w->wv;
    gu[0] = fg ? &w->w_gate_up : &w->w_gate, gu[1] = &w->w_up;
    *nqkv = fq ? 1 : 3, *ngu = fg ? 1 : 2;
}

/* q = Wq·xb, k = Wk·xb, v = Wv·xb; RoPE on q and k; q, k, v rounded to f16. k and v land in the cache. */
static void linear_qkv_rope(const step *st, int l)
{
    tt_model *m = st->m;
    tt_run_state *s = &m->s;
    const tt_model_config *c = &m->config;
    const tt_layer_weights *w = &m->w.layers[l];
    size_t D = (size_t)c->dim, H = (size_t)c->hidden_dim, qd = (size_t)c->n_heads * c->head_dim,
           kvd = (size_t)c->n_kv_heads * c->head_dim, wide = D > H ? D : H;
    const tt_linear *qkv[3], *gu[2];
    int nqkv, ngu;
    layer_groups(w, qkv, &nqkv, gu, &ngu);
    uint16_t *kc = kv_at(m, s->key_cache, l, 0, 0), *vc = kv_at(m, s->value_cache, l, 0, 0);
    linear(st, s->xb, wide, c->dim, nqkv, qkv, (float *const[]){s->q, s->kb, s->vb}, (const size_t[]){qd, kvd, kvd},
           (lin_job){.epi = EPI_ROPE, .layer = l, .attn_pf = true, .pf = w->attn_sub_norm, .pf_n = (int)qd,
                     .kv = {kc, vc}},
           TT_PROF_QKV);
}

/* hb = act(Wgate·xb) ⊙ Wup·xb */
static void linear_gate_up_act(const step *st, int l)
{
    tt_model *m = st->m;
    tt_run_state *s = &m->s;
    const tt_model_config *c = &m->config;
    const tt_layer_weights *w = &m->w.layers[l];
    size_t D = (size_t)c->dim, H = (size_t)c->hidden_dim, wide = D > H ? D : H;
    const tt_linear *qkv[3], *gu[2];
    int nqkv, ngu;
    layer_groups(w, qkv, &nqkv, gu, &ngu);
    linear(st, s->xb, wide, c->dim, ngu, gu, (float *const[]){s->hb, s->hb2}, (const size_t[]){H, H},
           (lin_job){.epi = EPI_ACT, .pf = w->ffn_sub_norm, .pf_n = c->hidden_dim}, TT_PROF_GATE_UP);
}

/* x += W·in (in: rows of k at stride ldin); next: what the caller reads right after (prefetched in decode). */
static void linear_add_residual(const step *st, const float *in, size_t ldin, int k, const tt_linear *W,
                                const float *next, tt_prof_phase phase)
{
    tt_run_state *s = &st->m->s;
    size_t D = (size_t)st->m->config.dim;
    linear(st, in, ldin, k, 1, (const tt_linear *const[]){W}, (float *const[]){s->xb2}, (const size_t[]){D},
           (lin_job){.epi = EPI_RESIDUAL, .resid = s->x, .ldr = D, .pf = next, .pf_n = (int)D}, phase);
}

/* xb[t] = softmax(q[t]·Kᵀ/√hd)·V over positions 0..pos0+t (causal), per head; the cache holds the whole chunk.
 * Scores in the fixed order of tt_dense_dot_f32 (16 lanes, then a tree; the float reference sums the same way),
 * then Σ att[i]·v_i in increasing i (kernels/tt_dense.h). Heads split over the pool; a thread's heads that share a
 * key/value head go through one grouped call. */
typedef struct attn_job {
    const step *st;
    int layer;
} attn_job;

static void attn_worker(void *ctx, int tid, int nth)
{
    const attn_job *j = ctx;
    tt_model *m = j->st->m;
    const tt_model_config *c = &m->config;
    tt_run_state *s = &m->s;
    int hd = c->head_dim, qd = c->n_heads * hd, group = c->n_heads / c->n_kv_heads, h0, h1;
    float scale = 1.0f / sqrtf((float)hd);
    tt_split_even(c->n_heads, 1, tid, nth, &h0, &h1);
    /* the thread's heads in runs that share a key/value head: each run reads the cache rows once */
    for (int h = h0, G; h < h1; h += G) {
        int kvh = h / group, end = (kvh + 1) * group < h1 ? (kvh + 1) * group : h1;
        const uint16_t *kh = kv_at(m, s->key_cache, j->layer, kvh, 0), *vh = kv_at(m, s->value_cache, j->layer, kvh, 0);
        float *att = s->att + (size_t)h * m->n_ctx;
        G = end - h;
        for (int t = 0; t < j->st->n; t++) {
            int pos = j->st->pos0 + t;
            tt_dense_scores_f16_g(s->q + (size_t)t * qd + h * hd, G, kh, (size_t)hd, pos + 1, hd, scale, att,
                                  (size_t)m->n_ctx);
            for (int g = 0; g < G; g++) softmax(att + (size_t)g * m->n_ctx, pos + 1);
            tt_dense_weighted_sum_f16_g(att, (size_t)m->n_ctx, G, vh, (size_t)hd, pos + 1, hd,
                                        s->xb + (size_t)t * qd + h * hd);
        }
    }
}

static void attention(const step *st, int l)
{
    model_prof_mark(st->m, st->prof, TT_PROF_ELEMWISE);
    tt_pool_run(st->m->pool, attn_worker, &(attn_job){st, l});
    model_prof_mark(st->m, st->prof, TT_PROF_ATTN);
}

/* ---- the layer ---- shapes per token; D = dim, H = hidden_dim, qd = n_heads·head_dim, W = max(D, H) rows */
static void layer(const step *st, int l)
{
    tt_model *m = st->m;
    tt_run_state *s = &m->s;
    const tt_model_config *c = &m->config;
    const tt_layer_weights *w = &m->w.layers[l];
    int D = c->dim, H = c->hidden_dim, qd = c->n_heads * c->head_dim;
    size_t wide = (size_t)(D > H ? D : H);
    const float *next_norm = l + 1 < c->n_layers ? m->w.layers[l + 1].attn_norm : m->w.output_norm;
    /* attention */
    norm(st, s->xb, wide, s->x, D, w->attn_norm, D);             /* xb = rmsnorm(x)·attn_norm            (D)  */
    linear_qkv_rope(st, l);                                      /* q, k, v; RoPE; k, v into the cache   (qd, kvd, kvd) */
    attention(st, l);                                            /* xb = attention(q, cache)             (qd) */
    norm(st, s->xb, qd, s->xb, qd, w->attn_sub_norm, qd);        /* xb = rmsnorm(xb)·attn_sub_norm       (qd) */
    linear_add_residual(st, s->xb, qd, qd, &w->wo, w->ffn_norm, TT_PROF_WO); /* x += Wo·xb          (D)  */
    /* feed-forward */
    norm(st, s->xb, wide, s->x, D, w->ffn_norm, D);              /* xb = rmsnorm(x)·ffn_norm             (D)  */
    linear_gate_up_act(st, l);                                   /* hb = act(Wgate·xb) ⊙ Wup·xb          (H)  */
    norm(st, s->hb, H, s->hb, H, w->ffn_sub_norm, H);            /* hb = rmsnorm(hb)·ffn_sub_norm        (H)  */
    linear_add_residual(st, s->hb, H, H, &w->w_down, next_norm, TT_PROF_DOWN); /* x += Wdown·hb     (D)  */
}

void model_step(tt_model *m, const int *tokens, int n, int pos0, bool prof)
{
    const tt_model_config *c = &m->config;
    tt_run_state *s = &m->s;
    step st = {.m = m, .n = n, .pos0 = pos0, .gemm = n > 1, .prof = prof};
    for (int t = 0; t < n; t++) {
        model_embed_row(m->w.token_embd, c->dim, tokens[t], s->x + (size_t)t * c->dim);
        tt_rope_cache(s->rope_cs + (size_t)t * c->rope_dim, c->rope_dim, pos0 + t, c->rope_theta);
    }
    model_prof_mark(m, prof, TT_PROF_EMBED);
    for (int l = 0; l < c->n_layers; l++) layer(&st, l);
}

tt_status tt_model_forward(tt_model *m, int token, int pos, bool want_logits)
{
    if (!m) return tt_fail(TT_ERR_NULL, "tt_model_forward: NULL model");
    const tt_model_config *c = &m->config;
    if (token < 0 || token >= c->vocab_size)
        return tt_fail(TT_ERR_VALUE, "token %d outside the vocabulary of %d", token, c->vocab_size);
    if (pos < 0 || pos >= m->n_ctx) return tt_fail(TT_ERR_VALUE, "position %d outside the context of %d", pos, m->n_ctx);
    if (m->prof) m->prof_t = model_prof_now();
    model_step(m, &token, 1, pos, m->prof);
    if (want_logits) model_head_logits(m, m->s.x, m->prof);
    else model_prof_mark(m, m->prof, TT_PROF_ELEMWISE);
    return TT_OK;
}
