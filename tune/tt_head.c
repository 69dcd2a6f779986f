/* tt_head.c — the LM-head race (see tt_head.h). */
#include "tt_head.h"
#include "tt_format.h"
#include "tt_gbench.h"
#include "tt_pool.h"
#include "tt_q32.h"
#include "tt_q6k.h"
#include "tt_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_MAX_CAND 64
#define HEAD_VERIFY_ROWS 1061 /* odd: the verified prefix ends inside every row block */

typedef struct head_arg {
    tt_pool *pool;
    const tt_dense_variant *v;
    uint8_t **w;       /* ncopies matrices (cold rotation) */
    uint8_t **wil;     /* the same copies interleaved (tt_dense_pack), for the _il members; NULL when none races */
    float **scale;     /* i8: per-row scales of each copy */
    int ncopies, next;
    const float *x;
    const tt_qin *in; /* quantized kinds: x in the kind's input blocks */
    float *y;
    int m, k;
    const uint8_t *cur_w;
    const float *cur_s;
    _Atomic int taken; /* rows handed out in this pass (tt_guided_take) */
} head_arg;

static void head_rows(void *ctx, int tid, int nth)
{
    head_arg *a = ctx;
    int r0, r1;
    /* the model's split of the head (model/head.c, head_worker) */
    while (tt_guided_take(&a->taken, a->m, 64, TT_HEAD_TAKE, nth, &r0, &r1))
        tt_dense_run(a->v, a->cur_w, a->cur_s, a->x, a->in, a->k, a->y, r0, r1);
}

static void head_bench(void *arg, int64_t iters)
{
    head_arg *a = arg;
    for (int64_t i = 0; i < iters; i++) {
        a->cur_w = a->w[a->next];
        a->cur_s = a->scale ? a->scale[a->next] : NULL;
        a->next = (a->next + 1) % a->ncopies;
        atomic_store(&a->taken, 0);
        tt_pool_run(a->pool, head_rows, a);
    }
}

static void bind_cb(void *ctx, int idx) { tt_topo_bind_thread(ctx, idx); }

/* One Google Benchmark session over cand[0..n): medians into med (0 where the run failed). */
static tt_status race(head_arg *base, const tt_dense_variant *const *cand, int n, double min_time, int reps,
                      const char *json, double *med)
{
    tt_gb_session *s = tt_gb_new();
    head_arg *args = calloc((size_t)n, sizeof *args);
    tt_status st = !s || !args ? tt_fail(TT_ERR_NOMEM, "head race: no memory") : TT_OK;
    double bytes = (double)base->m * (double)tt_dense_row_bytes(cand[0]->kind, base->k);
    for (int i = 0; !st && i < n; i++) {
        char name[TT_GB_NAME_MAX];
        snprintf(name, sizeof name, "%s/%dx%d/t%d", cand[i]->name, base->m, base->k, tt_pool_threads(base->pool));
        args[i] = *base;
        args[i].v = cand[i];
        if (cand[i]->il) args[i].w = base->wil; /* the same values in the member's layout */
        if (tt_gb_add(s, name, head_bench, &args[i], bytes) < 0) st = tt_fail(TT_ERR_VALUE, "head race: %s", tt_last_error());
    }
    if (!st) {
        tt_gb_set(s, min_time, reps, true);
        st = tt_gb_run(s, json);
    }
    for (int i = 0; !st && i < n; i++) {
        const tt_gb_stats *g = tt_gb_get(s, i);
        med[i] = g && !g->error ? g->median_ns : 0;
    }
    tt_gb_free(s);
    free(args);
    return st;
}

/* A member raced for kind: usable here; the portable member only as the static default (it is the reference). */
static bool head_candidate(const tt_dense_variant *v, tt_dense_kind kind, const tt_dense_variant *def)
{
    return v->kind == kind && tt_dense_variant_usable(v) && (v->needs || v == def);
}

int tt_head_candidates(tt_dense_kind kind)
{
    int nv, n = 0;
    const tt_dense_variant *vs = tt_dense_variants(&nv), *def = tt_dense_variant_default(kind);
    for (int i = 0; i < nv; i++) n += head_candidate(&vs[i], kind, def);
    return n;
}

