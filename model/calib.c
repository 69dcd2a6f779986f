/* calib.c — the load-time calibration of a model that runs untuned.
 *
 * Without a tuned winner a GEMV plan runs the static guess (kernels/tt_registry.c, default_score), whose software
 * prefetch distance suits some memory systems and not others: on the Zen 5 VM the guess's 4 KiB was among the best,
 * on a 2-core Xeon VM (family 6 model 167) the same kernel with 512-1024 bytes was 1.35x faster cold, and 4 KiB or
 * more fell off a cliff (docs/MEASUREMENT.md, "Calibration at load"). The head's static default is one member of a
 * family whose best differs by ISA and machine the same way. Both choices read the same bytes whatever is picked
 * (tt_variant_pf_sibling; every head member gives its kind's bits), so they can be made here, on the model's own
 * weights, without repacking, and change no bit of the output.
 *
 * How: every pass reads each untuned linear once, each with one candidate distance (a balanced random deal: every
 * candidate gets the same number of linears per pass, of every shape over the passes), and the head once, in one
 * contiguous chunk per member (dealt at random per pass): chunks of a few MB ranked the members by how fast they
 * start a stream, not by what decode sees; then as many passes again among the head's leaders and its default, whose
 * rates alone decide (calib_head). Weights are read once per pass, so they come from memory as in decode.
 * A candidate's rate is its bytes over its time summed over the passes; the fastest replaces the static default
 * only when TT_CALIB_GAIN faster. Two passes took 0.12-0.22 s for 2B4T (docs/MEASUREMENT.md). */
#include "model_int.h"
#include "tt_baked.h"
#include "tt_errctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CAND 16
#define HEAD_SLICE_ROWS 64 /* the smallest chunk of head rows (a small head: fewer chunks than members) */

static long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/* deal[i] for i < n: candidate i % nc, shuffled (each candidate the same number of times, +-1) */
static void deal(int *d, int n, int nc, uint64_t *seed)
{
    for (int i = 0; i < n; i++) d[i] = i % nc;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(lcg(seed) % (uint64_t)(i + 1)), t = d[i];
        d[i] = d[j], d[j] = t;
    }
}

/* Whether p runs the static guess: no forced kernel, the registry's seam, no usable tuned winner of p's format. */
static bool plan_untuned(const tt_model *m, const tt_plan *p)
{
    const char *forced = getenv("TRITUNE_KERNEL");
    if ((forced && *forced) || m->backend != &tt_plan_backend_registry || !p->v) return false;
    const tt_variant *b = tt_baked_find(p->m, p->k, p->threads);
    return !(b && b->fmt == p->fmt);
}

