/* model_int.h — what the model's own files share (not installed, not for callers of model.h).
 *
 *   load.c     config, architecture table, weights (plans), run state, open/close
 *   calib.c    the load-time calibration of untuned kernels (called by load.c at the end of tt_model_open)
 *   forward.c  the layer, written once for n tokens, and tt_model_forward (decode: n = 1)
 *   prefill.c  tt_model_prefill: chunks of m->batch tokens through the same layer
 *   head.c     the LM head: its kernel (tt_pick_head), the input rounding llama.cpp applies, the row dots
 *   head_check.c  tt_model_head_error: a requantized head against the file's own, on a fixed token sequence
 *
 * Data flows load → forward/prefill → head; no file calls back into one before it. */
#ifndef TT_MODEL_INT_H
#define TT_MODEL_INT_H

#include "model.h"
#include "tt_dense.h"

#include <math.h>
#include <time.h>

/* load.c: the per-token buffers hold at least n rows (1 from tt_model_open; grown to m->batch by the first
 * batched prefill). */
tt_status model_state_reserve(tt_model *m, int n);
/* load.c: drop the pages [p, p+n) of the file mapping from the resident set (they are read again from the file if
 * touched). */
void model_release_pages(const tt_gguf *g, const uint8_t *p, size_t n);

/* forward.c: embed tokens[0..n) at positions pos0.. and run every layer on them (one GEMV per linear when n = 1,
 * one GEMM per linear otherwise); the residual streams end in m->s.x, row t at t·dim. prof: mark decode phases. */
void model_step(tt_model *m, const int *tokens, int n, int pos0, bool prof);

/* head.c */
/* The head kernel named by `name` (NULL: TRITUNE_HEAD_KERNEL), checked against kind (< 0: any kind); *out NULL when
 * none is named. */
tt_status model_head_forced(tt_dense_kind kind, const char *name, const tt_dense_variant **out);
/* The head's kernel: `name` (NULL: TRITUNE_HEAD_KERNEL), else the wisdom's winner or the default. */
tt_status model_head_pick(tt_model *m, const char *name);
tt_status model_head_build_q8(tt_model *m);   /* the requantized 8-bit head (--lm-head q8) */
/* The file's head rows into an anonymous copy (m->w.embd_data, token_embd repointed to it); false without memory for
 * it (the file's mapping stays in use). */
bool model_head_copy_rows(tt_model *m);
/* The bytes head member v reads: the requantized rows (i8), the interleaved copy (_il members) or token_embd's rows. */
const void *model_head_weights(const tt_model *m, const struct tt_dense_variant *v);
/* Makes the bytes v reads (model_head_weights): an _il member's interleaved copy, packed from token_embd. picking
 * (model_head_pick): the rows' huge-page copy is then freed (embedding rows are read from the file's mapping, as with
 * a q8 head); otherwise (tt_model_head_use) a member on the rows as stored gets that copy back if it is gone. */
tt_status model_head_prepare(tt_model *m, const struct tt_dense_variant *v, bool picking);
size_t model_head_row_bytes(const tt_model *m);
/* m->s.logits = E · (rmsnorm(x)·output_norm), x one residual stream (dim) */
void model_head_logits(tt_model *m, const float *x, bool prof);
void model_embed_row(const tt_gguf_tensor *te, int dim, int token, float *x);
/* x (dim) made the head's input in place (rounded to f16, or quantized into m->s.head_in); then rows [a, b) of the
 * head through member v (of the head's kind) into m->s.logits, split over the pool. */
void model_head_input(tt_model *m, float *x);
void model_head_rows(tt_model *m, const tt_dense_variant *v, const float *x, int a, int b);

/* calib.c: where the model runs untuned (no usable tuned winner), the load-time calibration: the untuned GEMV
 * plans' software prefetch distance (tt_variant_pf_sibling: the same packed bytes) and the head's member, each timed
 * on the model's own weights in `passes` interleaved passes; a candidate replaces the static default only when at
 * least TT_CALIB_GAIN faster. Fills m->calib_note. Nothing it picks changes a bit of the output. */
void model_calibrate(tt_model *m, int passes);

/* o = x / sqrt(mean(x²) + eps) · w, in tt_dense_dot_f32's order (the float reference sums the same way). */
static inline void model_rmsnorm(float *o, const float *x, const float *w, int n, float eps)
{
    float ss = tt_dense_dot_f32(x, x, n);
    float inv = 1.0f / sqrtf(ss / (float)n + eps);
    tt_dense_scale_mul(o, x, inv, w, n); /* o[i] = x[i] * inv * w[i] */
}

/* ---- decode profile (tt_model.prof): wall time on the calling thread between marks ---- */
static inline long model_prof_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* time since the last mark goes to phase p */
static inline void model_prof_mark(tt_model *m, bool prof, tt_prof_phase p)
{
    if (!prof) return;
    long t = model_prof_now();
    m->prof_ns[p] += (double)(t - m->prof_t);
    m->prof_t = t;
}

#endif
