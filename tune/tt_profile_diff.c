/* tt_profile_diff.c — two profiles side by side (tt_profile_diff.h). */
#include "tt_profile_diff.h"


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tt_diff_verdict_name(tt_diff_verdict v)
{
    switch (v) {
    case TT_DIFF_SAME: return "same";
    case TT_DIFF_NEAR: return "near tie";
    case TT_DIFF_OTHER: return "differs";
    case TT_DIFF_ONLY_A: return "only in A";
    case TT_DIFF_ONLY_B: return "only in B";
    }
    return "?";
}

static double gain(double ref_ns, double win_ns) { return ref_ns > 0 && win_ns > 0 ? ref_ns / win_ns : 0; }

/* The profile that picked `own` (at own_ns) also measured `other` at other_ns: its margin when within tie, else 0. */
static double near_margin(const char *own, double own_ns, const char *measured, double measured_ns, const char *other,
                          double tie)
{
    if (!measured[0] || strcmp(measured, other) || own_ns <= 0 || measured_ns <= 0 || !strcmp(own, other)) return 0;
    double r = measured_ns / own_ns;
    return r <= 1 + tie ? r : 0;
}

/* The verdict of a row with both sides: same winner, a near tie by either profile's own second measurement, or not. */
static void judge(tt_prof_diff_row *r, double ma, double mb)
{
    if (!strcmp(r->a, r->b)) r->verdict = TT_DIFF_SAME;
    else if (ma > 0 || mb > 0) {
        r->verdict = TT_DIFF_NEAR;
        r->margin = ma > 0 && (mb <= 0 || ma <= mb) ? ma : mb;
    } else r->verdict = TT_DIFF_OTHER;
}

/* One race of either profile, whatever its kind: the key, the winner, the one other member its race kept a time for
 * (GEMV: the runner-up; prefill: the fastest GEMM on the GEMV's bytes; head: the static default) and the reference
 * of the gain (GEMV: the baseline; prefill: the token-by-token GEMV; head: the static default). */
typedef struct race_rec {
    const char *kind, *name, *regime; /* name is part of the key for heads only (their kind: f16, i8, ...) */
    int m, k, threads;
    const char *win, *other;
    double win_ns, other_ns, ref_ns;
    bool flagged;
} race_rec;

static race_rec *races_of(const tt_profile *p, int *n)
{
    race_rec *r = calloc((size_t)(p->n + p->ng + p->nh + 1), sizeof *r);
    *n = 0;
    if (!r) return NULL;
    for (int i = 0; i < p->n; i++) {
        const tt_prof_entry *e = &p->e[i];
        r[(*n)++] = (race_rec){"gemv", e->shape, e->regime, e->m, e->k, e->threads, e->winner.variant,
                               e->runner_up.variant, e->winner.median_ns, e->runner_up.median_ns,
                               e->baseline.variant[0] ? e->baseline.median_ns : 0, e->flags[0] != 0};
    }
    for (int i = 0; i < p->ng; i++) {
        const tt_prof_gemm *g = &p->g[i];
        r[(*n)++] = (race_rec){"prefill", g->shape, "", g->m, g->k, g->threads, g->winner, g->shared, g->winner_ns,
                               g->shared_ns, g->gemv_ns, false};
    }
    for (int i = 0; i < p->nh; i++) {
        const tt_prof_head *h = &p->h[i];
        r[(*n)++] = (race_rec){"head", h->kind, "", h->m, h->k, h->threads, h->winner, h->deflt, h->winner_ns,
                               h->default_ns, h->default_ns, false};
    }
    return r;
}

static const race_rec *find_race(const race_rec *r, int n, const race_rec *x)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(r[i].kind, x->kind) && r[i].m == x->m && r[i].k == x->k && r[i].threads == x->threads &&
            !strcmp(r[i].regime, x->regime) && (strcmp(x->kind, "head") || !strcmp(r[i].name, x->name)))
            return &r[i];
    return NULL;
}