/* The model's untuned linears, in decode order. */
static int untuned_linears(tt_model *m, tt_linear ***out)
{
    int n = 0, cap = m->config.n_layers * 9;
    tt_linear **L = *out = malloc((size_t)cap * sizeof *L);
    if (!L) return 0;
    for (int l = 0; l < m->config.n_layers; l++) {
        tt_layer_weights *w = &m->w.layers[l];
        tt_linear *all[9] = {&w->wqkv, &w->wq, &w->wk, &w->wv, &w->wo, &w->w_gate_up, &w->w_gate, &w->w_up, &w->w_down};
        for (int i = 0; i < 9; i++)
            if (all[i]->plan.m && plan_untuned(m, &all[i]->plan)) L[n++] = all[i];
    }
    *out = L;
    return n;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* The GEMV part: returns the chars written to note. */
static int calib_gemv(tt_model *m, int passes, char *note, size_t nn)
{
    tt_linear **L;
    int n = untuned_linears(m, &L);
    if (n == 0) {
        free(L);
        return snprintf(note, nn, "GEMV: every linear has a tuned (or forced) kernel");
    }
    /* candidate distances: every distance some untuned kernel has a sibling at */
    int pf[MAX_CAND], np = 0;
    for (int i = 0; i < n; i++) {
        if (i && L[i]->plan.v == L[i - 1]->plan.v) continue;
        for (int r = 0; r < tt_registry_count && np < MAX_CAND; r++) {
            const tt_variant *s = &tt_registry[r];
            if (tt_variant_pf_sibling(L[i]->plan.v, s->p.pf) != s) continue;
            bool have = false;
            for (int j = 0; j < np; j++) have |= pf[j] == s->p.pf;
            if (!have) pf[np++] = s->p.pf;
        }
    }
    qsort(pf, (size_t)np, sizeof *pf, cmp_int);
    const int def_pf = L[0]->plan.v->p.pf; /* the guess's distance (one rule for every shape) */
    if (np < 2) {
        int w = snprintf(note, nn, "GEMV: the static default %s has no prefetch siblings", L[0]->plan.v->name);
        free(L);
        return w;
    }
    tt_run_state *s = &m->s;
    uint64_t seed = 0x7472697475ULL;
    int kmax = 0;
    for (int i = 0; i < n; i++) kmax = L[i]->plan.k > kmax ? L[i]->plan.k : kmax;
    int32_t sum_q = 0;
    for (int i = 0; i < kmax; i++) sum_q += (s->xq[i] = (int8_t)((int)(lcg(&seed) % 255) - 127));
    double ns[MAX_CAND] = {0}, by[MAX_CAND] = {0};
    int *d = malloc((size_t)n * sizeof *d);
    for (int p = 0; d && p < passes; p++) {
        deal(d, n, np, &seed);
        for (int i = 0; i < n; i++) {
            tt_plan *pl = &L[i]->plan;
            const tt_variant *own = pl->v, *v = tt_variant_pf_sibling(own, pf[d[i]]);
            if (!v) continue;
            pl->v = v;
            long t0 = now_ns();
            tt_plan_run_gemv(pl, m->pool, s->xq, sum_q, s->dot, TT_SPLIT_EVEN);
            ns[d[i]] += (double)(now_ns() - t0);
            by[d[i]] += (double)pl->packed_bytes;
            pl->v = own;
        }
    }
    free(d);
    int best = -1, def = -1;
    for (int j = 0; j < np; j++) {
        if (!(ns[j] > 0)) continue;
        if (pf[j] == def_pf) def = j;
        if (best < 0 || by[j] / ns[j] > by[best] / ns[best]) best = j;
    }
    int w = 0;
    if (best < 0 || def < 0) {
        free(L);
        return snprintf(note, nn, "GEMV: nothing timed");
    }
    int pick = by[best] / ns[best] >= TT_CALIB_GAIN * by[def] / ns[def] ? best : def, moved = 0;
    for (int i = 0; i < n; i++) {
        const tt_variant *v = tt_variant_pf_sibling(L[i]->plan.v, pf[pick]);
        if (v && v != L[i]->plan.v && !tt_plan_set_gemv(&L[i]->plan, v)) moved++;
    }
    w += snprintf(note + w, nn - (size_t)w, "GEMV prefetch %d B%s (%d of %d untuned linears; GB/s:", pf[pick],
                  pick == def ? ", the default" : "", moved, n);
    for (int j = 0; j < np && (size_t)w < nn; j++)
        w += snprintf(note + w, nn - (size_t)w, " p%d %.1f%s", pf[j], ns[j] > 0 ? by[j] / ns[j] : 0.0,
                      j == def ? "*" : "");
    if ((size_t)w < nn) w += snprintf(note + w, nn - (size_t)w, ")");
    free(L);
    return w;
}

/* Reads the head `passes` times, each pass in one contiguous chunk per member of c[0..nc) dealt at random, adding
 * each member's nanoseconds and bytes to ns[] and by[]. */
static void time_head(tt_model *m, const tt_dense_variant *const *c, int nc, int passes, uint64_t *seed, double *ns,
                      double *by)
{
    int V = m->config.vocab_size, D = m->config.dim, rows = (V / nc + 63) / 64 * 64;
    if (rows < HEAD_SLICE_ROWS) rows = HEAD_SLICE_ROWS;
    int ns_ = (V + rows - 1) / rows;
    size_t row = tt_dense_row_bytes(c[0]->kind, D);
    float *x = malloc((size_t)D * sizeof *x);
    int *d = malloc((size_t)ns_ * sizeof *d);
    for (int p = 0; x && d && p < passes; p++) {
        for (int i = 0; i < D; i++) x[i] = (float)((int)(lcg(seed) % 2001) - 1000) * 1e-3f;
        model_head_input(m, x);
        deal(d, ns_, nc, seed);
        for (int sl = 0; sl < ns_; sl++) {
            int a = sl * rows, b = a + rows < V ? a + rows : V;
            long t0 = now_ns();
            model_head_rows(m, c[d[sl]], x, a, b);
            ns[d[sl]] += (double)(now_ns() - t0);
            by[d[sl]] += (double)row * (b - a);
        }
    }
    free(x);
    free(d);
}

static double rate(const double *ns, const double *by, int j) { return ns[j] > 0 ? by[j] / ns[j] : 0.0; }

/* The head part, in two rounds. Round 1 reads the head `passes` times dealing one chunk per pass to each usable
 * member of the head's kind (32 for f16 on AVX-512: chunks of ~4000 rows, ~20 MB), and keeps the HEAD_FINALISTS
 * fastest; round 2 reads it `passes` more times among those and the static default only (chunks of ~130 MB), and
 * the pick and every figure in the note come from round 2 alone. Ranking 32 members on two short chunks each and
 * quoting the winner's own chunks overstated it (the winner's curse): where a member's chunks land decides part of
 * its rate (docs/MEASUREMENT.md, "Calibration at load"); fresh chunks give an unbiased rate for the pick. */
#define HEAD_FINALISTS 4
static int calib_head(tt_model *m, int passes, char *note, size_t nn)
{
    if (!m->head_v || !m->head_untuned) return snprintf(note, nn, "head: %s", m->head_v ? "tuned or forced" : "f32");
    int nall;
    const tt_dense_variant *all = tt_dense_variants(&nall), *c[MAX_CAND * 2];
    int nc = 0, def = -1;
    for (int i = 0; i < nall && nc < MAX_CAND * 2; i++) {
        const tt_dense_variant *v = &all[i];
        /* the members that read the bytes the model holds for its default (the rows, or its interleave) */
        if (v->kind != m->head_v->kind || !tt_dense_variant_usable(v) || strstr(v->name, "_portable") ||
            !tt_dense_layouts_agree(v, m->head_v))
            continue;
        if (v == m->head_v) def = nc;
        c[nc++] = v;
    }
    if (def < 0 || nc < 2) return snprintf(note, nn, "head: %s has no usable sibling", m->head_v->name);
    c[def] = c[0], c[0] = m->head_v, def = 0; /* the default first: it is timed even when a small head gives fewer
                                               * slices than members */
    uint64_t seed = 0x68656164ULL;
    double ns[MAX_CAND * 2] = {0}, by[MAX_CAND * 2] = {0};
    time_head(m, c, nc, passes, &seed, ns, by);
    if (!(ns[def] > 0)) return snprintf(note, nn, "head: nothing timed");
    for (int j = 0; j < nc; j++)
        tt_debug("calibrate head, round 1: %s %.2f GB/s over %.1f MB", c[j]->name, rate(ns, by, j), by[j] / 1e6);
    /* round 2: the default and the HEAD_FINALISTS fastest others of round 1 */
    const tt_dense_variant *f[HEAD_FINALISTS + 1] = {c[def]};
    int nf = 1;
    bool taken[MAX_CAND * 2] = {false};
    taken[def] = true;
    for (; nf < HEAD_FINALISTS + 1 && nf < nc; nf++) {
        int b = -1;
        for (int j = 0; j < nc; j++)
            if (!taken[j] && (b < 0 || rate(ns, by, j) > rate(ns, by, b))) b = j;
        taken[b] = true, f[nf] = c[b];
    }
    double ns2[HEAD_FINALISTS + 1] = {0}, by2[HEAD_FINALISTS + 1] = {0};
    time_head(m, f, nf, passes, &seed, ns2, by2);
    if (!(ns2[0] > 0)) return snprintf(note, nn, "head: nothing timed");
    int best = 0;
    for (int j = 0; j < nf; j++) {
        if (rate(ns2, by2, j) > rate(ns2, by2, best)) best = j;
        tt_debug("calibrate head, round 2: %s %.2f GB/s over %.1f MB", f[j]->name, rate(ns2, by2, j), by2[j] / 1e6);
    }
    int pick = rate(ns2, by2, best) >= TT_CALIB_GAIN * rate(ns2, by2, 0) ? best : 0;
    int w = snprintf(note, nn, "head %s%s, %.1f GB/s (default %s %.1f GB/s; %d members, %d in the final round)",
                     f[pick]->name, pick == 0 ? " (the default)" : "", rate(ns2, by2, pick), f[0]->name,
                     rate(ns2, by2, 0), nc, nf);
    if (pick != 0) {
        m->head_v = f[pick];
        /* the note reads "<kernel> (<why>; <kind> head ...)": name the calibrated kernel and say why */
        const char *rest = strstr(m->head_note, "; ");
        char tail[sizeof m->head_note];
        snprintf(tail, sizeof tail, "%s", rest ? rest : ")");
        if (snprintf(m->head_note, sizeof m->head_note, "%s (calibrated at load: %.1f GB/s, the static default %s %.1f%s",
                     f[pick]->name, rate(ns2, by2, pick), f[0]->name, rate(ns2, by2, 0), tail) >= (int)sizeof m->head_note)
            strcpy(m->head_note + sizeof m->head_note - 4, "...");
    }
    return w;
}

void model_calibrate(tt_model *m, int passes)
{
    if (passes > TT_MODEL_CALIB_MAX) passes = TT_MODEL_CALIB_MAX;
    long t0 = now_ns();
    char g[384], h[256];
    calib_gemv(m, passes, g, sizeof g);
    calib_head(m, passes, h, sizeof h);
    if (snprintf(m->calib_note, sizeof m->calib_note, "%s; %s (%d passes, %.2f s)", g, h, passes,
                 (double)(now_ns() - t0) * 1e-9) >= (int)sizeof m->calib_note)
        strcpy(m->calib_note + sizeof m->calib_note - 4, "...");
}
