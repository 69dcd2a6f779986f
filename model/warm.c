/* warm.c — the decode's compute ceiling: its own kernels on cache-resident bytes.
 *
 * The read ceiling (app/cmd_model.c) says what the memory can stream in the decode's pieces; it does not say whether
 * the kernels can keep up with it. On the 2-core Zen 3 VM the AVX2 I2_S GEMVs decode ~22 GB/s per core from the L3
 * and only a little less from DRAM (docs/MEASUREMENT.md), so in the host's faster memory state two threads can
 * stream more than the kernels digest, and "% of the probe" then measures the kernels, not the streaming. This
 * measures that second bound on the model as loaded: every linear of layer 0 (the layers share shapes and kernels)
 * and the head, each with its own kernel, on the first rows of its own weights that fit in TT_WARM_BYTES, the pool's
 * threads each on its even share, called again and again so the rows stay in the caches. The time per token at those
 * rates is what the decode would take if no read ever waited for memory. */
#include "model_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Per matrix: resident in a last-level cache of 8 MiB or more (every x86 server part this was measured on). Where
 * the cache is smaller, the rows spill and the figure includes memory time: then it understates the kernels. */
#define TT_WARM_BYTES ((size_t)4 << 20)

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median seconds of reps calls of run(arg), after two untimed calls that bring the rows into the caches; 0 when out
 * of memory. */
static double median_secs(void (*run)(void *), void *arg, int reps)
{
    double *t = malloc((size_t)reps * sizeof *t), med = 0;
    if (!t) return 0;
    for (int i = -2; i < reps; i++) {
        double t0 = now_s();
        run(arg);
        if (i >= 0) t[i] = now_s() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    med = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
    free(t);
    return med;
}

/* the same fixed pseudo-random sequence for the inputs (the kernels' time does not depend on the values) */
static int lcg(uint64_t *s, int n)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int)((*s >> 33) % (uint64_t)n);
}

typedef struct warm_job {
    tt_pool *pool;
    const tt_plan *p;
    const int8_t *q;
    int32_t sum_q;
    int32_t *dot;
    int rows, align; /* rows [0, rows) split evenly, each thread's share a multiple of align */
} warm_job;

static void warm_worker(void *arg, int tid, int nth)
{
    const warm_job *j = arg;
    int r0, r1;
    tt_split_even(j->rows, j->align, tid, nth, &r0, &r1);
    if (r1 <= r0) return;
    tt_gemv_args a = {j->p->packed, j->q, j->p->ws, j->sum_q, j->p->m, j->p->k};
    j->p->v->gemv(&a, j->dot, r0, r1);
}

static void warm_gemv_run(void *arg) { tt_pool_run(((warm_job *)arg)->pool, warm_worker, arg); }

/* Bytes the GEMV reads per token (its rows in its layout, not the scale tail), as the read ceiling counts them. */
static size_t plan_read_bytes(const tt_plan *p)
{
    return p->packed_bytes > TT_TAIL_BYTES ? p->packed_bytes - TT_TAIL_BYTES : p->packed_bytes;
}

/* Seconds per byte of plan p's kernel on its first rows (<= TT_WARM_BYTES), median of reps calls after two. */
static double warm_gemv(tt_model *m, const tt_plan *p, int reps, int32_t sum_q)
{
    if (!p->m || !p->v || !p->packed) return 0;
    int nth = m->threads;
    int align = p->v->row_align > 0 ? p->v->row_align : 1; /* the kernel's rule; the epilogue's granule is not timed */
    double row_bytes = (double)plan_read_bytes(p) / p->m;
    int rows = (int)((double)TT_WARM_BYTES / row_bytes);
    int unit = align * nth;
    rows = rows / unit * unit;
    if (rows < unit) rows = unit;
    if (rows > p->m) rows = p->m;
    tt_plan_prep(p, m->s.xq);
    warm_job j = {m->pool, p, m->s.xq, sum_q, m->s.dot, rows, align};
    return median_secs(warm_gemv_run, &j, reps) / (row_bytes * rows);
}

typedef struct warm_head {
    tt_model *m;
    const float *x;
    int rows;
} warm_head;

/* rows [0, rows) of the head (a member of the head family; an f32 file head goes through model_head_rows) split evenly (not guided as in decode: on a few hundred rows the takes of at least
 * TT_HEAD_TAKE would leave one thread twice the other's share), with the model's head kernel and input */
static void warm_head_worker(void *arg, int tid, int nth)
{
    const warm_head *j = arg;
    tt_model *m = j->m;
    int r0, r1;
    tt_split_even(j->rows, 64, tid, nth, &r0, &r1);
    if (r1 <= r0) return;
    tt_dense_run(m->head_v, model_head_weights(m, m->head_v), m->w.head_q8_scale, j->x, &m->s.head_in, m->config.dim, m->s.logits, r0, r1);
}

static void warm_head_run(void *arg)
{
    warm_head *j = arg;
    if (j->m->head_v) tt_pool_run(j->m->pool, warm_head_worker, j);
    else model_head_rows(j->m, NULL, j->x, 0, j->rows); /* the f32 file head's portable loop, split evenly too */
}

tt_status tt_model_warm_ceiling(tt_model *m, int reps, tt_warm_ceiling *out)
{
    if (!m || !out) return tt_fail(TT_ERR_NULL, "tt_model_warm_ceiling: NULL argument");
    memset(out, 0, sizeof *out);
    if (reps < 1) reps = 1;
    const tt_model_config *c = &m->config;
    tt_run_state *s = &m->s;
    uint64_t seed = 0x7761726dULL;
    int32_t sum_q = 0;
    int width = c->dim > c->hidden_dim ? c->dim : c->hidden_dim;
    for (int i = 0; i < width; i++) sum_q += (s->xq[i] = (int8_t)(lcg(&seed, 255) - 127));
    const tt_layer_weights *w = &m->w.layers[0];
    const tt_linear *all[9] = {&w->wqkv, &w->wq, &w->wk, &w->wv, &w->wo, &w->w_gate_up, &w->w_gate, &w->w_up, &w->w_down};
    double sec = 0, bytes = 0;
    for (int i = 0; i < 9; i++) {
        const tt_plan *p = &all[i]->plan;
        if (!p->m) continue; /* the parts of a fused pair, or the fused one when not fused */
        double spb = warm_gemv(m, p, reps, sum_q);
        if (!(spb > 0)) return tt_fail(TT_ERR_VALUE, "compute ceiling: could not time %s", p->v ? p->v->name : "?");
        sec += spb * (double)plan_read_bytes(p);
        bytes += (double)plan_read_bytes(p);
    }
    out->gemv_s = sec * c->n_layers;
    out->gemv_bytes = bytes * c->n_layers;
    /* the head: its first rows, whole 64-row units per thread, the model's own input path */
    double head_bytes = (double)m->bytes_head, row_bytes = head_bytes / c->vocab_size;
    int unit = 64 * m->threads, rows = (int)((double)TT_WARM_BYTES / row_bytes) / unit * unit;
    if (rows < unit) rows = unit;
    if (rows > c->vocab_size) rows = c->vocab_size;
    for (int i = 0; i < c->dim; i++) s->xb[i] = (float)(lcg(&seed, 2001) - 1000) / 1000.0f;
    model_head_input(m, s->xb);
    double sec_head = median_secs(warm_head_run, &(warm_head){m, s->xb, rows}, reps);
    if (!(sec_head > 0)) return tt_fail(TT_ERR_NOMEM, "compute ceiling: no memory");
    out->head_s = sec_head / (row_bytes * rows) * head_bytes;
    out->head_bytes = head_bytes;
    return TT_OK;
}
