/* head.c — the LM head: logits = E · (rmsnorm(x)·output_norm), E = token_embd (tied, as in llama.cpp's and
 * bitnet.cpp's bitnet graphs). Its kernel is a member of the head family (kernels/tt_dense.h) picked from the
 * wisdom (tt_pick_head: the tuner races the heads like any other kernel); nothing is timed at load. The input is
 * rounded as llama.cpp's product with token_embd rounds it (f16 for an f16 head, q8_0 blocks for a q8_0 or q4_0
 * head, Q8_K blocks for a q6_K head: tt_q32.h, tt_q6k.h). */
#include "model_int.h"
#include "tt_baked.h"
#include "tt_errctx.h"
#include "tt_half.h"
#include "tt_q32.h"
#include "tt_q6k.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The head family's kind for this model's head: the requantized copy (i8) or the file's type as stored. */
static int head_kind(const tt_model *m)
{
    if (m->lm_head == TT_LM_HEAD_Q8) return TT_DENSE_I8;
    switch (m->w.token_embd->type) {
    case TT_GGML_F16: return TT_DENSE_F16;
    case TT_GGML_Q6_K: return TT_DENSE_Q6K;
    case TT_GGML_Q8_0: return TT_DENSE_Q80;
    case TT_GGML_Q4_0: return TT_DENSE_Q40;
    default: return -1; /* f32: the portable loop in head_worker */
    }
}

size_t model_head_row_bytes(const tt_model *m)
{
    int kind = head_kind(m), dim = m->config.dim;
    if (kind < 0) return (size_t)dim * 4;                     /* f32 */
    return tt_dense_row_bytes((tt_dense_kind)kind, dim) + (kind == TT_DENSE_I8 ? 4 : 0); /* i8: + its f32 row scale */
}

tt_status model_head_build_q8(tt_model *m)
{
    int V = m->config.vocab_size, D = m->config.dim;
    m->w.head_q8 = tt_alloc((size_t)V * D);
    m->w.head_q8_scale = tt_alloc((size_t)V * sizeof(float));
    float *row = malloc((size_t)D * sizeof *row);
    if (!m->w.head_q8 || !m->w.head_q8_scale || !row) {
        free(row);
        return tt_fail(TT_ERR_NOMEM, "LM head q8: no memory for %dx%d", V, D);
    }
    for (int r = 0; r < V; r++) { /* absmax per row: s = max|e|/127, q = round(e/s) */
        model_embed_row(m->w.token_embd, D, r, row);
        float amax = 0;
        for (int i = 0; i < D; i++) amax = fmaxf(amax, fabsf(row[i]));
        float s = amax / 127.0f, inv = s > 0 ? 1.0f / s : 0.0f;
        int8_t *q = m->w.head_q8 + (size_t)r * D;
        for (int i = 0; i < D; i++) q[i] = (int8_t)lrintf(row[i] * inv);
        m->w.head_q8_scale[r] = s;
    }
    free(row);
    return TT_OK;
}
void model_embed_row(const tt_gguf_tensor *te, int dim, int token, float *x)
{
    if (te->type == TT_GGML_F32) {
        memcpy(x, te->data + (size_t)token * dim * 4, (size_t)dim * 4);
    } else if (te->type == TT_GGML_F16) {
        const uint16_t *p = (const uint16_t *)(te->data + (size_t)token * dim * 2); /* data is 32-byte aligned */
        for (int i = 0; i < dim; i++) x[i] = tt_half_to_float_vec(p[i]);
    } else if (te->type == TT_GGML_Q4_0) {
        tt_q40_dequant(te->data + (size_t)token * (dim / TT_Q40_BLOCK) * TT_Q40_BYTES, dim, x);
    } else if (te->type == TT_GGML_Q6_K) {
        tt_q6k_dequant(te->data + (size_t)token * (dim / TT_Q6K_BLOCK) * TT_Q6K_BYTES, dim, x);
    } else { /* q8_0 */
        const uint8_t *p = te->data + (size_t)token * (dim / 32) * TT_Q8_0_BYTES;
        for (int b = 0; b < dim / 32; b++, p += TT_Q8_0_BYTES) {
            float d = tt_half_to_float_vec((uint16_t)(p[0] | p[1] << 8));
            for (int i = 0; i < 32; i++) x[b * 32 + i] = d * (float)(int8_t)p[2 + i];
        }
    }
}

