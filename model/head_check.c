/* head_check.c — tt_model_head_error (model.h): the requantized 8-bit LM head against the file's own head. */
#include "model_int.h"
#include "tt_errctx.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The file head's kernel, as a model opened with it would pick it; the requantized head's state is left as it was. */
static tt_status file_head_kernel(tt_model *m, const tt_dense_variant **out)
{
    tt_lm_head lm = m->lm_head;
    const tt_dense_variant *hv = m->head_v;
    char note[sizeof m->head_note];
    memcpy(note, m->head_note, sizeof note);
    m->lm_head = TT_LM_HEAD_FILE;
    tt_status st = model_head_pick(m, NULL);
    *out = m->head_v;
    m->lm_head = lm, m->head_v = hv;
    memcpy(m->head_note, note, sizeof note);
    return st;
}

/* The file head's logits for the residual stream x through its kernel fv (its input rounding included). */
static void file_head_logits(tt_model *m, const tt_dense_variant *fv, const float *x)
{
    const tt_dense_variant *hv = m->head_v;
    m->lm_head = TT_LM_HEAD_FILE, m->head_v = fv;
    model_head_logits(m, x, false);
    m->lm_head = TT_LM_HEAD_Q8, m->head_v = hv;
}

tt_status tt_model_head_error(tt_model *m, int positions, tt_head_error *e)
{
    memset(e, 0, sizeof *e);
    if (m->lm_head != TT_LM_HEAD_Q8) return tt_fail(TT_ERR_VALUE, "head check: the model reads the file's head itself");
    const int V = m->config.vocab_size;
    int n = positions < m->n_ctx ? positions : m->n_ctx;
    float *q8 = malloc(sizeof(float) * (size_t)V);
    if (!q8) return tt_fail(TT_ERR_NOMEM, "head check: %d logits", V);
    snprintf(e->file_head, sizeof e->file_head, "%s", tt_ggml_type_name(m->w.token_embd->type));
    uint64_t s = TT_HEAD_CHECK_SEED;
    double sum_abs = 0, sum = 0, sum2 = 0;
    const tt_dense_variant *fv;
    tt_status st = file_head_kernel(m, &fv);
    for (int pos = 0; pos < n && !st; pos++) {
        int token = (int)(tt_rand_next(&s) % (uint64_t)V);
        if ((st = tt_model_forward(m, token, pos, true))) break;
        memcpy(q8, m->s.logits, sizeof(float) * (size_t)V);
        file_head_logits(m, fv, m->s.x);
        const float *ref = m->s.logits;
        e->top1_agree += tt_argmax(ref, V) == tt_argmax(q8, V);
        for (int i = 0; i < V; i++) {
            double d = fabs((double)q8[i] - ref[i]);
            sum_abs += d;
            if (d > e->max_abs) e->max_abs = d;
            sum += ref[i], sum2 += (double)ref[i] * ref[i];
        }
        e->positions++;
    }
    /* the file's head pages were read again: drop them from the resident set as the load did */
    model_release_pages(m->gguf, m->w.token_embd->data, m->w.token_embd->nbytes);
    if (e->positions) {
        double cnt = (double)e->positions * V, mean = sum / cnt;
        e->mean_abs = sum_abs / cnt;
        e->logit_std = sqrt(fmax(0.0, sum2 / cnt - mean * mean));
    }
    /* the last logits are the file head's: put the requantized head's back, as the caller expects them */
    if (!st && e->positions) memcpy(m->s.logits, q8, sizeof(float) * (size_t)V);
    free(q8);
    return st;
}
