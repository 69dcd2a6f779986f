/* tt_profile_diff.c — two profiles side by side (tt_profile_diff.h). */
#include "tt_profile_diff.h"

#include "tt_registry.h"

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

static tt_prof_diff_row *add_row(tt_prof_diff *d, int *cap)
{
    if (d->n == *cap) {
        int nc = *cap ? 2 * *cap : 32;
        tt_prof_diff_row *nr = realloc(d->rows, sizeof *nr * (size_t)nc);
        if (!nr) return NULL;
        d->rows = nr, *cap = nc;
    }
    tt_prof_diff_row *r = &d->rows[d->n++];
    memset(r, 0, sizeof *r);
    return r;
}

static const tt_prof_entry *find_entry(const tt_profile *p, const tt_prof_entry *e)
{
    for (int i = 0; i < p->n; i++)
        if (p->e[i].m == e->m && p->e[i].k == e->k && p->e[i].threads == e->threads &&
            !strcmp(p->e[i].regime, e->regime))
            return &p->e[i];
    return NULL;
}

static void gemv_side(tt_prof_diff_row *r, const tt_prof_entry *e, bool is_a)
{
    snprintf(is_a ? r->a : r->b, sizeof r->a, "%s", e->winner.variant);
    double g = e->baseline.variant[0] ? gain(e->baseline.median_ns, e->winner.median_ns) : 0;
    if (is_a) r->a_ns = e->winner.median_ns, r->a_gain = g;
    else r->b_ns = e->winner.median_ns, r->b_gain = g;
}

static tt_status diff_gemv(const tt_profile *a, const tt_profile *b, double tie, tt_prof_diff *d, int *cap)
{
    for (int pass = 0; pass < 2; pass++) {
        const tt_profile *p = pass ? b : a, *q = pass ? a : b;
        for (int i = 0; i < p->n; i++) {
            const tt_prof_entry *e = &p->e[i], *o = find_entry(q, e);
            if (pass && o) continue; /* in both: done in the first pass */
            tt_prof_diff_row *r = add_row(d, cap);
            if (!r) return tt_fail(TT_ERR_NOMEM, "profile diff: out of memory");
            snprintf(r->kind, sizeof r->kind, "gemv");
            snprintf(r->name, sizeof r->name, "%s", e->shape);
            snprintf(r->regime, sizeof r->regime, "%s", e->regime);
            r->m = e->m, r->k = e->k, r->threads = e->threads;
            gemv_side(r, e, !pass);
            if (!o) {
                r->verdict = pass ? TT_DIFF_ONLY_B : TT_DIFF_ONLY_A;
                continue;
            }
            gemv_side(r, o, false);
            judge(r, near_margin(e->winner.variant, e->winner.median_ns, e->runner_up.variant, e->runner_up.median_ns,
                                 o->winner.variant, tie),
                  near_margin(o->winner.variant, o->winner.median_ns, o->runner_up.variant, o->runner_up.median_ns,
                              e->winner.variant, tie));
        }
    }
    return TT_OK;
}

static tt_status diff_prefill(const tt_profile *a, const tt_profile *b, double tie, tt_prof_diff *d, int *cap)
{
    for (int pass = 0; pass < 2; pass++) {
        const tt_profile *p = pass ? b : a, *q = pass ? a : b;
        for (int i = 0; i < p->ng; i++) {
            const tt_prof_gemm *g = &p->g[i], *o = tt_profile_find_gemm(q, g->m, g->k, g->threads);
            if (pass && o) continue;
            tt_prof_diff_row *r = add_row(d, cap);
            if (!r) return tt_fail(TT_ERR_NOMEM, "profile diff: out of memory");
            snprintf(r->kind, sizeof r->kind, "prefill");
            snprintf(r->name, sizeof r->name, "%s", g->shape);
            r->m = g->m, r->k = g->k, r->threads = g->threads;
            const tt_prof_gemm *sa = pass ? NULL : g, *sb = pass ? g : o;
            if (sa) snprintf(r->a, sizeof r->a, "%s", sa->winner), r->a_ns = sa->winner_ns,
                    r->a_gain = gain(sa->gemv_ns, sa->winner_ns);
            if (sb) snprintf(r->b, sizeof r->b, "%s", sb->winner), r->b_ns = sb->winner_ns,
                    r->b_gain = gain(sb->gemv_ns, sb->winner_ns);
            if (!o) {
                r->verdict = pass ? TT_DIFF_ONLY_B : TT_DIFF_ONLY_A;
                continue;
            }
            /* the second GEMM each race measured is the fastest one on the GEMV's bytes (shared) */
            judge(r, near_margin(g->winner, g->winner_ns, g->shared, g->shared_ns, o->winner, tie),
                  near_margin(o->winner, o->winner_ns, o->shared, o->shared_ns, g->winner, tie));
        }
    }
    return TT_OK;
}

static tt_status diff_head(const tt_profile *a, const tt_profile *b, double tie, tt_prof_diff *d, int *cap)
{
    for (int pass = 0; pass < 2; pass++) {
        const tt_profile *p = pass ? b : a, *q = pass ? a : b;
        for (int i = 0; i < p->nh; i++) {
            const tt_prof_head *h = &p->h[i], *o = tt_profile_find_head(q, h->kind, h->m, h->k, h->threads);
            if (pass && o) continue;
            tt_prof_diff_row *r = add_row(d, cap);
            if (!r) return tt_fail(TT_ERR_NOMEM, "profile diff: out of memory");
            snprintf(r->kind, sizeof r->kind, "head");
            snprintf(r->name, sizeof r->name, "%s", h->kind);
            r->m = h->m, r->k = h->k, r->threads = h->threads;
            const tt_prof_head *sa = pass ? NULL : h, *sb = pass ? h : o;
            if (sa) snprintf(r->a, sizeof r->a, "%s", sa->winner), r->a_ns = sa->winner_ns,
                    r->a_gain = gain(sa->default_ns, sa->winner_ns);
            if (sb) snprintf(r->b, sizeof r->b, "%s", sb->winner), r->b_ns = sb->winner_ns,
                    r->b_gain = gain(sb->default_ns, sb->winner_ns);
            if (!o) {
                r->verdict = pass ? TT_DIFF_ONLY_B : TT_DIFF_ONLY_A;
                continue;
            }
            /* the other member each head race keeps a time for is the static default */
            judge(r, near_margin(h->winner, h->winner_ns, h->deflt, h->default_ns, o->winner, tie),
                  near_margin(o->winner, o->winner_ns, o->deflt, o->default_ns, h->winner, tie));
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
    int cap = 0;
    tt_status st;
    if ((st = diff_gemv(a, b, tie, d, &cap)) || (st = diff_prefill(a, b, tie, d, &cap)) ||
        (st = diff_head(a, b, tie, d, &cap))) {
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
        if (!strcmp(r->kind, "gemv") && r->a_gain > 0 && r->b_gain > 0)
            la += log(r->a_gain), lb += log(r->b_gain), d->n_gain++;
    }
    if (d->n_gain) d->gain_a = exp(la / d->n_gain), d->gain_b = exp(lb / d->n_gain);
    d->cpu = tt_cpu_id_match(&a->cpu, &b->cpu, d->cpu_why, sizeof d->cpu_why);
    d->same_registry = a->registry_hash == b->registry_hash;
    return TT_OK;
}
