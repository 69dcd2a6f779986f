/* parity.c — see parity.h. */
#include "parity.h"

#include <math.h>

void tt_topk(const float *v, int n, int k, int *idx)
{
    if (k > TT_PARITY_TOP_MAX) k = TT_PARITY_TOP_MAX;
    if (k > n) k = n;
    int have = 0;
    for (int i = 0; i < n; i++) {
        /* insertion into the sorted list of the best so far; a later index never beats an equal value */
        int p = have;
        while (p > 0 && v[i] > v[idx[p - 1]]) p--;
        if (p >= k) continue;
        for (int j = (have < k ? have : k - 1); j > p; j--) idx[j] = idx[j - 1];
        idx[p] = i;
        if (have < k) have++;
    }
}

void tt_logits_compare(const float *ref, const float *got, int n, int top, tt_logit_cmp *c)
{
    *c = (tt_logit_cmp){.n = n};
    if (n < 1) return;
    double sr = 0, sg = 0, lo = ref[0], hi = ref[0];
    for (int i = 0; i < n; i++) {
        sr += ref[i], sg += got[i];
        if (!isfinite(got[i])) c->nonfinite = true;
        if (ref[i] < lo) lo = ref[i];
        if (ref[i] > hi) hi = ref[i];
        double d = fabs((double)got[i] - (double)ref[i]);
        if (d > c->max_abs_diff || d != d) c->max_abs_diff = d;
    }
    double mr = sr / n, mg = sg / n, crg = 0, crr = 0, cgg = 0;
    for (int i = 0; i < n; i++) {
        double a = ref[i] - mr, b = got[i] - mg;
        crg += a * b, crr += a * a, cgg += b * b;
    }
    c->pearson = crr > 0 && cgg > 0 ? crg / sqrt(crr * cgg) : NAN;
    c->ref_range = hi - lo;
    c->top = top < 1 ? 1 : top > TT_PARITY_TOP_MAX ? TT_PARITY_TOP_MAX : top;
    if (c->top > n) c->top = n;
    tt_topk(ref, n, c->top, c->top_ref);
    tt_topk(got, n, c->top, c->top_got);
    c->top_same = c->top_ties = true;
    for (int i = 0; i < c->top; i++) {
        c->top_same &= c->top_ref[i] == c->top_got[i];
        c->top_ties &= fabs((double)ref[c->top_got[i]] - ref[c->top_ref[i]]) <= TT_PARITY_TIE;
    }
    int t2[2];
    tt_topk(ref, n, 2, t2);
    c->ref_margin = n > 1 ? (double)ref[t2[0]] - ref[t2[1]] : INFINITY;
}

bool tt_logits_agree(const tt_logit_cmp *c)
{
    if (c->nonfinite || !(c->pearson >= TT_PARITY_MIN_PEARSON)) return false;
    if (!(c->max_abs_diff <= TT_PARITY_MAX_DIFF_OF_RANGE * c->ref_range)) return false;
    return c->top_ties;
}