/* TRITUNE_HEAD_KERNEL, checked before the weights are loaded (a typo should not cost a load). */
tt_status model_head_forced(tt_dense_kind kind, const char *name, const tt_dense_variant **out)
{
    const char *forced = name ? name : getenv("TRITUNE_HEAD_KERNEL");
    const char *what = name ? "head kernel" : "TRITUNE_HEAD_KERNEL";
    *out = NULL;
    if (!forced || !*forced) return TT_OK;
    const tt_dense_variant *v = tt_dense_variant_find(forced);
    const bool wrong = v && (int)kind >= 0 && v->kind != kind; /* kind < 0: any (checked before the file is read) */
    if (!v || wrong || !tt_dense_variant_usable(v))
        return tt_fail(TT_ERR_VALUE, "%s=%s: %s", what, forced,
                       !v ? "no such head kernel" : wrong ? "not a kernel for this LM-head format"
                                                          : "needs an ISA this CPU lacks");
    *out = v;
    return TT_OK;
}

/* The LM head's input as llama.cpp's product with token_embd sees it: converted to f16 for an f16 head, to q8_0
 * blocks for a q8_0 or q4_0 head, to Q8_K blocks for a q6_K head (tt_qin_quantize into tt_run_state.head_in); as it
 * is for f32 and for the requantized q8 head. */
void model_head_input(tt_model *m, float *x)
{
    int kind = head_kind(m);
    if (kind == TT_DENSE_F16) tt_dense_round_f16(x, m->config.dim);
    else if (kind >= 0 && tt_dense_kind_quantized((tt_dense_kind)kind))
        tt_qin_quantize((tt_dense_kind)kind, x, m->config.dim, &m->s.head_in);
}

/* LM-head row dots. The row streams from memory once per token (657 MB for 2B4T in f16), so these loops must
 * vectorize: LANES independent partial sums (a float reduction does not vectorize without reassociation). */
#define LANES 16

static float sum_lanes(const float *l)
{
    float s = 0.0f;
    for (int j = 0; j < LANES; j++) s += l[j];
    return s;
}

static float dot_f32(const float *w, const float *x, int n)
{
    float l[LANES] = {0};
    for (int i = 0; i < n; i += LANES)
        for (int j = 0; j < LANES; j++) l[j] += w[i + j] * x[i + j];
    return sum_lanes(l);
}

typedef struct head_job {
    const tt_model *m;
    const float *x;
    const tt_dense_variant *v; /* the head kernel; NULL for an f32 file head */
    int a, b;                  /* the rows [a, b) of the vocabulary, split over the threads */
    _Atomic int next;          /* rows of [a, b) handed out so far (tt_guided_take) */
} head_job;

static void head_worker(void *ctx, int tid, int nth)
{
    head_job *j = ctx;
    const tt_model *m = j->m;
    const tt_gguf_tensor *te = m->w.token_embd;
    int D = m->config.dim, r0, r1;
    float *logits = m->s.logits;
    if (j->v) { /* a member of the head family (kernels/tt_dense.h, model_head_pick): its kind's portable bits, on
                 * whatever rows; the rows handed out guided (TT_HEAD_TAKE) */
        const void *w = model_head_weights(m, j->v);
        while (tt_guided_take(&j->next, j->b - j->a, 64, TT_HEAD_TAKE, nth, &r0, &r1))
            tt_dense_run(j->v, w, m->w.head_q8_scale, j->x, &m->s.head_in, D, logits, j->a + r0, j->a + r1);
        return;
    }
    tt_split_even(j->b - j->a, 64, tid, nth, &r0, &r1);
    r0 += j->a, r1 += j->a;
    for (int r = r0; r < r1; r++) logits[r] = dot_f32((const float *)(te->data + (size_t)r * D * 4), j->x, D);
}

bool model_head_copy_rows(tt_model *m)
{
    /* The file's head streams once per token (657 MB for 2B4T). A file mapping has 4 KiB pages; an anonymous copy gets
     * transparent huge pages (tt_alloc), which streamed ~8 % faster here. */
    tt_model_weights *w = &m->w;
    const tt_gguf_tensor *te = w->token_embd;
    if (!(w->embd_data = tt_alloc(te->nbytes))) return false;
    memcpy(w->embd_data, te->data, te->nbytes);
    w->embd_copy = *te;
    w->embd_copy.data = w->embd_data;
    w->token_embd = &w->embd_copy;
    return true;
}

const void *model_head_weights(const tt_model *m, const tt_dense_variant *v)
{
    if (v->kind == TT_DENSE_I8) return m->w.head_q8;
    return v->il ? (const void *)m->w.head_il : (const void *)m->w.token_embd->data;
}

/* After load, a copy made for another head kernel is placed as the model's weights were (tt_model_open), so that
 * kernels raced on one model (bench-ab) read equally placed bytes; placement is best effort. */
static void place_later(const tt_model *m, uint64_t seq, bool picking)
{
    tt_place_report pr;
    if (!picking && m->placed_rounds > 0) (void)tt_alloc_place(seq, m->placed_rounds, &pr);
}

