#include "tt_race.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double tt_quantile(const double *x, int n, double q)
{
    if (n < 1) return NAN;
    double *c = malloc(sizeof(double) * n);
    if (!c) return NAN;
    memcpy(c, x, sizeof(double) * n);
    qsort(c, (size_t)n, sizeof(double), cmp_d);
    double pos = q * (n - 1);
    int i = (int)pos;
    double v = i + 1 < n ? c[i] + (pos - i) * (c[i + 1] - c[i]) : c[n - 1];
    free(c);
    return v;
}

double tt_median(const double *x, int n) { return tt_quantile(x, n, 0.5); }

/* U statistic of a over b: count of pairs with a > b, ties 1/2. */
static double u_stat(const double *a, int na, const double *b, int nb)
{
    double u = 0;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) u += a[i] > b[j] ? 1.0 : (a[i] == b[j] ? 0.5 : 0.0);
    return u;
}

/* Exact: enumerate every split of the pooled sample into groups of na and nb (C(16,8) = 12870 at most). */
static double exact_p(const double *a, int na, const double *b, int nb)
{
    int n = na + nb;
    double pool[16], u0 = u_stat(a, na, b, nb);
    memcpy(pool, a, sizeof(double) * na);
    memcpy(pool + na, b, sizeof(double) * nb);
    long total = 0, ge = 0;
    for (unsigned mask = 0; mask < (1u << n); mask++) {
        if (__builtin_popcount(mask) != na) continue;
        double ga[16], gb[16];
        int ia = 0, ib = 0;
        for (int i = 0; i < n; i++) {
            if (mask >> i & 1) ga[ia++] = pool[i];
            else gb[ib++] = pool[i];
        }
        total++;
        if (u_stat(ga, na, gb, nb) >= u0 - 1e-9) ge++;
    }
    return (double)ge / (double)total;
}

double tt_mwu_p_greater(const double *a, int na, const double *b, int nb)
{
    if (na < 1 || nb < 1) return 1.0;
    if (na + nb <= 16) return exact_p(a, na, b, nb);
    double u = u_stat(a, na, b, nb), mu = 0.5 * na * nb;
    /* tie correction: sigma^2 = na nb / 12 * ((n + 1) - Σ(t^3 - t) / (n (n - 1))) */
    int n = na + nb;
    double *pool = malloc(sizeof(double) * n);
    if (!pool) return 1.0;
    memcpy(pool, a, sizeof(double) * na);
    memcpy(pool + na, b, sizeof(double) * nb);
    qsort(pool, (size_t)n, sizeof(double), cmp_d);
    double tsum = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && pool[j] == pool[i]) j++;
        double t = j - i;
        tsum += t * t * t - t;
        i = j;
    }
    free(pool);
    double var = (double)na * nb / 12.0 * ((n + 1) - tsum / ((double)n * (n - 1)));
    if (var <= 0) return 1.0;
    double z = (u - mu - 0.5) / sqrt(var); /* continuity correction toward the null */
    return 0.5 * erfc(z / sqrt(2.0));
}

int tt_race_init(tt_race *r, int n)
{
    memset(r, 0, sizeof *r);
    r->c = calloc((size_t)(n > 0 ? n : 1), sizeof *r->c);
    if (!r->c) return -1;
    r->n = n;
    r->alpha = 0.001;
    r->min_gap = 0.02;
    r->min_samples = 5;
    for (int i = 0; i < n; i++) {
        r->c[i].alive = true;
        r->c[i].dropped_round = -1;
    }
    return 0;
}

void tt_race_free(tt_race *r)
{
    for (int i = 0; i < r->n; i++) free(r->c[i].s);
    free(r->c);
    memset(r, 0, sizeof *r);
}

int tt_race_add(tt_race *r, int i, double v)
{
    tt_race_cand *c = &r->c[i];
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        double *s = realloc(c->s, sizeof(double) * cap);
        if (!s) return -1;
        c->s = s;
        c->cap = cap;
    }
    c->s[c->n++] = v;
    return 0;
}

int tt_race_alive(const tt_race *r)
{
    int a = 0;
    for (int i = 0; i < r->n; i++) a += r->c[i].alive;
    return a;
}

int tt_race_leader(const tt_race *r, int *runner_up)
{
    int best = -1, second = -1;
    double bm = INFINITY, sm = INFINITY;
    for (int i = 0; i < r->n; i++)
        if (r->c[i].alive && r->c[i].n) {
            double m = tt_median(r->c[i].s, r->c[i].n);
            if (m < bm) best = i, bm = m;
        }
    for (int i = 0; i < r->n; i++)
        if (i != best && r->c[i].n) {
            double m = tt_median(r->c[i].s, r->c[i].n);
            if (m < sm) second = i, sm = m;
        }
    if (runner_up) *runner_up = second;
    return best;
}

int tt_race_round_end(tt_race *r)
{
    r->round++;
    int lead = tt_race_leader(r, NULL);
    if (lead < 0 || r->c[lead].n < r->min_samples) return 0;
    const tt_race_cand *L = &r->c[lead];
    double lm = tt_median(L->s, L->n);
    int dropped = 0;
    for (int i = 0; i < r->n; i++) {
        tt_race_cand *c = &r->c[i];
        if (i == lead || !c->alive || c->n < r->min_samples) continue;
        double m = tt_median(c->s, c->n);
        if (m <= lm * (1 + r->min_gap)) continue;
        double p = tt_mwu_p_greater(c->s, c->n, L->s, L->n);
        if (p < r->alpha) {
            c->alive = false;
            c->dropped_round = r->round;
            c->p_drop = p;
            dropped++;
        }
    }
    return dropped;
}

bool tt_race_faster(const double *a, int na, const double *b, int nb, double alpha, double min_gap)
{
    if (na < 1 || nb < 1) return false;
    double ma = tt_median(a, na), mb = tt_median(b, nb);
    return mb > ma * (1 + min_gap) && tt_mwu_p_greater(b, nb, a, na) < alpha;
}

int tt_race_challenger(const double *cur, int ncur, const double *const *s, const int *n, int nch, double alpha,
                       double min_gap)
{
    int best = -1;
    double best_med = 0;
    for (int c = 0; c < nch; c++) {
        if (!s[c] || n[c] < 1 || !tt_race_faster(s[c], n[c], cur, ncur, alpha, min_gap)) continue;
        double md = tt_median(s[c], n[c]);
        if (best < 0 || md < best_med) best = c, best_med = md;
    }
    return best;
}

int tt_race_prefer_gap(const tt_race *r, int lead, int prefer, double gap)
{
    if (lead < 0 || prefer < 0 || prefer >= r->n || prefer == lead) return lead;
    const tt_race_cand *p = &r->c[prefer], *l = &r->c[lead];
    if (p->n < 1) return lead;
    return tt_race_faster(l->s, l->n, p->s, p->n, r->alpha, gap > r->min_gap ? gap : r->min_gap) ? lead : prefer;
}

int tt_race_prefer(const tt_race *r, int lead, int prefer)
{
    if (prefer >= 0 && prefer < r->n && !r->c[prefer].alive) return lead;
    return tt_race_prefer_gap(r, lead, prefer, r->min_gap);
}