tt_status tt_tune_head(tt_dense_kind kind, int m, int k, int threads, tt_topo *topo, size_t cold_bytes,
                       const char *json, tt_prof_head *out, char *log, size_t logn)
{
    memset(out, 0, sizeof *out);
    if (log && logn) log[0] = 0;
    if (m < 1 || k < 16 || k % 16 || threads < 1 || !tt_dense_row_bytes(kind, k))
        return tt_fail(TT_ERR_VALUE, "head race: %s shape %dx%d t%d", tt_dense_kind_name(kind), m, k, threads);
    const size_t rowb = tt_dense_row_bytes(kind, k), bytes = (size_t)m * rowb;
    int ncopies = cold_bytes > bytes ? (int)((cold_bytes + bytes - 1) / bytes) : 1;
    if (ncopies > 16) ncopies = 16;
    head_arg a = {.m = m, .k = k, .ncopies = ncopies};
    a.w = calloc((size_t)ncopies, sizeof *a.w);
    a.scale = kind == TT_DENSE_I8 ? calloc((size_t)ncopies, sizeof *a.scale) : NULL;
    float *x = malloc(sizeof(float) * (size_t)k);
    a.y = tt_alloc(sizeof(float) * (size_t)m);
    a.x = x;
    tt_qin in = {0};
    a.in = &in;
    tt_status st = !a.w || (kind == TT_DENSE_I8 && !a.scale) || !x || !a.y ? tt_fail(TT_ERR_NOMEM, "head race") : TT_OK;
    if (!st && tt_dense_kind_quantized(kind)) st = tt_qin_alloc(&in, k);
    uint64_t seed = 0x4ead0000u + (uint64_t)m * 31 + (uint64_t)k;
    for (int c = 0; !st && c < ncopies; c++) { /* random finite weights: f16 magnitudes 2^-3..2^1, any int8 */
        if (!(a.w[c] = tt_alloc(bytes)) || (a.scale && !(a.scale[c] = malloc(sizeof(float) * (size_t)m)))) {
            st = tt_fail(TT_ERR_NOMEM, "head race: %d copies of %zu MiB", ncopies, bytes >> 20);
            break;
        }
        for (size_t i = 0; i < bytes; i += 8) {
            uint64_t r = tt_rand_next(&seed);
            if (kind == TT_DENSE_F16)
                for (int j = 0; j < 4; j++) {
                    uint16_t h = (uint16_t)(r >> (16 * j));
                    h = (uint16_t)((h & 0x83ff) | ((12 + ((h >> 10) & 3)) << 10));
                    memcpy(a.w[c] + i + 2 * j, &h, 2);
                }
            else memcpy(a.w[c] + i, &r, bytes - i < 8 ? bytes - i : 8);
        }
        if (tt_dense_kind_quantized(kind)) /* every block's f16 scale a finite normal: d at byte 208 (q6_K) or 0 */
            for (size_t b = 0, bb = kind == TT_DENSE_Q6K ? TT_Q6K_BYTES : kind == TT_DENSE_Q80 ? TT_Q80_BYTES : TT_Q40_BYTES;
                 b + bb <= bytes; b += bb) {
                uint16_t h = (uint16_t)(0x1400 + tt_rand_next(&seed) % 0x1000);
                memcpy(a.w[c] + b + (kind == TT_DENSE_Q6K ? 208 : 0), &h, 2);
            }
        for (int r = 0; a.scale && r < m; r++) a.scale[c][r] = 1e-3f * (float)(1 + r % 97);
    }
    for (int j = 0; !st && j < k; j++) x[j] = (float)((double)(tt_rand_next(&seed) % 2001) / 1000.0 - 1.0);
    if (!st && in.q) tt_qin_quantize(kind, x, k, &in);
    const tt_dense_variant *cand[HEAD_MAX_CAND + 1], *def = tt_dense_variant_default(kind);
    int nc = 0;
    if (!st) {
        int nv;
        const tt_dense_variant *vs = tt_dense_variants(&nv);
        int vrows = m < HEAD_VERIFY_ROWS ? m : HEAD_VERIFY_ROWS;
        for (int i = 0; i < nv && nc < HEAD_MAX_CAND; i++) {
            const tt_dense_variant *v = &vs[i];
            if (!head_candidate(v, kind, def)) continue;
            out->candidates++;
            char detail[300];
            if (tt_verify_dense(v, a.w[0], a.scale ? a.scale[0] : NULL, x, vrows, k, detail, sizeof detail)) {
                out->excluded++;
                if (log) snprintf(log + strlen(log), logn - strlen(log), "excluded %s: %s; ", v->name, detail);
                continue;
            }
            cand[nc++] = v;
        }
        out->verified = nc;
        if (!nc) st = tt_fail(TT_ERR_NOTFOUND, "head race: no usable %s head kernel passed verification",
                              tt_dense_kind_name(kind));
    }
    const tt_dense_variant *ilv = NULL; /* an interleaving member: its copies are packed once for all of them */
    for (int i = 0; i < nc; i++)
        if (cand[i]->il) ilv = cand[i];
    if (!st && ilv && !(a.wil = calloc((size_t)ncopies, sizeof *a.wil))) st = tt_fail(TT_ERR_NOMEM, "head race");
    for (int c = 0; !st && ilv && c < ncopies; c++) {
        if (!(a.wil[c] = tt_alloc(tt_dense_packed_bytes(ilv, m, k)))) {
            st = tt_fail(TT_ERR_NOMEM, "head race: %d interleaved copies of %zu MiB", ncopies, bytes >> 20);
            break;
        }
        tt_dense_pack(ilv, a.w[c], m, k, a.wil[c]);
    }
    if (!st && !(a.pool = tt_pool_new(threads, bind_cb, topo)))
        st = tt_fail(TT_ERR_NOMEM, "head race: cannot start %d threads", threads);
    /* stage 1: every verified member, short; stage 2: the 4 fastest and the static default, longer (GB's random
     * interleaving spreads the host's drift over all of them) */
    double med1[HEAD_MAX_CAND + 1] = {0}, med2[8] = {0};
    const tt_dense_variant *fin[8];
    int nf = 0;
    if (!st) st = race(&a, cand, nc, 0.02, 3, NULL, med1);
    if (!st) {
        bool used[HEAD_MAX_CAND + 1] = {false};
        for (int f = 0; f < 4 && f < nc; f++) {
            int best = -1;
            for (int i = 0; i < nc; i++)
                if (!used[i] && med1[i] > 0 && (best < 0 || med1[i] < med1[best])) best = i;
            if (best < 0) break;
            used[best] = true;
            fin[nf++] = cand[best];
        }
        bool have_def = false;
        for (int i = 0; i < nf; i++) have_def |= fin[i] == def;
        for (int i = 0; !have_def && i < nc; i++)
            if (cand[i] == def) fin[nf++] = def, have_def = true;
        if (!nf) st = tt_fail(TT_ERR_VALUE, "head race: every candidate failed to run");
    }
    if (!st) st = race(&a, fin, nf, 0.1, 7, json, med2);
    if (!st) {
        snprintf(out->kind, sizeof out->kind, "%s", tt_dense_kind_name(kind));
        out->m = m, out->k = k, out->threads = threads;
        for (int i = 0; i < nf; i++) {
            if (med2[i] > 0 && (!out->winner_ns || med2[i] < out->winner_ns)) {
                snprintf(out->winner, sizeof out->winner, "%s", fin[i]->name);
                out->winner_ns = med2[i];
            }
            if (fin[i] == def) {
                snprintf(out->deflt, sizeof out->deflt, "%s", def->name);
                out->default_ns = med2[i];
            }
        }
        if (!(out->winner_ns > 0)) st = tt_fail(TT_ERR_VALUE, "head race: no timing");
        else out->gbps = (double)bytes / out->winner_ns;
    }
    tt_pool_free(a.pool);
    for (int c = 0; c < ncopies; c++) {
        if (a.w) tt_free(a.w[c]);
        if (a.wil) tt_free(a.wil[c]);
        if (a.scale) free(a.scale[c]);
    }
    free(a.w), free(a.wil), free(a.scale), free(x);
    tt_free(a.y);
    tt_qin_free(&in);
    return st;
}