tt_status model_head_prepare(tt_model *m, const tt_dense_variant *v, bool picking)
{
    tt_model_weights *w = &m->w;
    const int V = m->config.vocab_size, D = m->config.dim;
    if (!v || v->kind == TT_DENSE_I8) return TT_OK;
    const uint64_t seq = tt_alloc_seq();
    if (!v->il) {
        if (w->embd_data || picking || m->lm_head != TT_LM_HEAD_FILE) return TT_OK;
        /* only the file's mapping is left (an _il member was picked at load): the rows on huge pages again */
        if (model_head_copy_rows(m)) place_later(m, seq, picking);
        return TT_OK;
    }
    if (!w->head_il) {
        if (!(w->head_il = tt_alloc(tt_dense_packed_bytes(v, V, D))))
            return tt_fail(TT_ERR_NOMEM, "LM head: no memory for the %s copy of %dx%d (%s)", "interleaved", V, D, v->name);
        tt_dense_pack(v, w->token_embd->data, V, D, w->head_il);
        place_later(m, seq, picking);
    }
    if (picking && w->embd_data) { /* embedding rows from the file's mapping from now on, as with a q8 head */
        w->token_embd = tt_gguf_find_tensor(m->gguf, "token_embd.weight");
        tt_free(w->embd_data);
        w->embd_data = NULL;
    }
    return TT_OK;
}

tt_status tt_model_head_use(tt_model *m, const tt_dense_variant *v)
{
    if (!m || !v) return tt_fail(TT_ERR_NULL, "tt_model_head_use: NULL argument");
    if (!m->head_v || v->kind != m->head_v->kind)
        return tt_fail(TT_ERR_VALUE, "head kernel %s: not a kernel for this LM-head format", v->name);
    tt_status st = model_head_prepare(m, v, false);
    if (!st) m->head_v = v;
    return st;
}

/* How member v reads the head, for the note. */
static const char *head_as(const tt_model *m, const tt_dense_variant *v)
{
    if (m->lm_head == TT_LM_HEAD_Q8) return "requantized";
    return v->il ? "in the file, its blocks interleaved 16 rows at load" : "in the file, read as stored";
}

/* The LM head's kernel: TRITUNE_HEAD_KERNEL=name forces one; otherwise tt_pick_head: the tuner's head winner for
 * this head (kind, vocab x dim, threads) from the wisdom or the baked table, else the static default, which the
 * load-time calibration (calib.c) may replace by a member it measured faster (head_untuned marks that case). */
tt_status model_head_pick(tt_model *m, const char *name)
{
    const tt_gguf_tensor *te = m->w.token_embd;
    int kind = head_kind(m);
    m->head_v = NULL;
    if (kind < 0) {
        snprintf(m->head_note, sizeof m->head_note, "portable loop (%s head in the file)", tt_ggml_type_name(te->type));
        return TT_OK;
    }
    const tt_dense_variant *v = NULL;
    tt_status st = model_head_forced((tt_dense_kind)kind, name, &v);
    if (st) return st;
    if (v) {
        m->head_v = v;
        snprintf(m->head_note, sizeof m->head_note, "%s (%s; %s head %s)", v->name,
                 name ? "asked for" : "TRITUNE_HEAD_KERNEL", tt_dense_kind_name((tt_dense_kind)kind), head_as(m, v));
        return model_head_prepare(m, v, true);
    }
    char why[120];
    m->head_v = tt_pick_head((tt_dense_kind)kind, m->config.vocab_size, m->config.dim, m->threads, why, sizeof why,
                             &m->head_untuned);
    snprintf(m->head_note, sizeof m->head_note, "%s (%s; %s head %s)", m->head_v->name, why,
             tt_dense_kind_name((tt_dense_kind)kind), head_as(m, m->head_v));
    return model_head_prepare(m, m->head_v, true);
}

void model_head_rows(tt_model *m, const tt_dense_variant *v, const float *x, int a, int b)
{
    tt_pool_run(m->pool, head_worker, &(head_job){m, x, v, a, b, 0});
}

int tt_argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}


void model_head_logits(tt_model *m, const float *x, bool prof)
{
    tt_run_state *s = &m->s;
    model_rmsnorm(s->xb, x, m->w.output_norm, m->config.dim, m->config.norm_eps);
    model_prof_mark(m, prof, TT_PROF_ELEMWISE);
    model_head_input(m, s->xb);
    tt_pool_run(m->pool, head_worker, &(head_job){m, s->xb, m->head_v, 0, m->config.vocab_size, 0});
    model_prof_mark(m, prof, TT_PROF_HEAD);
}