static void side(tt_prof_diff_row *r, const race_rec *x, bool is_a)
{
    snprintf(is_a ? r->a : r->b, sizeof r->a, "%s", x->win);
    *(is_a ? &r->a_ns : &r->b_ns) = x->win_ns;
    *(is_a ? &r->a_gain : &r->b_gain) = gain(x->ref_ns, x->win_ns);
    *(is_a ? &r->a_flagged : &r->b_flagged) = x->flagged;
}

/* Rows in the order of kinds (GEMV, prefill, head), each kind a's races then b's that a lacks. */
static tt_status diff_races(const race_rec *ra, int na, const race_rec *rb, int nb, double tie, tt_prof_diff *d)
{
    static const char *const kinds[] = {"gemv", "prefill", "head"};
    d->rows = calloc((size_t)(na + nb + 1), sizeof *d->rows);
    if (!d->rows) return tt_fail(TT_ERR_NOMEM, "profile diff: out of memory");
    for (int kd = 0; kd < 3; kd++)
        for (int pass = 0; pass < 2; pass++) {
            const race_rec *p = pass ? rb : ra, *q = pass ? ra : rb;
            const int np = pass ? nb : na, nq = pass ? na : nb;
            for (int i = 0; i < np; i++) {
                const race_rec *x = &p[i], *o = strcmp(x->kind, kinds[kd]) ? NULL : find_race(q, nq, x);
                if (strcmp(x->kind, kinds[kd]) || (pass && o)) continue; /* in both: done in the first pass */
                tt_prof_diff_row *r = &d->rows[d->n++];
                snprintf(r->kind, sizeof r->kind, "%s", x->kind);
                snprintf(r->name, sizeof r->name, "%s", x->name);
                snprintf(r->regime, sizeof r->regime, "%s", x->regime);
                r->m = x->m, r->k = x->k, r->threads = x->threads;
                side(r, x, !pass);
                if (!o) {
                    r->verdict = pass ? TT_DIFF_ONLY_B : TT_DIFF_ONLY_A;
                    continue;
                }
                side(r, o, false);
                judge(r, near_margin(x->win, x->win_ns, x->other, x->other_ns, o->win, tie),
                      near_margin(o->win, o->win_ns, o->other, o->other_ns, x->win, tie));
            }
        }
    return TT_OK;
}

void tt_profile_diff_free(tt_prof_diff *d)
{
    if (!d) return;
    free(d->rows);
    memset(d, 0, sizeof *d);
}

tt_status tt_profile_diff(const tt_profile *a, const tt_profile *b, double tie, tt_prof_diff *d)
{
    if (!a || !b || !d) return tt_fail(TT_ERR_NULL, "tt_profile_diff: NULL argument");
    if (!(tie >= 0)) return tt_fail(TT_ERR_VALUE, "tt_profile_diff: tie %g must be >= 0", tie);
    memset(d, 0, sizeof *d);
    int na, nb;
    race_rec *ra = races_of(a, &na), *rb = races_of(b, &nb);
    tt_status st = ra && rb ? diff_races(ra, na, rb, nb, tie, d) : tt_fail(TT_ERR_NOMEM, "profile diff: out of memory");
    free(ra), free(rb);
    if (st) {
        tt_profile_diff_free(d);
        return st;
    }
    double la = 0, lb = 0;
    for (int i = 0; i < d->n; i++) {
        const tt_prof_diff_row *r = &d->rows[i];
        switch (r->verdict) {
        case TT_DIFF_SAME: d->same++; break;
        case TT_DIFF_NEAR: d->near++; break;
        case TT_DIFF_OTHER: d->other++; break;
        case TT_DIFF_ONLY_A: d->only_a++; break;
        case TT_DIFF_ONLY_B: d->only_b++; break;
        }
        d->flagged += r->a_flagged || r->b_flagged;
        if (!strcmp(r->kind, "gemv") && r->a_gain > 0 && r->b_gain > 0)
            la += log(r->a_gain), lb += log(r->b_gain), d->n_gain++;
    }
    if (d->n_gain) d->gain_a = exp(la / d->n_gain), d->gain_b = exp(lb / d->n_gain);
    d->cpu = tt_cpu_id_match(&a->cpu, &b->cpu, d->cpu_why, sizeof d->cpu_why);
    d->same_registry = a->registry_hash == b->registry_hash;
    return TT_OK;
}
