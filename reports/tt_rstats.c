/* Statistics for reports and compare. Small and self-contained: reports/ may not link tune/ (whose race has a
 * one-sided variant of the rank test). */
#include "tt_rstats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double tt_rstat_quantile(const double *x, int n, double q)
{
    if (n <= 0) return NAN;
    double *v = malloc(sizeof *v * (size_t)n);
    if (!v) return NAN;
    memcpy(v, x, sizeof *v * (size_t)n);
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double pos = q * (n - 1);
    int lo = (int)floor(pos);
    int hi = lo + 1 < n ? lo + 1 : lo;
    double r = v[lo] + (pos - lo) * (v[hi] - v[lo]);
    free(v);
    return r;
}

double tt_rstat_median(const double *x, int n) { return tt_rstat_quantile(x, n, 0.5); }

double tt_rstat_geomean(const double *x, int n)
{
    double s = 0;
    int c = 0;
    for (int i = 0; i < n; i++)
        if (x[i] > 0 && isfinite(x[i])) s += log(x[i]), c++;
    return c ? exp(s / c) : NAN;
}

typedef struct ranked {
    double v;
    int from_a;
} ranked;

static int cmp_ranked(const void *a, const void *b) { return cmp_double(&((const ranked *)a)->v, &((const ranked *)b)->v); }

/* Number of arrangements of na a's and nb b's with each U value, by the recurrence
 * c(i, j, u) = c(i-1, j, u-j) + c(i, j-1, u) (the largest element is an a, beating all j b's, or a b). Returns the
 * lower and upper tail probabilities of u_obs (an integer here: no ties). */
static bool exact_tails(int na, int nb, int u_obs, double *lower, double *upper)
{
    int umax = na * nb;
    size_t w = (size_t)umax + 1;
    double *prev = calloc((size_t)(nb + 1) * w, sizeof *prev), *cur = calloc((size_t)(nb + 1) * w, sizeof *cur);
    if (!prev || !cur) {
        free(prev), free(cur);
        return false;
    }
    for (int j = 0; j <= nb; j++) prev[(size_t)j * w] = 1; /* i = 0: only U = 0 */
    for (int i = 1; i <= na; i++) {
        memset(cur, 0, sizeof *cur * (size_t)(nb + 1) * w);
        cur[0] = 1; /* j = 0: only U = 0 */
        for (int j = 1; j <= nb; j++)
            for (int u = 0; u <= i * j; u++)
                cur[(size_t)j * w + u] = (u >= j ? prev[(size_t)j * w + u - j] : 0) + cur[(size_t)(j - 1) * w + u];
        double *t = prev;
        prev = cur, cur = t;
    }
    double total = 0, lo = 0, hi = 0;
    for (int u = 0; u <= umax; u++) {
        double c = prev[(size_t)nb * w + u];
        total += c;
        if (u <= u_obs) lo += c;
        if (u >= u_obs) hi += c;
    }
    free(prev), free(cur);
    *lower = lo / total, *upper = hi / total;
    return true;
}

tt_utest tt_rstat_utest(const double *a, int na, const double *b, int nb)
{
    tt_utest r = {0, 1.0, false};
    if (na < 1 || nb < 1) return r;
    int n = na + nb;
    ranked *all = malloc(sizeof *all * (size_t)n);
    if (!all) return r;
    for (int i = 0; i < na; i++) all[i] = (ranked){a[i], 1};
    for (int i = 0; i < nb; i++) all[na + i] = (ranked){b[i], 0};
    qsort(all, (size_t)n, sizeof *all, cmp_ranked);
    /* Mid-ranks; tie_sum = sum over tie groups of t^3 - t. */
    double rank_a = 0, tie_sum = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && all[j + 1].v == all[i].v) j++;
        double t = j - i + 1, mid = 0.5 * (i + j) + 1;
        tie_sum += t * t * t - t;
        for (int q = i; q <= j; q++)
            if (all[q].from_a) rank_a += mid;
        i = j + 1;
    }
    free(all);
    r.u = rank_a - 0.5 * na * (na + 1);
    double lo, hi;
    if (tie_sum == 0 && n <= 60 && exact_tails(na, nb, (int)llround(r.u), &lo, &hi)) {
        r.exact = true;
        r.p = fmin(1.0, 2 * fmin(lo, hi));
        return r;
    }
    double mu = 0.5 * na * nb;
    double var = (double)na * nb / 12.0 * ((n + 1) - tie_sum / ((double)n * (n - 1)));
    if (!(var > 0)) return r; /* every value tied: no evidence of a difference */
    double z = (fabs(r.u - mu) - 0.5) / sqrt(var);
    if (z < 0) z = 0;
    r.p = fmin(1.0, erfc(z / sqrt(2.0)));
    return r;
}
