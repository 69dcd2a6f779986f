/* tt_rstats.h — small statistics for reports: medians, the two-sided Mann-Whitney U test, geometric means. */
#ifndef TT_RSTATS_H
#define TT_RSTATS_H

#include <stdbool.h>

/* Median of n values (copied, not reordered); NAN when n == 0. */
double tt_rstat_median(const double *x, int n);
/* Linear-interpolated quantile q in [0,1]; NAN when n == 0. */
double tt_rstat_quantile(const double *x, int n, double q);

typedef struct tt_utest {
    double u;      /* U statistic of sample a (number of pairs a > b, ties count 1/2) */
    double p;      /* two-sided p-value */
    bool exact;    /* exact permutation distribution (no ties, small samples) vs normal approximation */
} tt_utest;

/* Two-sided Mann-Whitney U test of a (na values) against b (nb values). Exact enumeration of the U
 * distribution when there are no ties and na + nb <= 60; otherwise the normal approximation with tie and
 * continuity correction (as scipy.stats.mannwhitneyu, which Google Benchmark's compare.py uses). Needs na, nb >= 1. */
tt_utest tt_rstat_utest(const double *a, int na, const double *b, int nb);

/* Geometric mean of positive values; NAN when none. */
double tt_rstat_geomean(const double *x, int n);

#endif
